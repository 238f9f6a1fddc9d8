"""Starting a gift through the form's JSON endpoint, against the in-process Stripe emulator."""

import contextlib
import socket
import threading
import time
import uuid
from urllib.parse import parse_qs

import pytest
import stripe
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from donations import checkout, gateway, page
from donations.fees import cover_fee
from donations.models import Donation, RecurringDonation
from fakestripe import Emulator
from fakestripe.http_client import EmulatorHTTPClient
from members.models import NewsletterSubscription, Supporter
from tests.donations.test_form import valid_post
from tests.factories import NewsletterFactory, SupporterFactory

pytestmark = pytest.mark.django_db

URL = "/donate/"
DECLINE = "4000000000000002"


class RecordingClient(EmulatorHTTPClient):
    """The emulator's in-process client, noting every request (and able to fail some)."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.requests: list[dict] = []
        self.fail: set[str] = set()  # "POST /v1/payment_intents": fail before Stripe sees it
        self.lose_response: set[str] = set()  # Stripe acts, the answer is lost on the way

    def request(self, method, url, headers, post_data=None, **kwargs):
        path = url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
        key = f"{method.upper()} /{path}"
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        self.requests.append({"key": key, "headers": dict(headers or {}), "params": parse_qs(body)})
        if key in self.fail:
            raise stripe.APIConnectionError("Stripe is down (test)")
        result = super().request(method, url, headers, post_data, **kwargs)
        if key in self.lose_response:
            self.lose_response.discard(key)
            raise stripe.APIConnectionError("the answer was lost (test)")
        return result

    def made(self, key: str) -> list[dict]:
        return [r for r in self.requests if r["key"] == key]


@pytest.fixture
def emulator(stripe_emulator):
    return stripe_emulator


@pytest.fixture
def recorder(emulator):
    http = RecordingClient(emulator)
    with gateway.use_client(
        stripe.StripeClient("sk_test_emulator", http_client=http, max_network_retries=0)
    ):
        yield http


@pytest.fixture(autouse=True)
def fresh_page():
    page.invalidate()


def give(client, **overrides):
    """Post the form as the page's script does; REMOTE_ADDR and HTTP_* go to the request."""
    extra = {
        k: overrides.pop(k) for k in list(overrides) if k == "REMOTE_ADDR" or k.startswith("HTTP_")
    }
    return client.post(URL, valid_post(**overrides), HTTP_ACCEPT="application/json", **extra)


def objects(emulator: Emulator, kind: str) -> list[dict]:
    return [emulator.retrieve(object_id) for object_id in emulator.by_type.get(kind, [])]


# --- One-time gifts -----------------------------------------------------------------------


def test_the_pending_donation_is_written_before_stripe_hears_of_it(client, recorder, monkeypatch):
    seen = {}
    create = gateway.create_payment_intent

    def spy(**kwargs):
        donation = Donation.objects.get(public_id=kwargs["metadata"]["donation_id"])
        seen["status"] = donation.status
        return create(**kwargs)

    monkeypatch.setattr(gateway, "create_payment_intent", spy)
    assert give(client, custom_amount="25").status_code == 200
    assert seen == {"status": Donation.Status.PENDING}


def test_a_one_time_gift_makes_a_payment_intent_that_names_our_donation(client, emulator, recorder):
    data = give(client, custom_amount="25").json()
    donation = Donation.objects.get()
    intent = emulator.retrieve(donation.stripe_payment_intent_id)
    assert data["donation_id"] == str(donation.public_id) and data["mode"] == "payment"
    assert data["client_secret"] == intent["client_secret"]
    assert data["return_url"] == f"http://testserver/donate/thanks/{donation.public_id}/"
    assert (intent["amount"], intent["currency"]) == (2500, "usd")
    assert intent["metadata"] == {"donation_id": str(donation.public_id)}
    assert intent["customer"] == donation.supporter.stripe_customer_id
    assert intent.get("receipt_email") is None  # the receipt is ours
    (request,) = recorder.made("POST /v1/payment_intents")
    assert "receipt_email" not in request["params"]
    assert str(donation.public_id) in request["headers"]["Idempotency-Key"]
    assert (donation.status, donation.amount, donation.frequency) == ("pending", 2500, "one_time")


