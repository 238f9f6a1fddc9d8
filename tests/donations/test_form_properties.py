"""Random and hostile values for every field of the form: never a 500, never a stored gift
for invalid input, never a call to Stripe."""

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from donations import gateway, page
from donations.models import Donation, RecurringDonation
from members.models import NewsletterSubscription
from tests.donations.test_form import NoStripeAllowed

pytestmark = pytest.mark.django_db

FIELDS = [
    "frequency", "amount_one_time", "amount_monthly", "amount_annual", "custom_amount", "cover_fee",
    "first_name", "last_name", "email", "address_line1", "address_line2", "city", "region",
    "postal_code", "country", "newsletters", "dedication_kind", "dedication_name", "website",
    "source", "campaign", "donation_id",
]  # fmt: skip

# Text a browser can send: any Unicode except lone surrogates, which UTF-8 cannot carry.
odd_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
hostile = st.sampled_from(
    [
        "", " ", "0", "-1", "-0.01", "0.001", "1e400", "NaN", "Infinity", "-Infinity", "9" * 40,
        "1,000,000,000", "25.555", "٣٤", "１２", "\x00", "\u202e25", "$", "<script>alert(1)</script>",
        "' OR 1=1 --", "../../etc/passwd", "a@b", "a@b.c" * 60, "Zoë@例え.jp", "user@[127.0.0.1]",
        "\ud7ff", "other", "one_time", "monthly", "annual", "weekly", "honour", "memory",
        "00000000-0000-0000-0000-000000000000", "x" * 10_000,
    ]
)  # fmt: skip
value = st.one_of(
    odd_text, hostile, st.integers(-(10**20), 10**20).map(str), st.decimals(allow_nan=True).map(str)
)
form_data = st.dictionaries(
    st.sampled_from(FIELDS), st.one_of(value, st.lists(value, max_size=3)), max_size=len(FIELDS)
)


def _invalid_amount(data: dict) -> dict:
    """Make sure a post from the script cannot be a valid gift (that would reach Stripe)."""
    return {**data, "custom_amount": "not money"}


@pytest.fixture(autouse=True)
def fresh_page():
    page.invalidate()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=form_data, as_json=st.booleans())
def test_random_and_hostile_values_never_break_the_form(client, data, as_json):
    http = NoStripeAllowed()
    headers = {"HTTP_ACCEPT": "application/json"} if as_json else {}
    with gateway.use_client(
        stripe.StripeClient("sk_test_forbidden", http_client=http, max_network_retries=0)
    ):
        # Without the script even valid details start no gift, so anything may be posted.
        response = client.post("/donate/", _invalid_amount(data) if as_json else data, **headers)
    assert response.status_code in {200, 400}, response.content[:500]
    assert not Donation.objects.exists()
    assert not RecurringDonation.objects.exists()
    assert not NewsletterSubscription.objects.exists()
    assert http.calls == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=form_data)
def test_random_values_in_the_query_string_still_show_a_working_page(client, data):
    query = {k: (v[0] if isinstance(v, list) and v else v) for k, v in data.items()}
    query = {k: v for k, v in query.items() if isinstance(v, str) and "\x00" not in v}
    response = client.get("/donate/", query)
    assert response.status_code == 200
    assert b'id="donate-form"' in response.content
