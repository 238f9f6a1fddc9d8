"""A release goes out as the README says: `manage.py deploy`, then gunicorn; and
`check --deploy` refuses a release whose static files were not collected."""

import contextlib
import http.client
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests import celery_worker

ROOT = Path(__file__).resolve().parents[2]
HOST = "give.example.org"
MANIFEST_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


# --- The deployment check --------------------------------------------------------------


@pytest.fixture
def manifest_storage(db, settings, tmp_path):
    """Production's kind of storage (hashed names from a manifest) on a small source folder
    and an empty STATIC_ROOT, both under tmp_path. (`check` asks the database whether it
    supports JSON fields, hence `db`.)"""
    source = tmp_path / "source"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { margin: 0 }\n")
    settings.STATICFILES_DIRS = [source]
    settings.STATIC_ROOT = tmp_path / "static_root"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    return source


def check_deploy() -> None:
    # Only the static files' checks: the test settings (DEBUG, in-memory mail) fail others.
    call_command("check", "--deploy", "--tag", "staticfiles")


def test_check_deploy_stops_a_release_whose_static_files_are_not_collected(manifest_storage):
    with pytest.raises(SystemCheckError, match=r"pledge\.E001.*not collected into STATIC_ROOT"):
        check_deploy()


def test_check_deploy_passes_once_collectstatic_has_run(manifest_storage, capsys):
    call_command("collectstatic", interactive=False, verbosity=0)
    check_deploy()
    assert "pledge.E001" not in capsys.readouterr().err


def test_check_deploy_names_a_file_added_since_the_last_collectstatic(manifest_storage):
    call_command("collectstatic", interactive=False, verbosity=0)
    (manifest_storage / "js").mkdir()
    (manifest_storage / "js" / "new.js").write_text("// a new release's script\n")
    with pytest.raises(SystemCheckError, match=r"1 static file\(s\).*'js/new\.js'"):
        check_deploy()


def test_the_check_is_silent_where_static_files_are_served_from_the_source(settings):
    # Development storage reads files where they are: nothing to collect.
    from config.checks import static_files_collected

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    assert static_files_collected() == []


# --- The README's production start, followed literally ---------------------------------


def readme_production_commands() -> list[list[str]]:
    """The commands of the README's production block (the ```sh block that runs
    `manage.py deploy`), one argument list a line, comments dropped."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    [block] = [b for b in blocks if "manage.py deploy" in b]
    return [words for line in block.splitlines() if (words := shlex.split(line, comments=True))]


def production_environment(var_dir: Path) -> dict[str, str]:
    """What the README's configuration table asks production to set, with test values; the
    test's own database, and every file Pledge writes (STATIC_ROOT included) under var_dir."""
    dropped = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "CELERY_FILESYSTEM_DIR", "CACHE_DIR"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    # What `. .venv/bin/activate` does: the environment's commands come first on PATH.
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=venv_bin + os.pathsep + env.get("PATH", ""),
        VIRTUAL_ENV=str(Path(venv_bin).parent),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        SITE_URL=f"https://{HOST}",
        STRIPE_SECRET_KEY="sk_test_deploy",
        STRIPE_PUBLISHABLE_KEY="pk_test_deploy",
        STRIPE_WEBHOOK_SECRET="whsec_deploy",
        DATABASE_URL=celery_worker.test_database_url(),
        # The test flushes the database afterwards; no connection may outlive a request.
        CONN_MAX_AGE="0",
        PLEDGE_VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
    )
    return env


@contextlib.contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[int]:
    """Start the README's gunicorn line on a socket we opened (so no other process can take
    the port in between); GUNICORN_CMD_ARGS adds only the binding, not a word of the line."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {**env, "GUNICORN_CMD_ARGS": f"--bind fd://{sock.fileno()} --no-control-socket"}
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            pass_fds=[sock.fileno()],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    sock.close()
    try:
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": HOST, **headers})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def through_the_proxy(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """As the README's proxy forwards a request that reached it over HTTPS."""
    return get(port, path, **{"X-Forwarded-Proto": "https"})


def wait_until_serving(port: int, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            get(port, "/healthz")
            return
        time.sleep(0.2)
    pytest.fail("gunicorn did not answer within a minute:\n" + log.read_text())


@pytest.mark.slow
def test_the_readme_production_steps_serve_pages(transactional_db, tmp_path):
    commands = readme_production_commands()
    programs = [words[0] for words in commands]
    assert "gunicorn" in programs and ["python", "manage.py", "deploy"] in commands, commands
    env = production_environment(tmp_path / "var")

    # The release steps (`python manage.py ...`), in the README's order; the environment is
    # the one this test runs in (what `make venv` builds), the Celery processes are not
    # needed to serve pages.
    for words in commands:
        if words[0] == "python":
            result = subprocess.run(
                words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
            )
            assert result.returncode == 0, f"{shlex.join(words)}:\n{result.stdout}{result.stderr}"
    assert (tmp_path / "var" / "staticfiles" / "staticfiles.json").exists()

    [web] = [words for words in commands if words[0] == "gunicorn"]
    log = tmp_path / "gunicorn.log"
    with started(web, env, log) as port:
        wait_until_serving(port, log)
        for path in ("/", "/donate/", "/admin/login/"):
            status, _, body = through_the_proxy(port, path)
            assert status == 200, f"{path}: {status}\n{body[:2000]!r}\n{log.read_text()}"

        # The pages link the collected, hashed stylesheet, and whitenoise serves it.
        _, _, home = through_the_proxy(port, "/")
        stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home)
        assert stylesheet, home[:2000]
        status, headers, _ = through_the_proxy(port, stylesheet.group(1).decode())
        assert status == 200
        assert "immutable" in headers.get("Cache-Control", "")

        # Production settings are in force: plain HTTP is sent to HTTPS.
        status, headers, _ = get(port, "/donate/")
        assert (status, headers.get("Location")) == (301, f"https://{HOST}/donate/")
