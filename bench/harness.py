"""What the HTTP benchmarks share: a production-like environment, a scratch database, and
gunicorn on a free loopback port with its workers' CPU and memory readable from /proc."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_env(work: Path, **overrides: str) -> dict[str, str]:
    """DEBUG off (as served in production) with throwaway secrets, state under `work`."""
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_hex(24),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "PLEDGE_VAR_DIR": str(work / "var"),
        "CELERY_FILESYSTEM_DIR": str(work / "queue"),
        "CACHE_DIR": str(work / "cache"),
        "LOG_LEVEL": "ERROR",
        **overrides,
    }


@contextlib.contextmanager
def scratch_database(suffix: str, work: Path, *, postgres_only: bool = False) -> Iterator[str]:
    """A fresh database for one run, dropped afterwards: `<name>_<suffix>` on the PostgreSQL
    server DATABASE_URL names, else a SQLite file under `work`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        if postgres_only:
            raise SystemExit(f"DATABASE_URL must name a PostgreSQL server for bench {suffix}.")
        yield f"sqlite:///{work / 'bench.sqlite3'}"
        return
    import psycopg

    base, _, name = url.rpartition("/")
    scratch = f"{name.split('?')[0] or 'pledge'}_{suffix}"
    admin_url = f"{base}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        yield f"{base}/{scratch}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return [pid for pid, parent in _processes() if parent == self.pid]

    def cpu_seconds(self) -> float:
        """User + system CPU its workers have used so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    app: str = "config.wsgi:application",
    workers: int = 2,
    extra: tuple[str, ...] = (),
) -> Iterator[Gunicorn]:
    """gunicorn with sync workers on a free loopback port, ready to answer, stopped after."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"fd://{sock.fileno()}", "--log-level", "error", "--backlog", "1024", *extra],
        cwd=ROOT, env=env, pass_fds=[sock.fileno()],
    )  # fmt: skip
    sock.close()
    try:
        _wait_ready(port)
        server = Gunicorn(port=port, process=process)
        deadline = time.monotonic() + 10
        while len(server.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def vm(key: str, pid: int | str = "self") -> int:
    """A /proc/<pid>/status figure in kB (VmHWM: the peak resident set; VmRSS: now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _processes() -> Iterator[tuple[int, int]]:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            yield int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Until gunicorn listens, connecting fails: try again shortly.
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1) as conn,
        ):
            conn.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            if conn.recv(64).startswith(b"HTTP/1"):
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")
