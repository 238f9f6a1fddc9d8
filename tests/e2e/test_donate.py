"""The donation form in Chromium, through the real page and the emulator's stand-in Stripe.js."""

import re

import pytest
from playwright.sync_api import expect

from donations import page as donate_page
from donations.models import Donation, DonationPreset, RecurringDonation

pytestmark = pytest.mark.browser

THANKS = re.compile(r"/donate/thanks/[0-9a-f-]+/\?")


@pytest.fixture
def site(live_server, stripe_server, transactional_db):
    """The live site with presets, its Stripe on the HTTP emulator, webhooks delivered."""
    for frequency, amounts, suggested in (
        ("one_time", [2500, 5000, 10000], 5000),
        ("monthly", [1000, 1500, 2500], 1500),
        ("annual", [6000, 12000], 12000),
    ):
        for position, amount in enumerate(amounts):
            DonationPreset.objects.create(
                frequency=frequency, amount=amount, suggested=amount == suggested, position=position
            )
    stripe_server.emulator.add_webhook_endpoint(live_server.url + "/stripe/webhook/")
    donate_page.invalidate()
    yield live_server
    donate_page.invalidate()


def fill_details(page, email="ada@example.com"):
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill(email)


def fill_card(page, number):
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill("12 / 34")
    page.get_by_label("CVC").fill("123")


def give_button(page):
    return page.locator("#submit-button")


