"""The /donate/ page and the form's validation, without reaching Stripe."""

import re

import pytest
import stripe
from django.urls import reverse

from donations import gateway, page
from donations.fees import cover_fee, format_amount, parse_amount, stripe_fee
from donations.models import Donation, DonationPreset, RecurringDonation
from members.models import Supporter
from tests.factories import NewsletterFactory

pytestmark = pytest.mark.django_db

URL = "/donate/"


class NoStripeAllowed(stripe.HTTPClient):
    """A Stripe client that fails the test if anything tries to reach Stripe."""

    name = "no-stripe-allowed"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def request(self, method, url, headers, post_data=None):
        self.calls.append(f"{method} {url}")
        raise AssertionError(f"Stripe was called: {method} {url}")

    def request_stream(self, method, url, headers, post_data=None):
        return self.request(method, url, headers, post_data)

    def close(self):
        """Nothing to close: no connection was opened."""


@pytest.fixture(autouse=True)
def fresh_page():
    page.invalidate()
    yield
    page.invalidate()


@pytest.fixture
def no_stripe():
    http = NoStripeAllowed()
    with gateway.use_client(
        stripe.StripeClient("sk_test_forbidden", http_client=http, max_network_retries=0)
    ):
        yield http


@pytest.fixture
def presets(db):
    rows = [
        ("one_time", 2500, False), ("one_time", 5000, True), ("one_time", 10000, False),
        ("monthly", 1000, False), ("monthly", 1500, True), ("annual", 12000, True),
    ]  # fmt: skip
    return [
        DonationPreset.objects.create(frequency=f, amount=a, suggested=s, position=i)
        for i, (f, a, s) in enumerate(rows)
    ]


def valid_post(**overrides) -> dict:
    data = {
        "frequency": "one_time",
        "amount_one_time": "5000",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "country": "US",
    }
    data.update(overrides)
    return data


def checked_ids(html: str) -> set[str]:
    return set(re.findall(r'<input[^>]*id="([^"]+)"[^>]*\bchecked\b', html))


def test_the_page_offers_each_frequencys_presets_with_the_suggested_one_chosen(client, presets):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "$25.00" in html and "$100.00" in html and "$15.00" in html
    assert {
        "id_frequency",
        "amount-one_time-5000",
        "amount-monthly-1500",
        "amount-annual-12000",
    } <= checked_ids(html)
    assert response["Cache-Control"] == "private, no-cache"


def test_every_input_has_a_label(client, presets):
    NewsletterFactory(name="The Morning", slug="the-morning")
    html = client.get(URL).content.decode()
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and set(ids) <= labelled


def test_query_parameters_preset_amount_frequency_and_source(client, presets):
    html = client.get(URL + "?amount=25&frequency=monthly&source=newsletter").content.decode()
    assert "frequency-monthly" in checked_ids(html)
    assert "amount-monthly-other" in checked_ids(html)
    assert 'name="custom_amount" value="25"' in html
    assert 'name="source" value="newsletter"' in html
    assert "Give $25.00 a month" in html


def test_a_query_amount_that_is_a_preset_chooses_that_preset(client, presets):
    html = client.get(URL + "?amount=10&frequency=monthly").content.decode()
    assert "amount-monthly-1000" in checked_ids(html)
    assert 'name="custom_amount" value=""' in html


@pytest.mark.parametrize(
    "query",
    [
        "?amount=-5&frequency=weekly",
        "?amount=1e9",
        "?amount=%3Cscript%3E",
        "?source=%22%3E%3Cscript%3E",
        "?amount=NaN",
    ],
)
def test_bad_query_parameters_are_ignored(client, presets, query):
    response = client.get(URL + query)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "id_frequency" in checked_ids(html)


def test_the_page_is_built_once_and_only_the_csrf_token_differs(
    client, presets, django_assert_num_queries
):
    client.get(URL)
    with django_assert_num_queries(0):
        first = client.get(URL).content.decode()
    other = type(client)()
    second = other.get(URL).content.decode()
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.search(first) and token.search(second)
    assert token.search(first).group() != token.search(second).group()
    assert token.sub("", first) == token.sub("", second)


def test_changing_a_preset_rebuilds_the_page(client, presets):
    assert "$75.00" not in client.get(URL).content.decode()
    DonationPreset.objects.create(frequency="one_time", amount=7500, position=9)
    assert "$75.00" in client.get(URL).content.decode()
    DonationPreset.objects.filter(amount=7500).delete()  # a queryset delete sends post_delete too
    assert "$75.00" not in client.get(URL).content.decode()


