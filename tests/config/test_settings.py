"""Settings come from the environment; production refuses to start without its secrets."""

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


def test_check_deploy_passes_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", environ=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


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
