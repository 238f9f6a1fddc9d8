"""Webhook intake throughput and p99 latency against a bare signature-check-and-INSERT view.

    .venv/bin/python -m bench.bench_webhook_intake

gunicorn (2 sync workers, persistent database connections) serves both views on loopback
from the same process; wrk drives them at the same concurrency with unique, freshly and
properly signed Stripe events (a ~1.5 KB payment_intent.succeeded). Rounds alternate
bare / intake so drift hits both. With DATABASE_URL (PostgreSQL) and REDIS_URL set, a
scratch database `<name>_bench_webhook` and a scratch Redis queue are used and removed;
without, SQLite and kombu's filesystem broker in a temporary folder. No worker consumes
the queue: only the intake's publish is measured.

Goals (docs/architecture.md): throughput ratio >= 0.7, p99 ratio <= 1.5.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import gunicorn, migrate, production_env, scratch_database

SECRET = "whsec_bench_webhook_intake"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# Enough signed events that no request repeats one (a repeat would be a cheap duplicate).
EVENTS_PER_SECOND_CEILING = 5000

LUA = r"""
-- setup() runs in the main Lua state: the counter gives each thread its own slice.
local tid_counter = 0
function setup(thread)
  thread:set("tid", tid_counter)
  tid_counter = tid_counter + 1
end
local lines = {}
local n = 0
local i = 0
function init(args)
  local k = 0
  for line in io.lines("__FILE__") do
    if k % __THREADS__ == tid then
      local tab = string.find(line, "\t", 1, true)
      n = n + 1
      lines[n] = {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)}
    end
    k = k + 1
  end
end
function request()
  i = i + 1
  if i > n then i = 1 end
  local item = lines[i]
  return wrk.format("POST", "__PATH__", {["Content-Type"] = "application/json", ["Stripe-Signature"] = item[1]}, item[2])
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def _event(n: int) -> bytes:
    pi = "pi_" + secrets.token_hex(12)
    obj = {
        "id": pi,
        "object": "payment_intent",
        "amount": 2500,
        "amount_received": 2500,
        "capture_method": "automatic",
        "client_secret": f"{pi}_secret_{secrets.token_hex(12)}",
        "confirmation_method": "automatic",
        "created": int(time.time()),
        "currency": "usd",
        "customer": "cus_" + secrets.token_hex(7),
        "description": "One-time gift",
        "latest_charge": "ch_" + secrets.token_hex(12),
        "livemode": False,
        "metadata": {"donation_id": "0b9a3c59-6f0e-4f7c-9d1f-5b8f3a2e9c41"},
        "payment_method": "pm_" + secrets.token_hex(12),
        "payment_method_types": ["card"],
        "status": "succeeded",
        "amount_details": {"tip": {}},
        "automatic_payment_methods": {"enabled": True},
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
    }
    event = {
        "id": f"evt_bench{n:08d}{secrets.token_hex(6)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_" + secrets.token_hex(7), "idempotency_key": secrets.token_hex(16)},
        "type": "payment_intent.succeeded",
    }
    return json.dumps(event, separators=(",", ":")).encode()


def _signed_lines(path: Path, count: int) -> None:
    now = int(time.time())
    with path.open("wb") as out:
        for n in range(count):
            body = _event(n)
            digest = hmac.new(
                SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256
            ).hexdigest()
            out.write(f"t={now},v1={digest}\t".encode() + body + b"\n")


def _wrk(port: int, url_path: str, work: Path, label: str, seconds: int) -> dict:
    threads = min(2, CONCURRENCY)
    lines = work / f"{label}.txt"
    _signed_lines(lines, EVENTS_PER_SECOND_CEILING * seconds)
    script = work / f"{label}.lua"
    script.write_text(
        LUA.replace("__FILE__", str(lines))
        .replace("__PATH__", url_path)
        .replace("__THREADS__", str(threads))
    )
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{CONCURRENCY}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{url_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines.unlink()
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not match:
        raise RuntimeError("wrk said:\n" + out)
    requests, duration_us, errors, p50, p99, worst = map(int, match.groups())
    if errors:
        raise RuntimeError(f"{label}: {errors} failed requests:\n{out}")
    return {
        "requests": requests,
        "seconds": duration_us / 1e6,
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is required (apt-get install wrk)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    queue = f"bench_webhook_{os.getpid()}"
    env = production_env(
        work,
        STRIPE_WEBHOOK_SECRET=SECRET,
        CELERY_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="bench.webhook_site",
    )
    redis_url = os.environ.get("REDIS_URL", "")
    try:
        with scratch_database("bench_webhook", work) as database_url:
            env["DATABASE_URL"] = database_url
            migrate(env)
            with gunicorn(env) as server:
                print(
                    f"database: {database_url.split('://')[0]}, broker: {'redis' if redis_url else 'filesystem'}, "
                    f"gunicorn 2 sync workers, wrk c={CONCURRENCY}, {ROUNDS} x {SECONDS}s a view"
                )
                _report(_rounds(server, work))
        return 0
    finally:
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).delete(queue)
        shutil.rmtree(work, ignore_errors=True)


def _rounds(server, work: Path) -> dict[str, list[dict]]:
    views = (("bare", "/bench/bare-webhook/"), ("intake", "/stripe/webhook/"))
    for label, url_path in views:
        _wrk(server.port, url_path, work, f"warm-{label}", 2)
    totals: dict[str, list[dict]] = {"bare": [], "intake": []}
    for round_ in range(ROUNDS):
        for label, url_path in views:
            cpu_before = server.cpu_seconds()
            result = _wrk(server.port, url_path, work, f"{label}-{round_}", SECONDS)
            result["cpu_ms"] = (server.cpu_seconds() - cpu_before) * 1000 / result["requests"]
            totals[label].append(result)
            print(
                f"  {label:6} round {round_ + 1}: {result['requests'] / result['seconds']:7.0f} req/s, "
                f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                f"gunicorn CPU {result['cpu_ms']:.3f} ms/request"
            )
    return totals


def _report(totals: dict[str, list[dict]]) -> None:
    # Rounds are paired (bare, then intake, back to back): the median of the per-round
    # ratios resists the other load of a shared machine, which a sum does not.
    pairs = list(zip(totals["bare"], totals["intake"], strict=True))
    throughput = statistics.median(
        (i["requests"] / i["seconds"]) / (b["requests"] / b["seconds"]) for b, i in pairs
    )
    p99 = statistics.median(i["p99_ms"] / b["p99_ms"] for b, i in pairs)
    # CPU time the gunicorn workers spent per request: independent of what else runs.
    cpu = statistics.median(b["cpu_ms"] / i["cpu_ms"] for b, i in pairs)
    for label in ("bare", "intake"):
        runs = totals[label]
        print(
            f"{label:6} median: {statistics.median(r['requests'] / r['seconds'] for r in runs):7.0f} req/s, "
            f"p99 {statistics.median(r['p99_ms'] for r in runs):.2f} ms, "
            f"CPU {statistics.median(r['cpu_ms'] for r in runs):.3f} ms/request"
        )
    print(
        f"throughput ratio        {throughput:.2f} (goal >= 0.70): {'ok' if throughput >= 0.7 else 'MISSED'}"
    )
    print(f"p99 latency ratio       {p99:.2f} (goal <= 1.50): {'ok' if p99 <= 1.5 else 'MISSED'}")
    print(
        f"CPU-per-request ratio   {cpu:.2f} (bare / intake, the throughput ratio on an idle machine)"
    )


if __name__ == "__main__":
    sys.exit(main())