def test_only_newsletters_offered_on_the_form_are_shown(client):
    NewsletterFactory(name="The Morning", offered_on_form=True)
    NewsletterFactory(name="Members only", offered_on_form=False)
    html = client.get(URL).content.decode()
    assert "The Morning" in html and "Members only" not in html


def test_without_javascript_errors_show_beside_their_fields(client, presets, no_stripe):
    response = client.post(
        URL, valid_post(email="not an email", first_name="", amount_one_time="other")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(
        r'id="id_email"[^>]*aria-describedby="email-error"[^>]*aria-invalid="true"', html
    )
    assert (
        'id="email-error" data-error-for="email">Enter an email address like name@example.com.'
        in html
    )
    assert 'id="first_name-error" data-error-for="first_name">Enter your first name.' in html
    assert "Choose an amount or enter your own." in html
    assert re.search(r'id="error-summary"[^>]*role="alert"[^>]*autofocus', html)
    assert 'value="not an email"' in html  # what they typed comes back
    assert not Donation.objects.exists() and no_stripe.calls == []


def test_without_javascript_valid_details_explain_that_the_card_needs_it(
    client, presets, no_stripe
):
    response = client.post(URL, valid_post())
    assert response.status_code == 200
    assert "needs JavaScript" in response.content.decode()
    assert not Donation.objects.exists()


def test_typed_values_are_escaped_when_shown_again(client, no_stripe):
    response = client.post(URL, valid_post(first_name='"><script>alert(1)</script>', email="x"))
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def json_post(client, data, **extra):
    return client.post(URL, data, HTTP_ACCEPT="application/json", **extra)


def test_the_script_gets_errors_as_json_keyed_by_field(client, no_stripe):
    response = json_post(client, valid_post(email="", custom_amount="abc"))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["email"] == ["Enter your email address, so we can send your receipt."]
    assert errors["custom_amount"] == ["Enter an amount in numbers, like 25 or 25.50."]


def test_the_honeypot_refuses_without_calling_stripe(client, presets, no_stripe):
    response = json_post(client, valid_post(website="http://spam.example"))
    assert response.status_code == 400
    assert "could not accept" in response.json()["errors"]["__all__"][0]
    assert (
        no_stripe.calls == [] and not Donation.objects.exists() and not Supporter.objects.exists()
    )


@pytest.mark.parametrize("amount", ["0.99", "0", "0.5"])
def test_the_minimum_amount_refuses_without_calling_stripe(client, no_stripe, settings, amount):
    settings.DONATION_MIN_AMOUNT = 100
    response = json_post(client, valid_post(custom_amount=amount))
    assert response.status_code == 400
    assert response.json()["errors"]["custom_amount"] == [
        "The smallest gift we can accept is $1.00."
    ]
    assert no_stripe.calls == [] and not Donation.objects.exists()


def test_the_maximum_amount_refuses_and_says_whom_to_write_to(client, no_stripe, settings):
    settings.DONATION_MAX_AMOUNT = 100_000
    response = json_post(client, valid_post(custom_amount="1000.01"))
    assert "giving@example.org" in response.json()["errors"]["custom_amount"][0]
    assert no_stripe.calls == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "A\x0bda"),
        ("last_name", "Love\x01lace"),
        ("city", "Spring\nfield"),
        ("dedication_name", "Grand\ufffema"),
        ("last_name", "Love\U0010ffff"),
    ],
)
def test_control_characters_and_noncharacters_are_refused_beside_their_field(
    client, no_stripe, field, value
):
    data = valid_post(validate_only="1", **{field: value})
    if field == "dedication_name":
        data["dedication_kind"] = "memory"
    response = json_post(client, data)
    assert response.status_code == 400
    assert "invisible character" in response.json()["errors"][field][0]
    assert no_stripe.calls == [] and not Donation.objects.exists()


def test_names_in_any_script_are_accepted(client, no_stripe):
    response = json_post(
        client, valid_post(validate_only="1", first_name="Zoë", last_name="李 O'Brien-Ñúñez")
    )
    assert response.json() == {"valid": True}


def test_a_dedication_needs_a_name_and_a_kind(client, no_stripe):
    errors = json_post(client, valid_post(dedication_kind="memory")).json()["errors"]
    assert errors == {"dedication_name": ["Enter the name of the person the gift honours."]}
    errors = json_post(client, valid_post(dedication_name="Grandma")).json()["errors"]
    assert errors == {"dedication_kind": ["Choose in honour of or in memory of."]}


