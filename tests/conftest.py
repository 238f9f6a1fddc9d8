"""Shared fixtures: the named people, a real Celery worker, and a real Chromium."""

import os

import pytest
from django.contrib.auth.models import Group

from config.celery import app as celery_app
from tests import moved_clock
from tests.celery_worker import CeleryWorker
from tests.factories import SupporterFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django would otherwise
# refuse ORM calls from it. Only tests set this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_configure(config):
    """PLEDGE_TEST_NOW=<ISO 8601 with offset>: the whole session runs from that moment."""
    try:
        travel = moved_clock.start()
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if travel is not None:
        config.add_cleanup(travel.stop)


def pytest_report_header(config):
    moment = moved_clock.requested_now()
    if moment is not None:
        return f"clock moved to {moment.isoformat()} ({moved_clock.ENV}), ticking"
    return None


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    """Cheap hashing, tasks run in-process, and a cache no earlier test has touched."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


# --- The named people ----------------------------------------------------------------


@pytest.fixture
def donor(db):
    """A reader who gives; signs in to their own pages through emailed links."""
    return SupporterFactory(email="donor@example.com", first_name="Dana", last_name="Donor")


@pytest.fixture
def finance_staff(db):
    user = UserFactory(username="finance", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Finance")
    user.groups.add(group)
    return user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def stranger(db):
    """Signed in, but neither staff nor anyone's donor."""
    return UserFactory(username="stranger")


# --- A real Celery worker ---------------------------------------------------------------


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real `celery worker` process on the configured broker (Redis with REDIS_URL, the
    filesystem transport without), reading the same test database as the test."""
    with CeleryWorker.start(settings=settings) as worker:
        yield worker


@pytest.fixture
def filesystem_celery_worker(transactional_db, settings, tmp_path):
    """A real worker on kombu's filesystem transport, whatever the environment says."""
    with CeleryWorker.start(settings=settings, filesystem_dir=tmp_path / "queue") as worker:
        yield worker


# --- A real browser ---------------------------------------------------------------------


def _browser_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("PLEDGE_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def chromium():
    if moved_clock.requested_now() is not None:
        # The page's own clock (cookies' expiry, Stripe.js timers) would disagree with the
        # server's moved one; browser tests run on the real date.
        pytest.skip(f"Chromium keeps the machine's clock: skipped under {moved_clock.ENV}")
    if not os.path.exists(CHROMIUM_PATH):
        message = f"Chromium not found at {CHROMIUM_PATH} (apt-get install -y chromium)"
        if _browser_required():
            pytest.fail(message + "; browser tests are required here", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# --- Finance exports (appended by the export work) --------------------------------------


@pytest.fixture
def finance_exporter(finance_staff):
    """finance_staff, whose Finance group holds receipts.export_receipts. The data
    migration grants it; a transactional test's flush wipes that grant, so it is made
    again here (adding a permission a group already holds changes nothing)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(
        codename="export_receipts", content_type__app_label="receipts"
    )
    finance_staff.groups.get(name="Finance").permissions.add(permission)
    return get_user_model().objects.get(pk=finance_staff.pk)  # a fresh permission cache


@pytest.fixture
def other_staff(db):
    """Staff, but not in Finance: may use the admin, may not export."""
    return UserFactory(username="editor", is_staff=True)


# --- The Stripe emulator (fakestripe) ---------------------------------------------------


@pytest.fixture
def stripe_emulator(settings):
    """An in-process Stripe emulator; every gateway call in the test goes to it.

    `stripe_emulator.add_webhook_listener(fn)` receives each signed webhook in-process;
    `stripe_emulator.advance_past_next_renewal()` renews every subscription and collects
    the renewal (never step a month: months differ and the charge lands an hour after the
    period end); `advance_past_next_payment_attempt()` runs the next Smart Retry.
    """
    import fakestripe
    from donations import gateway

    emulator = fakestripe.Emulator(webhook_secret=settings.STRIPE_WEBHOOK_SECRET)
    with gateway.use_client(emulator.stripe_client(settings.STRIPE_SECRET_KEY)):
        yield emulator


@pytest.fixture
def stripe_server(settings):
    """The emulator over HTTP on a free port (browser tests, Stripe.js stand-in at /v3/).

    Yields the EmulatorServer; `stripe_server.emulator` is its Emulator.
    """
    import stripe

    import fakestripe
    from donations import gateway
    from fakestripe.server import EmulatorServer

    emulator = fakestripe.Emulator(webhook_secret=settings.STRIPE_WEBHOOK_SECRET)
    server = EmulatorServer(emulator, host="127.0.0.1", port=0).start()
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_JS_URL = server.url + "/v3/"
    # The page's policy names Stripe's origins, here the emulator's (as settings.py does).
    from config.csp import policies_for

    settings.SECURE_CSP, settings.PERMISSIONS_POLICY = policies_for(settings)
    client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": server.url})
    try:
        with gateway.use_client(client):
            yield server
    finally:
        server.stop()


# --- Stripe webhooks into the app (donations.webhooks) -----------------------------------


@pytest.fixture
def stripe_webhooks(stripe_emulator, django_capture_on_commit_callbacks):
    """The emulator with its webhooks wired to the real endpoint: each event it sends is
    POSTed, signed as Stripe signs it, to /stripe/webhook/ through Django's test client,
    and the work enqueued after commit (processing, announcements) runs at once.

    Yields the emulator; `stripe_webhooks.delivery.duplicate / reverse / hold` and
    `flush_webhooks()` shape the deliveries.
    """
    from django.test import Client

    web = Client()

    def post(payload: bytes, signature: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = web.post(
                "/stripe/webhook/",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
        assert response.status_code == 200, response.content

    stripe_emulator.add_webhook_listener(post)
    yield stripe_emulator
    stripe_emulator.remove_webhook_listener(post)