@pytest.mark.parametrize("frequency", ["one_time", "monthly"])
def test_a_customer_deleted_in_stripe_is_replaced_under_a_fresh_idempotency_key(
    client, emulator, recorder, frequency
):
    assert give(client, custom_amount="25").status_code == 200
    supporter = Donation.objects.get().supporter
    old_customer = supporter.stripe_customer_id
    emulator.stripe_client("sk_test_emulator").v1.customers.delete(old_customer)
    # Signed in, the donor gives under their own customer (an anonymous gift from a known
    # address gets a customer of its own and never meets the deleted one).
    from members import signin

    session = client.session
    session[signin.SESSION_KEY] = supporter.pk
    session.save()

    response = give(client, custom_amount="30", frequency=frequency)
    assert response.status_code == 200, response.content
    supporter.refresh_from_db()
    assert supporter.stripe_customer_id not in ("", old_customer)
    gift = Donation.objects.get(amount=3000)
    assert gift.stripe_payment_intent_id
    assert emulator.retrieve(gift.stripe_payment_intent_id)["customer"] == (
        supporter.stripe_customer_id
    )


def test_the_emulator_refuses_a_reused_key_with_other_parameters(emulator):
    stripe_client = emulator.stripe_client("sk_test_emulator")
    stripe_client.v1.customers.create(
        params={"email": "a@example.com"}, options={"idempotency_key": "k1"}
    )
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.customers.create(
            params={"email": "b@example.com"}, options={"idempotency_key": "k1"}
        )


def test_a_zero_decimal_currency_is_charged_what_the_page_says(
    client, emulator, recorder, settings
):
    settings.ORG_CURRENCY = "jpy"
    settings.DONATION_MIN_AMOUNT, settings.DONATION_MAX_AMOUNT = 100, 1_000_000
    page.invalidate()
    assert 'data-currency-digits="0"' in client.get(URL).content.decode()
    assert "Give ¥2,500" in client.get(URL, {"amount": "2500"}).content.decode()
    assert give(client, custom_amount="2500", amount_one_time="").status_code == 200
    intent = emulator.retrieve(Donation.objects.get().stripe_payment_intent_id)
    assert (intent["amount"], intent["currency"]) == (2500, "jpy")


def test_the_supporter_is_found_by_email_whatever_its_case(client, emulator, recorder):
    existing = SupporterFactory(email="Ada@Example.com", stripe_customer_id=None)
    give(client, email="ada@EXAMPLE.com", custom_amount="10")
    give(client, email="ADA@example.com", custom_amount="12")
    assert Supporter.objects.get() == existing
    assert Donation.objects.filter(supporter=existing).count() == 2
    # Neither form gift was proven to come from the address's owner: each has its own
    # Stripe customer, and none is saved as the supporter's.
    assert len(objects(emulator, "customer")) == 2
    assert Supporter.objects.get().stripe_customer_id is None


def test_names_and_address_typed_are_kept_on_the_gift_not_the_supporter(client, recorder):
    SupporterFactory(email="ada@example.com", first_name="A.", city="Old Town")
    give(
        client, custom_amount="10", first_name="Ada", address_line1="1 New Road", city="Springfield"
    )
    supporter = Supporter.objects.get()
    assert (supporter.first_name, supporter.city) == ("A.", "Old Town")
    donation = Donation.objects.get()
    assert (donation.donor_first_name, donation.donor_address_line1, donation.donor_city) == (
        "Ada",
        "1 New Road",
        "Springfield",
    )


def test_a_new_supporter_is_made_from_what_they_typed(client, recorder):
    give(client, custom_amount="10", email="new@example.com", first_name="Nia", city="Springfield")
    supporter = Supporter.objects.get()
    assert (supporter.first_name, supporter.city) == ("Nia", "Springfield")


def test_newsletter_consent_is_recorded_with_source_time_and_ip(client, recorder):
    morning = NewsletterFactory(slug="the-morning")
    NewsletterFactory(slug="city-hall")
    give(client, custom_amount="10", newsletters=["the-morning"], REMOTE_ADDR="203.0.113.9")
    subscription = NewsletterSubscription.objects.get()
    assert subscription.newsletter == morning
    assert subscription.status == NewsletterSubscription.Status.SUBSCRIBED
    assert subscription.consent_source == "donation_form"
    assert subscription.consent_ip == "203.0.113.9" and subscription.consent_at is not None


def test_source_campaign_and_dedication_are_stored_on_the_gift(client, recorder):
    give(client, custom_amount="10", source="newsletter", campaign="giving-day", dedication_kind="memory",
         dedication_name="Grace Hopper")  # fmt: skip
    donation = Donation.objects.get()
    assert (donation.source, donation.campaign) == ("newsletter", "giving-day")
    assert (donation.dedication_kind, donation.dedication_name) == ("memory", "Grace Hopper")