def test_a_one_time_gift_with_4242_succeeds_and_shows_the_thank_you_page(page, site, stripe_server):
    page.goto(site.url + "/donate/")
    expect(page.get_by_label("$50.00")).to_be_checked()
    fill_details(page)
    fill_card(page, "4242 4242 4242 4242")
    expect(give_button(page)).to_have_text("Give $50.00")
    give_button(page).click()
    page.wait_for_url(THANKS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    expect(page.get_by_role("status")).to_contain_text("$50.00")
    donation = Donation.objects.get()
    assert (donation.status, donation.amount, donation.frequency) == ("succeeded", 5000, "one_time")
    intent = stripe_server.emulator.retrieve(donation.stripe_payment_intent_id)
    assert intent["status"] == "succeeded" and intent["metadata"]["donation_id"] == str(
        donation.public_id
    )


def test_a_monthly_gift_succeeds_and_creates_an_active_recurring_gift(page, site, stripe_server):
    page.goto(site.url + "/donate/")
    page.get_by_text("Monthly", exact=True).click()
    page.get_by_role("group", name="Choose a monthly amount").get_by_text("$25.00").click()
    fill_details(page)
    fill_card(page, "4242424242424242")
    expect(give_button(page)).to_have_text("Give $25.00 a month")
    give_button(page).click()
    page.wait_for_url(THANKS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    expect(page.locator("main")).to_contain_text("set up and active")
    recurring = RecurringDonation.objects.get()
    assert (recurring.status, recurring.amount, recurring.interval) == ("active", 2500, "month")
    subscription = stripe_server.emulator.retrieve(recurring.stripe_subscription_id)
    assert subscription["status"] == "active"
    assert Donation.objects.get(recurring=recurring).status == Donation.Status.SUCCEEDED


def test_a_declined_card_shows_beside_the_card_and_another_card_succeeds_on_the_same_page(
    page, site, stripe_server
):
    page.goto(site.url + "/donate/")
    fill_details(page)
    fill_card(page, "4000 0000 0000 0002")
    give_button(page).click()
    card_error = page.locator("#payment-error")
    expect(card_error).to_contain_text("Your card was declined.")
    expect(card_error).to_have_attribute("role", "alert")
    expect(page.locator("#error-summary")).to_be_focused()
    assert "/donate/" in page.url and "thanks" not in page.url
    first_id = page.locator("input[name=donation_id]").input_value()
    assert first_id

    fill_card(page, "4242 4242 4242 4242")
    give_button(page).click()
    page.wait_for_url(THANKS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    donation = Donation.objects.get()  # one gift, not two
    assert str(donation.public_id) == first_id and donation.status == Donation.Status.SUCCEEDED
    assert len(stripe_server.emulator.by_type.get("payment_intent", [])) == 1


def test_a_card_needing_3d_secure_passes_after_authentication(page, site, stripe_server):
    page.goto(site.url + "/donate/")
    fill_details(page)
    fill_card(page, "4000 0025 0000 3155")
    give_button(page).click()
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(THANKS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED


def test_covering_the_fee_charges_the_total_shown(page, site, stripe_server):
    page.goto(site.url + "/donate/")
    page.get_by_label("Your own amount").fill("25")
    expect(page.locator("[data-fee-text]")).to_have_text("$1.06")
    page.get_by_label(re.compile("cover the card fee")).check()
    expect(give_button(page)).to_have_text("Give $26.06")
    shown = give_button(page).inner_text()
    fill_details(page)
    fill_card(page, "4242 4242 4242 4242")
    give_button(page).click()
    page.wait_for_url(THANKS)
    expect(page.get_by_role("status")).to_contain_text("$26.06")
    donation = Donation.objects.get()
    charged = stripe_server.emulator.retrieve(donation.stripe_payment_intent_id)["amount_received"]
    assert shown == f"Give ${charged / 100:.2f}" and (donation.amount, donation.fee_covered) == (
        2606,
        106,
    )


def test_the_fee_shown_matches_the_servers_for_many_amounts(page, site):
    from donations.fees import cover_fee, format_amount

    page.goto(site.url + "/donate/")
    for text in ["1", "3.33", "19.99", "50", "123.45", "1000", "9999.99"]:
        page.get_by_label("Your own amount").fill(text)
        cents = round(float(text) * 100)
        expect(page.locator("[data-fee-text]")).to_have_text(format_amount(cover_fee(cents)))


def test_a_link_presets_amount_frequency_and_source(page, site, stripe_server):
    page.goto(site.url + "/donate/?amount=25&frequency=monthly&source=newsletter")
    expect(page.get_by_label("Monthly")).to_be_checked()
    # $25 is one of the monthly presets, so that one is chosen (otherwise: "Your own amount").
    expect(page.locator("#amount-monthly-2500")).to_be_checked()
    expect(give_button(page)).to_have_text("Give $25.00 a month")
    fill_details(page)
    fill_card(page, "4242 4242 4242 4242")
    give_button(page).click()
    page.wait_for_url(THANKS)
    donation = Donation.objects.get()
    assert (donation.source, donation.frequency, donation.amount) == ("newsletter", "monthly", 2500)
    assert RecurringDonation.objects.get().source == "newsletter"


def test_a_link_with_an_amount_that_is_not_a_preset_fills_in_your_own_amount(page, site):
    page.goto(site.url + "/donate/?amount=33.50&frequency=annual")
    expect(page.get_by_label("Annual")).to_be_checked()
    expect(page.get_by_label("Your own amount")).to_have_value("33.50")
    expect(give_button(page)).to_have_text("Give $33.50 a year")


def test_form_errors_show_beside_their_fields_and_the_summary_takes_focus(
    page, site, stripe_server
):
    page.goto(site.url + "/donate/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Your own amount").fill("0.50")
    fill_card(page, "4242 4242 4242 4242")
    give_button(page).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter an email address like name@example.com.")
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_have_text(
        "Enter an email address like name@example.com."
    )
    expect(page.locator("#last_name-error")).to_have_text("Enter your last name.")
    expect(page.locator("#custom_amount-error")).to_contain_text("The smallest gift")
    assert "email-error" in email.get_attribute("aria-describedby")
    assert not Donation.objects.exists()
    summary.get_by_role("link", name="Enter your last name.").click()
    expect(page.get_by_label("Last name")).to_be_focused()


def test_the_page_fits_a_phone(page, site):
    page.goto(site.url + "/donate/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = give_button(page).bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a full-width, thumb-sized button
    # Only the chosen frequency's amounts are shown.
    expect(page.locator("fieldset.amounts[data-frequency=monthly]")).to_be_hidden()
    page.get_by_text("Monthly", exact=True).click()
    expect(page.locator("fieldset.amounts[data-frequency=monthly]")).to_be_visible()
    expect(page.locator("fieldset.amounts[data-frequency=one_time]")).to_be_hidden()


def test_stripe_down_tells_the_donor_to_try_again_and_a_retry_then_succeeds(
    page, site, stripe_server
):
    import stripe

    from donations import gateway

    class Down(stripe.HTTPClient):
        name = "down"

        def request(self, method, url, headers, post_data=None):
            raise stripe.APIConnectionError("Stripe is down (test)")

        def request_stream(self, method, url, headers, post_data=None):
            return self.request(method, url, headers, post_data)

        def close(self):
            """Nothing to close: no connection was opened."""

    page.goto(site.url + "/donate/")
    fill_details(page)
    fill_card(page, "4242 4242 4242 4242")
    with gateway.use_client(
        stripe.StripeClient("sk_test_down", http_client=Down(), max_network_retries=0)
    ):
        give_button(page).click()
        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("Please try again in a minute.")
        expect(page.locator("#form-error")).to_contain_text("Nothing has been charged.")
    donation = Donation.objects.get()
    assert (donation.status, donation.failure_code) == ("pending", "stripe_unreachable")

    give_button(page).click()  # Stripe is back
    page.wait_for_url(THANKS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED


def test_an_incomplete_card_and_other_errors_show_together(page, site):
    page.goto(site.url + "/donate/")
    page.get_by_label("First name").fill("Ada")
    give_button(page).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter your last name.")
    expect(summary).to_contain_text("Enter your email address")
    expect(page.locator("#payment-error")).to_contain_text("card number")
    assert not Donation.objects.exists()