def test_the_address_is_required_where_the_receipt_rules_need_it(client, no_stripe, settings):
    settings.DONATION_ADDRESS_REQUIRED = True
    page.invalidate()
    errors = json_post(client, valid_post()).json()["errors"]
    assert set(errors) == {"address_line1", "city", "region", "postal_code"}
    assert 'id="id_city"' in client.get(URL).content.decode()
    assert re.search(r'id="id_city"[^>]*required', client.get(URL).content.decode())


def test_a_stale_preset_group_of_another_frequency_is_ignored(client, no_stripe):
    # Monthly chosen: the one-time group's choice (hidden on the page) must not count.
    errors = json_post(client, valid_post(frequency="monthly", amount_one_time="5000")).json()[
        "errors"
    ]
    assert errors == {"custom_amount": ["Choose an amount or enter your own."]}


@pytest.mark.parametrize(
    ("text", "cents"),
    [("25", 2500), ("25.5", 2550), ("$1,000.50", 100050), (" 7 ", 700), ("0.01", 1), ("12.", 1200)],
)
def test_amounts_parse_to_exact_cents(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text", ["", "abc", "1e3", "1.234", "-5", "NaN", "Infinity", "٣", "1.2.3", "."]
)
def test_anything_else_is_not_an_amount(text):
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize(("gift", "fee"), [(100, 34), (2500, 106), (5000, 180), (10000, 330)])
def test_cover_the_fee_adds_what_stripe_takes(gift, fee):
    assert cover_fee(gift) == fee


def test_cover_the_fee_is_the_smallest_total_that_nets_the_gift():
    for gift in range(1, 300_000, 37):
        total = gift + cover_fee(gift)
        assert total - stripe_fee(total) >= gift
        assert (total - 1) - stripe_fee(total - 1) < gift


def test_amounts_are_shown_with_the_currency():
    assert format_amount(123456) == "$1,234.56"
    assert format_amount(5, "gbp") == "£0.05"
    assert format_amount(2500, "chf") == "CHF25.00"
    assert format_amount(2500, "jpy") == "¥2,500"
    assert format_amount(2500, "kwd") == "KWD2.500"


def test_an_ambiguous_comma_is_refused_not_read_as_thousands():
    with pytest.raises(ValueError):
        parse_amount("25,00")
    assert parse_amount("2,500") == 250000


def test_the_page_states_the_fee_for_the_chosen_amount(client, presets):
    html = client.get(URL).content.decode()
    assert 'Add <span class="fee-text" data-fee-text>$1.80</span>' in html
    assert "Give $50.00" in html


def test_the_thank_you_page_of_an_unknown_gift_is_404(client):
    assert (
        client.get(
            reverse("donations:thanks", args=["0b0b7f4c-7e0e-4b4e-8d5e-3c3f1d0f2a11"])
        ).status_code
        == 404
    )


def test_no_recurring_gift_is_written_for_invalid_input(client, no_stripe):
    json_post(client, valid_post(frequency="monthly", custom_amount="-3"))
    assert not RecurringDonation.objects.exists()


def test_the_script_can_ask_for_validation_alone(client, presets, no_stripe):
    response = json_post(client, valid_post(validate_only="1"))
    assert response.json() == {"valid": True}
    assert (
        not Donation.objects.exists() and not Supporter.objects.exists() and no_stripe.calls == []
    )
    errors = json_post(client, valid_post(validate_only="1", email="")).json()["errors"]
    assert list(errors) == ["email"]


def test_the_email_match_ignores_case_in_the_database_too(db):
    from donations.checkout import find_or_create_supporter

    first, created = find_or_create_supporter(
        email="Zoë@Example.com", first_name="Zoë", last_name="", address={}
    )
    again, created_again = find_or_create_supporter(
        email="zoë@example.COM", first_name="", last_name="", address={}
    )
    assert again == first and Supporter.objects.count() == 1
    assert (created, created_again) == (True, False)


def test_staff_set_presets_in_the_admin_and_the_page_follows(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/donations/donationpreset/add/",
        {"frequency": "monthly", "amount": "2000", "suggested": "on", "position": "0"},
    )
    assert response.status_code == 302
    changelist = client.get("/admin/donations/donationpreset/")
    assert changelist.status_code == 200 and "20.00" in changelist.content.decode()
    html = client.get(URL + "?frequency=monthly").content.decode()
    assert "amount-monthly-2000" in checked_ids(html) and "$20.00" in html