def test_covering_the_fee_charges_the_gift_plus_the_exact_fee(client, emulator, recorder):
    give(client, custom_amount="50", cover_fee="on")
    donation = Donation.objects.get()
    assert donation.fee_covered == cover_fee(5000) == 180
    assert donation.amount == emulator.retrieve(donation.stripe_payment_intent_id)["amount"] == 5180


# --- Recurring gifts ----------------------------------------------------------------------


def test_a_monthly_gift_starts_an_incomplete_subscription_for_its_amount(
    client, emulator, recorder
):
    data = give(client, frequency="monthly", custom_amount="15", source="newsletter").json()
    recurring = RecurringDonation.objects.get()
    donation = Donation.objects.get()
    subscription = emulator.retrieve(recurring.stripe_subscription_id)
    assert data["mode"] == "subscription"
    assert (recurring.status, recurring.amount, recurring.interval, recurring.source) == (
        "incomplete", 1500, "month", "newsletter",
    )  # fmt: skip
    assert (donation.recurring, donation.frequency, donation.source) == (
        recurring,
        "monthly",
        "newsletter",
    )
    assert subscription["status"] == "incomplete"
    assert subscription["metadata"] == {
        "recurring_donation_id": str(recurring.public_id),
        "donation_id": str(donation.public_id),
    }
    price = subscription["items"]["data"][0]["price"]
    assert (price["unit_amount"], price["recurring"]["interval"]) == (1500, "month")
    (request,) = recorder.made("POST /v1/subscriptions")
    assert request["params"]["payment_behavior"] == ["default_incomplete"]
    assert request["params"]["items[0][price_data][unit_amount]"] == ["1500"]
    assert str(recurring.public_id) in request["headers"]["Idempotency-Key"]
    assert donation.stripe_invoice_id == subscription["latest_invoice"]
    assert data["client_secret"].startswith(donation.stripe_payment_intent_id + "_secret_")


def test_an_annual_gift_bills_yearly(client, emulator, recorder):
    give(client, frequency="annual", custom_amount="120")
    recurring = RecurringDonation.objects.get()
    price = emulator.retrieve(recurring.stripe_subscription_id)["items"]["data"][0]["price"]
    assert (recurring.interval, price["recurring"]["interval"], price["unit_amount"]) == (
        "year",
        "year",
        12000,
    )


def test_the_thank_you_page_activates_a_paid_monthly_gift(client, emulator, recorder):
    data = give(client, frequency="monthly", custom_amount="15").json()
    emulator.confirm_with_card(data["client_secret"])
    html = client.get(data["return_url"]).content.decode()
    assert "Thank you, Ada!" in html and "monthly gift" in html and "set up and active" in html
    assert RecurringDonation.objects.get().status == RecurringDonation.Status.ACTIVE
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED


# --- The thank-you page reads the real status ------------------------------------------------


def test_the_thank_you_page_shows_a_succeeded_gift(client, emulator, recorder):
    data = give(client, custom_amount="25").json()
    emulator.confirm_with_card(data["client_secret"])
    response = client.get(data["return_url"] + "?redirect_status=succeeded")
    assert "Thank you, Ada!" in response.content.decode() and "$25.00" in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED


def test_the_thank_you_page_does_not_believe_the_query_string(client, recorder):
    data = give(client, custom_amount="25").json()
    html = client.get(
        data["return_url"] + "?redirect_status=succeeded&payment_intent=pi_fake"
    ).content.decode()
    assert "Thank you" not in html and "waiting for your bank" in html
    assert Donation.objects.get().status == Donation.Status.PENDING


def test_a_failed_payment_shows_stripes_message_and_a_way_to_try_again(client, emulator, recorder):
    data = give(client, custom_amount="25", source="newsletter").json()
    emulator.confirm_with_card(data["client_secret"], DECLINE)
    html = client.get(data["return_url"]).content.decode()
    assert "Your card was declined." in html
    assert (
        'href="/donate/?amount=25&amp;frequency=one_time&amp;source=newsletter">Try again' in html
    )
    assert Donation.objects.get().status == Donation.Status.FAILED


def test_a_payment_awaiting_3d_secure_says_so(client, emulator, recorder):
    data = give(client, custom_amount="25").json()
    emulator.confirm_with_card(data["client_secret"], "4000002500003155")
    assert "waiting for your bank" in client.get(data["return_url"]).content.decode()


