"""The Content-Security-Policy in Chromium: the real payment flow runs under it with no
violation, and a script injected into the page is blocked and reported."""

import logging
import time

import pytest
from playwright.sync_api import expect

from donations.models import Donation
from tests.e2e.test_donate import THANKS, fill_card, fill_details, give_button, site  # noqa: F401

pytestmark = pytest.mark.browser


def csp_console_errors(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


@pytest.mark.parametrize("card", ["4242 4242 4242 4242", "4000 0025 0000 3155"])
def test_a_gift_goes_through_under_the_policy_with_no_violation(page, site, card):  # noqa: F811
    violations = csp_console_errors(page)
    response = page.goto(site.url + "/donate/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "permissions-policy" in response.headers
    fill_details(page)
    fill_card(page, card)
    give_button(page).click()
    if card.startswith("4000"):
        page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(THANKS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Ada!")
    assert Donation.objects.get().status == Donation.Status.SUCCEEDED
    assert violations == []


INJECT = """() => new Promise((resolve) => {
  document.addEventListener("securitypolicyviolation",
    (event) => resolve(event.effectiveDirective), {once: true});
  const script = document.createElement("script");
  script.textContent = "window.injectedRan = true";
  document.body.appendChild(script);
  setTimeout(() => resolve("no violation"), 3000);
})"""


@pytest.mark.parametrize("path", ["/donate/", "/account/sign-in/", "/admin/login/"])
def test_an_injected_inline_script_does_not_run_and_is_reported(page, site, path, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="pledge.csp")
    page.goto(site.url + path)
    assert page.evaluate(INJECT) == "script-src-elem"
    assert page.evaluate("() => window.injectedRan === undefined")
    deadline = time.monotonic() + 5  # the browser posts the report on its own schedule
    while "CSP blocked" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "CSP blocked inline" in caplog.text and path in caplog.text
