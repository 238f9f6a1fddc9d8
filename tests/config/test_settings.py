"""Settings come from the environment; production refuses to start without its secrets."""

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-with-enough-entropy-1234567890!@#$%",
    "ALLOWED_HOSTS": "give.example.org",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "DONATION_CHALLENGE_HOOK": "donations.turnstile.passes",
    "TURNSTILE_SITE_KEY": "0x4AAAAAAA-site",
    "TURNSTILE_SECRET_KEY": "0x4AAAAAAA-secret",
}


def run_manage(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess:
    dropped = {*PRODUCTION_ENV, "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**base, **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "ALLOWED_HOSTS"]
)
def test_production_start_up_names_a_missing_secret(missing):
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", environ=environ)
    assert result.returncode != 0
    assert f"Set the environment variable {missing}" in result.stderr


def test_check_deploy_passes_with_production_values(tmp_path):
    # check --deploy also wants this release's static files collected (pledge.E001).
    environ = {**PRODUCTION_ENV, "PLEDGE_VAR_DIR": str(tmp_path / "var")}
    collected = run_manage("collectstatic", "--noinput", "-v0", environ=environ)
    assert collected.returncode == 0, collected.stderr
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", environ=environ)
    assert result.returncode == 0, result.stderr


def test_turnstile_as_the_hook_needs_its_keys_in_production():
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != "TURNSTILE_SECRET_KEY"}
    result = run_manage("check", environ=environ)
    assert result.returncode != 0 and "TURNSTILE_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(("name", "value"), [("ORG_CURRENCY", "dollars"), ("ORG_LOCALE", "xx_YY")])
def test_a_bad_currency_or_locale_stops_start_up(name, value):
    result = run_manage("check", environ={"DEBUG": "1", name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_a_bad_boolean_names_its_variable(monkeypatch):
    monkeypatch.setenv("SMTP_TLS", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SMTP_TLS"):
        env.env_bool("SMTP_TLS")


def test_a_bad_number_names_its_variable(monkeypatch):
    monkeypatch.setenv("CONN_MAX_AGE", "sixty")
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE"):
        env.env_int("CONN_MAX_AGE", 60)


def test_a_secret_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("STRIPE_SECRET_KEY_FILE", str(secret))
    assert env.env_str("STRIPE_SECRET_KEY") == "from-a-file"


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example.org, b.example.org,")
    assert env.env_list("ALLOWED_HOSTS") == ["a.example.org", "b.example.org"]


def test_production_responses_carry_the_security_headers():
    """The headers a production page is served with, CSP included (as `check --deploy`
    does, from a process with the production environment)."""
    code = (
        "import json; from django.test import Client; "
        "r = Client().get('/healthz', secure=True, HTTP_HOST='give.example.org'); "
        "print(json.dumps({'status': r.status_code, **dict(r.headers)}))"
    )
    result = run_manage("shell", "-c", code, environ=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    assert headers["status"] in (200, 503)  # no broker needed to see the headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # Stripe's origins, and Cloudflare's for the Turnstile challenge this environment names.
    stripe_js = "https://js.stripe.com https://*.js.stripe.com"
    assert f"script-src 'self' {stripe_js} https://challenges.cloudflare.com;" in csp
    assert (
        f"frame-src {stripe_js} https://hooks.stripe.com https://challenges.cloudflare.com" in csp
    )
    assert "connect-src 'self' https://api.stripe.com" in csp
    assert "'unsafe-inline'" not in csp
    assert headers["Permissions-Policy"].startswith('payment=(self "https://js.stripe.com")')
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


SQLITE_PRAGMAS = (
    "import json; from django.db import connection; connection.ensure_connection();"
    "c = connection.connection;"
    "print(json.dumps([connection.settings_dict['OPTIONS'].get('transaction_mode'),"
    " c.execute('PRAGMA journal_mode').fetchone()[0],"
    " c.execute('PRAGMA synchronous').fetchone()[0],"
    " c.execute('PRAGMA busy_timeout').fetchone()[0]]))"
)


@pytest.mark.parametrize("from_url", [False, True], ids=["embedded default", "DATABASE_URL"])
def test_every_sqlite_database_takes_concurrent_writers(tmp_path, from_url):
    """WAL, synchronous=NORMAL (1), a 20 s busy timeout and IMMEDIATE transactions, on
    the embedded default and on a DATABASE_URL=sqlite:/// alike."""
    environ = {"DEBUG": "1", "PLEDGE_VAR_DIR": str(tmp_path / "var")}
    if from_url:
        environ["DATABASE_URL"] = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    result = run_manage("shell", "-c", SQLITE_PRAGMAS, environ=environ)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '["IMMEDIATE", "wal", 1, 20000]'