def test_the_thank_you_page_survives_stripe_being_down(client, recorder):
    data = give(client, custom_amount="25").json()
    recorder.fail.add(f"GET /v1/payment_intents/{Donation.objects.get().stripe_payment_intent_id}")
    response = client.get(data["return_url"])
    assert response.status_code == 200 and "waiting for your bank" in response.content.decode()


# --- Retries --------------------------------------------------------------------------------


def test_a_retry_after_a_decline_reuses_the_donation_and_its_payment_intent(
    client, emulator, recorder
):
    first = give(client, custom_amount="25").json()
    emulator.confirm_with_card(first["client_secret"], DECLINE)
    client.post(reverse("donations:declined"), {"donation_id": first["donation_id"]})
    assert Donation.objects.get().status == Donation.Status.FAILED
    second = give(client, custom_amount="25", donation_id=first["donation_id"]).json()
    assert (second["donation_id"], second["client_secret"]) == (
        first["donation_id"],
        first["client_secret"],
    )
    emulator.confirm_with_card(second["client_secret"])
    client.get(second["return_url"])
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED
    assert len(objects(emulator, "payment_intent")) == 1
    assert len(recorder.made("POST /v1/payment_intents")) == 1


def test_a_changed_amount_on_retry_is_a_new_gift(client, recorder):
    first = give(client, custom_amount="25").json()
    second = give(client, custom_amount="30", donation_id=first["donation_id"]).json()
    assert second["donation_id"] != first["donation_id"]
    assert Donation.objects.count() == 2


def test_someone_elses_donation_id_is_not_reused(client, recorder):
    first = give(client, custom_amount="25").json()
    second = give(
        client, custom_amount="25", email="mallory@example.com", donation_id=first["donation_id"]
    ).json()
    assert second["donation_id"] != first["donation_id"]


def test_retrying_a_gift_that_already_succeeded_goes_to_its_thank_you_page(
    client, emulator, recorder
):
    first = give(client, custom_amount="25").json()
    emulator.confirm_with_card(first["client_secret"])
    client.get(first["return_url"])
    again = give(client, custom_amount="25", donation_id=first["donation_id"]).json()
    assert again == {"redirect": f"/donate/thanks/{first['donation_id']}/"}
    assert Donation.objects.count() == 1


# --- Stripe down or slow ------------------------------------------------------------------------


def test_stripe_down_says_try_again_and_keeps_the_pending_donation_marked(client, recorder):
    recorder.fail.add("POST /v1/payment_intents")
    response = give(client, custom_amount="25")
    assert response.status_code == 503
    body = response.json()
    assert body["errors"]["__all__"] == [checkout.UNREACHABLE_MESSAGE]
    assert (
        "try again" in checkout.UNREACHABLE_MESSAGE
        and "Nothing has been charged" in checkout.UNREACHABLE_MESSAGE
    )
    donation = Donation.objects.get()
    assert body["donation_id"] == str(donation.public_id)
    assert (donation.status, donation.failure_code) == ("pending", checkout.STRIPE_UNREACHABLE)
    assert donation.stripe_payment_intent_id is None

    recorder.fail.clear()
    retry = give(client, custom_amount="25", donation_id=body["donation_id"]).json()
    donation.refresh_from_db()
    assert retry["donation_id"] == body["donation_id"]
    assert (donation.failure_code, donation.stripe_payment_intent_id is not None) == ("", True)


def test_a_lost_answer_retried_makes_no_second_payment_intent(client, emulator, recorder):
    recorder.lose_response.add("POST /v1/payment_intents")
    body = give(client, custom_amount="25").json()
    assert len(objects(emulator, "payment_intent")) == 1  # Stripe made it; we never heard
    retry = give(client, custom_amount="25", donation_id=body["donation_id"]).json()
    assert len(objects(emulator, "payment_intent")) == 1
    assert retry["client_secret"] == objects(emulator, "payment_intent")[0]["client_secret"]


def test_a_stripe_that_never_answers_times_out_into_try_again(client, settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold_connections() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])  # accept, then say nothing

    thread = threading.Thread(target=hold_connections, daemon=True)
    thread.start()
    slow = stripe.StripeClient(
        "sk_test_slow",
        base_addresses={"api": f"http://127.0.0.1:{listener.getsockname()[1]}"},
        http_client=stripe.RequestsClient(timeout=0.5),
        max_network_retries=0,
    )
    try:
        with gateway.use_client(slow):
            started = time.monotonic()
            response = give(client, custom_amount="25")
            elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert response.status_code == 503 and elapsed < 5
    assert Donation.objects.get().failure_code == checkout.STRIPE_UNREACHABLE


