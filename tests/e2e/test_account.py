"""A donor, in Chromium, asks for a sign-in link, follows it from the email, and pauses
and changes their monthly gift on their own page."""

import re
import time

import pytest
from django.core import mail
from playwright.sync_api import expect

from donations.models import RecurringDonation
from tests.donations.gifts import give

pytestmark = pytest.mark.browser


def test_a_donor_signs_in_from_the_email_and_manages_their_monthly_gift(
    page, live_server, stripe_server, transactional_db, settings
):
    settings.SITE_URL = live_server.url
    stripe_server.emulator.add_webhook_endpoint(live_server.url + "/stripe/webhook/")
    donation = give(stripe_server.emulator, frequency="monthly", amount=1500)
    recurring = RecurringDonation.objects.get(pk=donation.recurring_id)
    deadline = time.monotonic() + 15  # the emulator's webhooks arrive over HTTP
    while recurring.status != RecurringDonation.Status.ACTIVE and time.monotonic() < deadline:
        time.sleep(0.1)
        recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.ACTIVE

    page.goto(live_server.url + "/account/")
    page.get_by_label("Email").fill("DONOR@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("status")).to_contain_text("sign-in link is on its way")

    link = re.search(r"http\S+/account/sign-in/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your giving")
    expect(page.get_by_text("$15.00")).to_be_visible()

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("Your gift is paused")
    recurring.refresh_from_db()
    assert recurring.status == RecurringDonation.Status.PAUSED

    page.get_by_role("button", name="Resume").click()
    page.get_by_label("New amount").fill("20")
    page.get_by_role("button", name="Change amount").click()
    expect(page.get_by_role("status")).to_contain_text("applies from your next payment")
    expect(page.get_by_text("$20.00")).to_be_visible()
    recurring.refresh_from_db()
    assert (recurring.status, recurring.amount) == (RecurringDonation.Status.ACTIVE, 2000)
