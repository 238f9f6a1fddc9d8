"""The web server's request timeout and the Stripe budget that must fit inside it, defined
once: config.settings and gunicorn.conf.py both read them from here."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_int

DEFAULT_WEB_TIMEOUT_SECONDS = 30  # gunicorn's own default


def web_timeout_seconds() -> int:
    """Seconds gunicorn lets a sync worker spend on one request before killing it."""
    seconds = env_int("WEB_TIMEOUT_SECONDS", DEFAULT_WEB_TIMEOUT_SECONDS)
    if seconds < 3:
        raise ImproperlyConfigured(f"WEB_TIMEOUT_SECONDS must be at least 3; got {seconds}.")
    return seconds


def stripe_web_budget_seconds(web_timeout: int) -> float:
    """What one web request may spend on Stripe calls, all tries together: two thirds of the
    web timeout. The last third is for the rest of the request (the database, marking a
    gift Stripe did not answer for, rendering the answer) and leaves room to spare."""
    return web_timeout * 2 / 3
