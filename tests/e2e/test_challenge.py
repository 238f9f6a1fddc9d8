"""The challenge in Chromium: once the card-testing limits ask for it, the page loads the
Turnstile widget inside the form, and its token lets the donor through."""

import pytest
from playwright.sync_api import expect

from donations.models import Donation
from tests.donations.turnstile_server import GOOD_TOKEN, SITE_KEY, running
from tests.e2e.test_donate import THANKS, fill_card, fill_details, give_button, site  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_challenged_donor_sees_the_widget_and_then_gives(page, site, settings):  # noqa: F811
    settings.DONATION_CHALLENGE_AFTER = 0  # every start is challenged
    with running(settings) as turnstile:
        page.goto(site.url + "/donate/")
        fill_details(page)
        fill_card(page, "4242 4242 4242 4242")
        give_button(page).click()
        expect(page.locator("#form-error")).to_contain_text("Please complete the check below")
        expect(page.locator("#challenge")).to_contain_text(f"test widget for {SITE_KEY}")
        give_button(page).click()
        page.wait_for_url(THANKS)
        assert [sent["response"] for sent in turnstile.received] == [GOOD_TOKEN]
    assert Donation.objects.get().status == "succeeded"