# --- Card testing ---------------------------------------------------------------------------------


def decline_times(client, emulator, count: int, **extra) -> dict:
    data = give(client, custom_amount="25", **extra).json()
    # A donor retyping a card takes longer than the window in which the decline page asks
    # Stripe about one gift only once (donations.views_form._refreshed).
    with time_machine.travel(time.time(), tick=True) as clock:
        for _ in range(count):
            emulator.confirm_with_card(data["client_secret"], DECLINE)
            client.post(
                reverse("donations:declined"), {"donation_id": data["donation_id"]}, **extra
            )
            clock.shift(settings.DONATION_STATUS_REFRESH_SECONDS + 1)
    return data


def test_five_declines_from_one_ip_stop_further_attempts_without_calling_stripe(
    client, emulator, recorder
):
    data = decline_times(client, emulator, 5, REMOTE_ADDR="198.51.100.7")
    calls = len(recorder.requests)
    response = give(
        client, custom_amount="25", email="other@example.com", REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 429
    assert "Too many card attempts" in response.json()["errors"]["__all__"][0]
    retry = give(
        client, custom_amount="25", donation_id=data["donation_id"], REMOTE_ADDR="198.51.100.7"
    )
    assert retry.status_code == 429
    assert len(recorder.requests) == calls  # no Stripe call at all
    assert (
        give(
            client, custom_amount="25", email="b@example.com", REMOTE_ADDR="198.51.100.8"
        ).status_code
        == 200
    )


def test_five_declines_for_one_email_ask_for_the_challenge_from_another_ip(
    client, emulator, recorder, settings
):
    settings.DONATION_CHALLENGE_HOOK = "tests.donations.test_checkout.refuse_everyone"
    decline_times(client, emulator, 5, REMOTE_ADDR="198.51.100.7")
    calls = len(recorder.requests)
    response = give(client, custom_amount="25", REMOTE_ADDR="192.0.2.55")
    assert response.status_code == 403 and response.json()["challenge"] is True
    assert len(recorder.requests) == calls


def test_four_declines_still_allow_a_fifth_try(client, emulator, recorder):
    decline_times(client, emulator, 4)
    assert give(client, custom_amount="25").status_code == 200


def test_the_same_decline_reported_twice_counts_once(client, emulator, recorder):
    data = decline_times(client, emulator, 4)
    for _ in range(3):
        client.post(reverse("donations:declined"), {"donation_id": data["donation_id"]})
    assert give(client, custom_amount="25").status_code == 200


def test_the_limit_is_configurable(client, emulator, recorder, settings):
    settings.DONATION_DECLINE_LIMIT = 2
    decline_times(client, emulator, 2)
    assert give(client, custom_amount="25").status_code == 429


def test_too_many_new_gifts_from_one_ip_are_refused(client, recorder, settings):
    settings.DONATION_START_LIMIT = 3
    for n in range(3):
        assert give(client, custom_amount="25", email=f"p{n}@example.com").status_code == 200
    calls = len(recorder.requests)
    assert give(client, custom_amount="25", email="p9@example.com").status_code == 429
    assert len(recorder.requests) == calls


def refuse_everyone(request) -> bool:
    return False


def test_a_challenge_hook_is_asked_once_declines_climb(client, emulator, recorder, settings):
    settings.DONATION_CHALLENGE_HOOK = "tests.donations.test_checkout.refuse_everyone"
    settings.DONATION_CHALLENGE_AFTER = 2
    decline_times(client, emulator, 2)
    response = give(client, custom_amount="25")
    assert response.status_code == 403 and response.json()["challenge"] is True


def test_a_decline_report_for_an_unknown_gift_is_404(client, recorder):
    response = client.post(reverse("donations:declined"), {"donation_id": str(uuid.uuid4())})
    assert response.status_code == 404


def test_the_client_ip_comes_from_our_proxy_when_configured(client, emulator, recorder, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    decline_times(client, emulator, 5, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    # Same real client behind the proxy, a different email and a spoofed left-hand entry.
    blocked = give(
        client,
        custom_amount="5",
        email="z@example.com",
        HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7",
    )
    assert blocked.status_code == 429


def stripe_reports_failure(emulator, donation_id, capture) -> None:
    """What the webhook handler does with payment_intent.payment_failed."""
    from donations import event_handlers

    donation = Donation.objects.get(public_id=donation_id)
    intent = emulator.retrieve(donation.stripe_payment_intent_id)
    with capture(execute=True):
        event_handlers.payment_intent_failed(
            {"id": "evt_test", "type": "payment_intent.payment_failed", "data": {"object": intent}}
        )


def test_declines_heard_by_webhook_count_even_when_the_page_never_reports_them(
    client, emulator, recorder, django_capture_on_commit_callbacks
):
    for n in range(5):
        data = give(
            client, custom_amount="5", email=f"card{n}@example.com", REMOTE_ADDR="198.51.100.20"
        ).json()
        emulator.confirm_with_card(data["client_secret"], DECLINE)
        stripe_reports_failure(emulator, data["donation_id"], django_capture_on_commit_callbacks)
    calls = len(recorder.requests)
    assert (
        give(
            client, custom_amount="5", email="new@example.com", REMOTE_ADDR="198.51.100.20"
        ).status_code
        == 429
    )
    assert len(recorder.requests) == calls


def test_a_decline_heard_from_both_the_page_and_the_webhook_counts_once(
    client, emulator, recorder, django_capture_on_commit_callbacks
):
    for n in range(4):
        data = give(client, custom_amount="5", email=f"card{n}@example.com").json()
        emulator.confirm_with_card(data["client_secret"], DECLINE)
        client.post(reverse("donations:declined"), {"donation_id": data["donation_id"]})
        stripe_reports_failure(emulator, data["donation_id"], django_capture_on_commit_callbacks)
    assert give(client, custom_amount="5", email="new@example.com").status_code == 200


def test_a_monthly_gift_retried_after_a_decline_keeps_one_subscription(client, emulator, recorder):
    first = give(client, frequency="monthly", custom_amount="15").json()
    emulator.confirm_with_card(first["client_secret"], DECLINE)
    client.post(reverse("donations:declined"), {"donation_id": first["donation_id"]})
    second = give(
        client, frequency="monthly", custom_amount="15", donation_id=first["donation_id"]
    ).json()
    assert second["client_secret"] == first["client_secret"]
    emulator.confirm_with_card(second["client_secret"])
    client.get(second["return_url"])
    assert len(objects(emulator, "subscription")) == 1
    assert RecurringDonation.objects.get().status == RecurringDonation.Status.ACTIVE
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED


# --- Public pages do not turn anonymous traffic into Stripe calls ---------------------------


def intent_reads(recorder, donation: Donation) -> int:
    return len(recorder.made(f"GET /v1/payment_intents/{donation.stripe_payment_intent_id}"))


def test_many_visits_to_an_unsettled_gifts_thank_you_page_ask_stripe_once(client, recorder):
    data = give(client, custom_amount="25").json()
    donation = Donation.objects.get()
    for _ in range(50):
        assert client.get(data["return_url"]).status_code == 200
    assert intent_reads(recorder, donation) == 1


def test_the_thank_you_page_asks_again_once_the_window_has_passed(
    client, recorder, emulator, settings
):
    data = give(client, custom_amount="25").json()
    donation = Donation.objects.get()
    client.get(data["return_url"])
    emulator.confirm_with_card(data["client_secret"])
    cache.delete(f"donate:status-refresh:thanks:{donation.pk}")  # the window has passed
    assert "Thank you, Ada!" in client.get(data["return_url"]).content.decode()
    assert intent_reads(recorder, donation) == 2


def test_a_settled_gift_is_read_from_our_rows_only(client, recorder, emulator):
    data = give(client, custom_amount="25").json()
    emulator.confirm_with_card(data["client_secret"])
    donation = Donation.objects.get()
    client.get(data["return_url"])  # learns it succeeded
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED
    before = intent_reads(recorder, donation)
    cache.clear()  # even with no throttle entry, a settled gift never asks Stripe
    for _ in range(20):
        assert "Thank you, Ada!" in client.get(data["return_url"]).content.decode()
    assert intent_reads(recorder, donation) == before


def test_many_decline_reports_ask_stripe_once(client, recorder, emulator):
    data = give(client, custom_amount="25").json()
    emulator.confirm_with_card(data["client_secret"], "4000000000000002")
    donation = Donation.objects.get()
    for _ in range(30):
        response = client.post(reverse("donations:declined"), {"donation_id": data["donation_id"]})
        assert response.status_code == 200
    assert intent_reads(recorder, donation) == 1
