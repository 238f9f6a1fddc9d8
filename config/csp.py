"""The Content-Security-Policy and Permissions-Policy every page is served with.

Django's own CSP middleware sends SECURE_CSP; this module builds that policy from the two
Stripe settings (STRIPE_JS_URL, STRIPE_API_BASE), so the emulator in development and
Stripe in production are each the only third party a page may load script from, frame,
or connect to. Everything else is 'self'; inline script runs only with the request's
nonce ({{ csp_nonce }}), and no page has any.

Stripe documents what Stripe.js needs (docs.stripe.com/security/guide#content-security-policy):
scripts from js.stripe.com and its subdomains, frames from js.stripe.com and
hooks.stripe.com (3-D Secure), connections to api.stripe.com.
"""

import json
import logging
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.utils.csp import CSP
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger("pledge.csp")

REAL_STRIPE_JS = "https://js.stripe.com"
# Frames and scripts Stripe.js itself adds when it is the real one.
REAL_STRIPE_EXTRAS = {
    "script-src": ["https://*.js.stripe.com"],
    "frame-src": ["https://*.js.stripe.com", "https://hooks.stripe.com"],
}
REPORT_PATH = "/csp-report/"
REPORT_MAX_BYTES = 16 * 1024


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


TURNSTILE_HOOK = "donations.turnstile.passes"


def content_security_policy(
    *, stripe_js_url: str, stripe_api_base: str, challenge_script_url: str = ""
) -> dict[str, list[str]]:
    """The policy; `challenge_script_url` is the CAPTCHA's script when a challenge hook that
    loads one is on (Turnstile's script draws its widget in a frame from the same origin)."""
    js, api = origin(stripe_js_url), origin(stripe_api_base)
    extras = REAL_STRIPE_EXTRAS if js == REAL_STRIPE_JS else {}
    challenge = [origin(challenge_script_url)] if challenge_script_url else []
    return {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF, CSP.NONCE, js, *extras.get("script-src", []), *challenge],
        "style-src": [CSP.SELF, CSP.NONCE],
        "img-src": [CSP.SELF, "data:"],
        "font-src": [CSP.SELF],
        "connect-src": [CSP.SELF, api],
        "frame-src": [js, *extras.get("frame-src", []), *challenge],
        "object-src": [CSP.NONE],
        "base-uri": [CSP.NONE],
        "form-action": [CSP.SELF],
        "frame-ancestors": [CSP.NONE],
        "report-uri": [REPORT_PATH],
    }


def policies_for(settings) -> tuple[dict[str, list[str]], str]:
    """SECURE_CSP and PERMISSIONS_POLICY from settings' Stripe and challenge values: for
    whatever moves those at run time (tests pointing Stripe at an emulator)."""
    challenge = (
        settings.TURNSTILE_SCRIPT_URL if settings.DONATION_CHALLENGE_HOOK == TURNSTILE_HOOK else ""
    )
    csp = content_security_policy(
        stripe_js_url=settings.STRIPE_JS_URL,
        stripe_api_base=settings.STRIPE_API_BASE,
        challenge_script_url=challenge,
    )
    return csp, permissions_policy(stripe_js_url=settings.STRIPE_JS_URL)


def permissions_policy(*, stripe_js_url: str) -> str:
    """Payment Request (Apple Pay, Google Pay) for us and Stripe's frame; nothing else."""
    js = origin(stripe_js_url)
    return ", ".join(
        [
            f'payment=(self "{js}")',
            "camera=()",
            "microphone=()",
            "geolocation=()",
            "usb=()",
            "serial=()",
            "bluetooth=()",
            "display-capture=()",
        ]
    )


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Browsers POST a report here when a page's policy blocks something (an injected
    script, a third party we did not expect). Logged, so a deployer sees attacks and
    mistakes; nothing is stored, and a report that is too big or not JSON is dropped."""
    body = request.read(REPORT_MAX_BYTES + 1)
    if len(body) > REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    try:
        report = json.loads(body).get("csp-report", {})
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    if not isinstance(report, dict):
        return HttpResponse(status=400)
    log.warning(
        "CSP blocked %s on %s (%s)",
        str(report.get("blocked-uri", ""))[:200],
        str(report.get("document-uri", ""))[:200],
        str(report.get("violated-directive", ""))[:100],
    )
    return HttpResponse(status=204)
