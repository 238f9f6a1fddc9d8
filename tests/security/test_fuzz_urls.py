"""Every URL the project serves, fed odd bytes, NUL, non-ASCII text, huge numbers and far
dates in its path, query string and form fields, by a stranger, a signed-in donor and
staff: the answer is never a 500.

Hypothesis draws a route from the live URL map (django.urls resolvers, so a new view is
fuzzed without touching this file) and fills its parameters with hostile values or real
ones (a real gift's UUID, the donor's valid tokens), so requests get past the first
lookup and reach the code behind it. Bounded so the whole file runs in well under a minute.
"""

import datetime as dt
import re
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import signin
from receipts import links
from tests.donations.gifts import give

pytestmark = pytest.mark.django_db

ODD = [
    "\x00", "a\x00b", "%00", "\x7f", "\x1b[31m", "é", "\u202e", "ｆｕｌｌ", "💸", "\ufffe",
    "0", "-1", "1e309", "NaN", "99999999999999999999999999999999", "-9223372036854775809",
    "9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "../../etc/passwd", "'; --",
    "<script>alert(1)</script>", "a" * 2000, " ", "", "null", "[]", "{}",
]  # fmt: skip


def _routes() -> list[str]:
    def walk(patterns, prefix: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(set(walk(get_resolver().url_patterns, "")))


ROUTES = _routes()
PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")

text_values = st.one_of(
    st.sampled_from(ODD),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: d.isoformat()),
)


@pytest.fixture
def people(client, stripe_emulator, donor, admin_user):
    """A stranger, the donor signed in, and an admin; plus real values for parameters."""
    gift = give(stripe_emulator, email=donor.email, frequency="monthly", amount=1500)
    donor_client = Client(raise_request_exception=False)
    session = donor_client.session
    session[signin.SESSION_KEY] = donor.pk
    session.save()
    staff_client = Client(raise_request_exception=False)
    staff_client.force_login(admin_user)
    real = [
        str(gift.public_id),
        str(gift.recurring.public_id),
        str(gift.pk),
        str(donor.pk),
        links.receipts_token(donor),
        signin.signin_token(donor),
        "pause",
        "amount",
        "donations/donation",
    ]
    return {
        "stranger": Client(raise_request_exception=False),
        "donor": donor_client,
        "staff": staff_client,
        "real": real,
    }


@st.composite
def requests(draw, real: list[str]):
    value = st.one_of(text_values, st.sampled_from(real))
    route = draw(st.sampled_from(ROUTES))
    path = PLACEHOLDER.sub(lambda _m: quote(draw(value), safe=""), route)
    path = "/" + path.lstrip("^").rstrip("$").replace("\\", "")
    query = draw(
        st.dictionaries(
            st.sampled_from(["q", "amount", "next", "o", "p", "date_to"]), value, max_size=3
        )
    )
    form = draw(
        st.dictionaries(
            st.sampled_from(["email", "amount", "code", "date_from", "date_to", "donation_id", "action", "username", "password", "file_format", "newsletters", "fiscal_year"]),
            value,
            max_size=5,
        )
    )  # fmt: skip
    method = draw(st.sampled_from(["get", "post", "head"]))
    return method, path, query, form


def _ask(client: Client, method: str, path: str, query: dict, form: dict):
    url = f"{path}?{urlencode(query)}" if query else path
    if method == "post":
        return client.post(url, form)
    return getattr(client, method)(url)


@pytest.mark.parametrize("who", ["stranger", "donor", "staff"])
def test_no_input_gets_a_500(people, who):
    client = people[who]

    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(requests(people["real"]))
    def check(request):
        method, path, query, form = request
        response = _ask(client, method, path, query, form)
        assert response.status_code < 500, (method, path, query, form, response.status_code)

    check()


def test_the_fuzzer_covers_every_public_route():
    public = [r for r in ROUTES if not r.startswith("admin/")]
    assert (
        "donate/thanks/<uuid:public_id>/" in public
        and "account/receipts/<str:number>.pdf" in public
    )
