"""`make demo`: migrate, load demo content, then run the whole system on embedded defaults.

Starts the Stripe emulator, gunicorn, a Celery worker and beat (kombu's filesystem broker,
no Redis needed), prints where to go, and stops everything it started on Ctrl-C.
Set DATABASE_URL, REDIS_URL or real Stripe keys and the same command runs on them.

Each start is a fresh one. The emulator keeps its state in memory only, so after a
restart it knows no customer or subscription; a database that still held last run's gifts
would point at nothing ("No such subscription" on every recurring gift). So, when the
emulator runs, the demo empties its own SQLite database and filesystem queue first, and
moves the last run's emails aside, and the four start out agreeing.
"""

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WEB_PORT = int(os.environ.get("PORT", "8000"))
STRIPE_PORT = int(os.environ.get("FAKESTRIPE_PORT", "12111"))


def demo_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{WEB_PORT}")
    if "STRIPE_SECRET_KEY" not in env:
        # No real keys: talk to the project's emulator, which also serves Stripe.js.
        emulator = f"http://127.0.0.1:{STRIPE_PORT}"
        env.update(STRIPE_API_BASE=emulator, STRIPE_JS_URL=f"{emulator}/v3/")
    return env


def start_afresh(env: dict[str, str]) -> list[str]:
    """Reset the state that must agree with an emulator that starts empty; returns what
    it did, one line each, for the banner. A database or broker the caller named
    (DATABASE_URL, REDIS_URL) is theirs and left alone; with real Stripe keys there is
    no emulator and nothing is reset."""
    if "STRIPE_SECRET_KEY" in env:
        return []
    settings = _settings_for(env)
    done: list[str] = []
    database = settings.DATABASES["default"]
    if "DATABASE_URL" not in env:
        database_file = Path(database["NAME"])
        # The WAL and its index go with it, or SQLite would replay last run's commits.
        for path in (database_file, *(Path(f"{database_file}{end}") for end in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
        done.append(f"emptied the SQLite database {database_file}")
    else:
        done.append(
            "kept the database at DATABASE_URL: gifts made against an earlier emulator "
            "will not be found at this one"
        )
    if not env.get("REDIS_URL"):
        queue = settings.CELERY_FILESYSTEM_DIR
        for folder in (queue, queue.parent / "control"):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
        done.append(f"emptied the Celery queue {queue}")
    mail = settings.VAR_DIR / "mail"
    if mail.is_dir() and any(mail.iterdir()):
        previous = mail.with_name("mail.previous")
        shutil.rmtree(previous, ignore_errors=True)
        mail.rename(previous)
        done.append(f"moved the last run's emails to {previous}")
    return done


def _settings_for(env: dict[str, str]):
    """The settings module as the demo's processes will build it (one source of truth
    for where the database, queue and mail live)."""
    os.environ.update(env)
    return importlib.import_module("config.settings")


def run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, check=True)


def wait_for(url: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status < 500
        except OSError:
            time.sleep(0.3)
    return False


def ports_in_use(env: dict[str, str]) -> list[int]:
    ports = [WEB_PORT] + ([] if "STRIPE_SECRET_KEY" in env else [STRIPE_PORT])
    busy = []
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


def main() -> int:
    env = demo_environment()
    busy = ports_in_use(env)
    if busy:
        # Most likely a demo still running: resetting its database under it would break it.
        print(
            f"Port {', '.join(map(str, busy))} is in use (is a demo still running?). "
            "Stop it, or set PORT and FAKESTRIPE_PORT.",
            flush=True,
        )
        return 1
    reset = start_afresh(env)
    if reset:
        print(
            "Starting afresh: the Stripe emulator keeps nothing between runs, so the demo\n"
            "resets its own state to match it:\n" + "".join(f"  - {line}\n" for line in reset),
            flush=True,
        )
    run(["manage.py", "migrate", "--no-input", "-v", "0"], env)
    run(["manage.py", "load_demo"], env)

    site = env["SITE_URL"]
    commands: list[tuple[str, list[str]]] = []
    if "STRIPE_SECRET_KEY" not in os.environ:
        commands.append(
            (
                "stripe emulator",
                [
                    "-m",
                    "fakestripe",
                    "--port",
                    str(STRIPE_PORT),
                    "--webhook-url",
                    f"{site}/stripe/webhook/",
                    "--webhook-secret",
                    env.get("STRIPE_WEBHOOK_SECRET", "whsec_emulator"),
                ],
            )
        )
    commands += [
        (
            "web",
            [
                "-m",
                "gunicorn",
                "config.wsgi",
                # Its timeout is WEB_TIMEOUT_SECONDS, which the Stripe budget is derived from.
                "--config",
                str(BASE_DIR / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{WEB_PORT}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
        ),
        (
            "worker",
            [
                "-m",
                "celery",
                "-A",
                "config.celery:app",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
        ),
        ("beat", ["-m", "celery", "-A", "config.celery:app", "beat", "--loglevel", "INFO"]),
    ]
    processes = []
    for name, args in commands:
        print(f"starting {name}: python {' '.join(args)}", flush=True)
        processes.append((name, subprocess.Popen([sys.executable, *args], cwd=BASE_DIR, env=env)))

    def stop(*_args) -> None:
        for _name, process in processes:
            if process.poll() is None:
                process.terminate()
        for _name, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        healthy = wait_for(f"{site}/healthz")
        print(
            f"\nPledge is running{'' if healthy else ' (but /healthz is not answering yet)'}:\n"
            f"  donation form   {site}/donate/\n"
            f"  staff admin     {site}/admin/   (username and password printed above)\n"
            f"  health          {site}/healthz\n"
            f"  emails          {Path(env.get('PLEDGE_VAR_DIR', BASE_DIR / 'var')) / 'mail'}\n"
            "Test card: 4242 4242 4242 4242, any future expiry, any CVC.\n"
            f"Ctrl-C stops everything{'; the next `make demo` starts afresh' if reset else ''}.\n",
            flush=True,
        )
        while all(process.poll() is None for _name, process in processes):
            time.sleep(0.5)
        for name, process in processes:
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping the rest.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
