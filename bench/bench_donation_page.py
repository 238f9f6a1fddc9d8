"""The donation page's throughput against a bare view returning the same bytes from memory.

    .venv/bin/python -m bench.bench_donation_page

gunicorn (2 sync workers, persistent database connections) serves both on loopback from
the same processes: `/donate/?amount=25&frequency=monthly&source=newsletter` (the real
page: presets from the database, a fresh CSRF token and cookie for each visitor, the query
string applied) and `/bench/bare-page/` (a view returning the page's bytes, captured at the
start, from memory). wrk drives each in alternating rounds at the same concurrency. With
DATABASE_URL (PostgreSQL) and REDIS_URL set, a scratch database `<name>_bench_page` and
Redis as the cache are used; without, SQLite and the file cache in a temporary folder.

Needs wrk (`apt-get install -y wrk`); without it the benchmark says so and exits 1.
Goal (docs/architecture.md): page / bare >= 0.5.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench.harness import ROOT, gunicorn, migrate, production_env, scratch_database

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PAGE = "/donate/?amount=25&frequency=monthly&source=newsletter"
BARE = "/bench/bare-page/"
GOAL = 0.5


def _wrk(port: int, url_path: str, seconds: int) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{min(2, CONCURRENCY)}", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency",
         "--timeout", "10s", f"http://127.0.0.1:{port}{url_path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if not rate or not p99 or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk on {url_path} said:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"rate": float(rate.group(1)), "p99_ms": float(p99.group(1)) * scale}


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install -y wrk")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-page-"))
    env = production_env(
        work,
        DJANGO_SETTINGS_MODULE="bench.donation_page_site",
        BENCH_PAGE_BODY=str(work / "page.html"),
    )
    try:
        with scratch_database("bench_page", work) as database_url:
            env["DATABASE_URL"] = database_url
            migrate(env)
            # The demo's newsletters and preset amounts: a realistic page (~the size staff make).
            subprocess.run(
                [sys.executable, "manage.py", "load_demo"],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            with gunicorn(env) as server:
                return _measure(server.port, database_url, Path(env["BENCH_PAGE_BODY"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(port: int, database_url: str, body_file: Path) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{PAGE}", timeout=10) as response:
        body = response.read()
        assert "csrftoken" in (response.headers.get("Set-Cookie") or ""), "no CSRF cookie"
    body_file.write_bytes(body)
    print(
        f"database: {database_url.split('://')[0]}, cache: {'redis' if os.environ.get('REDIS_URL') else 'file'}, "
        f"gunicorn 2 sync workers, wrk c={CONCURRENCY}, {ROUNDS} x {SECONDS}s a view, page {len(body)} bytes"
    )
    for url_path in (BARE, PAGE):
        _wrk(port, url_path, 2)
    results: dict[str, list[dict]] = {"bare": [], "page": []}
    for round_ in range(ROUNDS):
        for label, url_path in (("bare", BARE), ("page", PAGE)):
            result = _wrk(port, url_path, SECONDS)
            results[label].append(result)
            print(
                f"  {label:5} round {round_ + 1}: {result['rate']:7.0f} req/s, p99 {result['p99_ms']:.2f} ms"
            )
    rate = {k: sum(r["rate"] for r in v) / len(v) for k, v in results.items()}
    ratio = rate["page"] / rate["bare"]
    print(f"bare view (same bytes from memory): {rate['bare']:7.0f} req/s")
    print(f"donation page:                      {rate['page']:7.0f} req/s")
    print(f"ratio {ratio:.2f} (goal >= {GOAL:.2f}): {'ok' if ratio >= GOAL else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
