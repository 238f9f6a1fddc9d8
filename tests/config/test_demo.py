"""The demo content loads, and loads again without duplicating anything."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from members.models import Newsletter, Tier


@pytest.mark.django_db
def test_load_demo_prints_a_working_staff_password(capsys):
    call_command("load_demo")
    password = capsys.readouterr().out.split("password '")[1].split("'")[0]
    user = authenticate(username="staff", password=password)
    assert user is not None and user.is_staff
    assert user.has_perm("receipts.export_receipts")


@pytest.mark.django_db
def test_load_demo_twice_duplicates_nothing(capsys):
    call_command("load_demo")
    call_command("load_demo")
    assert Newsletter.objects.count() == 3
    assert Tier.objects.count() == 3
    assert Newsletter.objects.filter(offered_on_form=True).count() == 2


@pytest.mark.django_db
def test_load_demo_offers_presets_with_one_suggested_per_frequency(capsys):
    from donations.models import DonationPreset

    call_command("load_demo")
    for frequency in ("one_time", "monthly", "annual"):
        presets = DonationPreset.objects.filter(frequency=frequency)
        assert presets.count() == 4
        assert presets.filter(suggested=True).count() == 1


# --- Each `make demo` starts afresh (config.demo.start_afresh) ---------------------------


def start_afresh(var, **environ: str) -> list[str]:
    """config.demo.start_afresh in its own process, as `make demo` runs it: the settings it
    reads are built from that environment, not this test run's."""
    import json
    import os
    import subprocess
    import sys

    dropped = {"DATABASE_URL", "REDIS_URL", "CELERY_FILESYSTEM_DIR", "STRIPE_SECRET_KEY"}
    base = {key: value for key, value in os.environ.items() if key not in dropped}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, os; from config.demo import start_afresh;"
            "print(json.dumps(start_afresh(dict(os.environ))))",
        ],
        env={**base, "DEBUG": "1", "PLEDGE_VAR_DIR": str(var), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def last_run(var) -> dict:
    """What a stopped demo leaves under var/: its database (with WAL), a queued task and
    a receipt email."""
    files = {
        "database": var / "pledge.sqlite3",
        "wal": var / "pledge.sqlite3-wal",
        "queued task": var / "celery" / "queue" / "0001.msg",
        "email": var / "mail" / "receipt.log",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("from the last run")
    return files


def test_the_demo_on_the_emulator_empties_its_database_and_queue_and_sets_mail_aside(tmp_path):
    var = tmp_path / "var"
    files = last_run(var)
    done = start_afresh(var)
    assert not files["database"].exists() and not files["wal"].exists()
    assert not files["queued task"].exists() and files["queued task"].parent.is_dir()
    assert not list((var / "mail").glob("*"))
    assert (var / "mail.previous" / "receipt.log").read_text() == "from the last run"
    assert [line.split()[0:3] for line in done] == [
        ["emptied", "the", "SQLite"],
        ["emptied", "the", "Celery"],
        ["moved", "the", "last"],
    ]


def test_a_database_named_by_database_url_is_never_emptied(tmp_path):
    var = tmp_path / "var"
    files = last_run(var)
    done = start_afresh(var, DATABASE_URL=f"sqlite:///{files['database']}")
    assert files["database"].read_text() == "from the last run"
    assert done[0].startswith("kept the database at DATABASE_URL")


def test_with_real_stripe_keys_nothing_is_reset(tmp_path):
    var = tmp_path / "var"
    files = last_run(var)
    assert start_afresh(var, STRIPE_SECRET_KEY="sk_test_real") == []
    assert all(path.read_text() == "from the last run" for path in files.values())


def test_a_demo_still_running_is_left_alone(tmp_path):
    """Its ports answer: the new one says so and resets nothing under the running one."""
    import os
    import socket
    import subprocess
    import sys

    var = tmp_path / "var"
    files = last_run(var)
    with socket.socket() as running_demo:
        running_demo.bind(("127.0.0.1", 0))
        running_demo.listen()
        port = running_demo.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "config.demo"],
            env={**os.environ, "DEBUG": "1", "PLEDGE_VAR_DIR": str(var), "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Port {port} is in use" in result.stdout
    assert all(path.read_text() == "from the last run" for path in files.values())
