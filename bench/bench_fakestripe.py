"""The Stripe emulator's throughput over HTTP, so later benchmarks know it is not their
bottleneck.

    .venv/bin/python -m bench.bench_fakestripe

Starts `python -m fakestripe` on a free loopback port in its own process, then drives it
from CLIENTS client processes (keep-alive `requests` sessions) for SECONDS per phase:

- baseline: GET /_emulator/ping, the server's most trivial endpoint (same server, same
  HTTP stack, no Stripe logic);
- create+confirm: POST /v1/payment_intents, then POST /v1/payment_intents/{id}/confirm
  with pm_card_visa (the two calls a one-time gift makes), each pair counted once and
  its two requests counted in requests/s;
- sdk create+confirm: the same pair through the official SDK (stripe.StripeClient), the
  way the app calls it.

Rounds alternate the phases so drift hits all of them. Prints requests/s and the ratio of
create+confirm requests/s to the baseline's, and, for unit tests, the same pair through
the in-process client (no sockets, one thread).
"""

import multiprocessing as mp
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
KEY = "sk_test_bench"


def _ping(url: str, deadline: float) -> int:
    import requests

    session = requests.Session()
    done = 0
    while time.time() < deadline:
        session.get(f"{url}/_emulator/ping").raise_for_status()
        done += 1
    return done


def _create_confirm(url: str, deadline: float) -> int:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {KEY}"
    done = 0
    while time.time() < deadline:
        created = session.post(
            f"{url}/v1/payment_intents", data={"amount": 2500, "currency": "usd"}
        )
        created.raise_for_status()
        pi_id = created.json()["id"]
        confirmed = session.post(
            f"{url}/v1/payment_intents/{pi_id}/confirm", data={"payment_method": "pm_card_visa"}
        )
        confirmed.raise_for_status()
        assert confirmed.json()["status"] == "succeeded"
        done += 1
    return done


def _sdk_create_confirm(url: str, deadline: float) -> int:
    import stripe

    client = stripe.StripeClient(KEY, base_addresses={"api": url})
    done = 0
    while time.time() < deadline:
        pi = client.v1.payment_intents.create(params={"amount": 2500, "currency": "usd"})
        pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
        assert pi.status == "succeeded"
        done += 1
    return done


PHASES = {
    "baseline (GET /_emulator/ping)": (_ping, 1),
    "create+confirm (raw HTTP)": (_create_confirm, 2),
    "create+confirm (stripe SDK)": (_sdk_create_confirm, 2),
}


def _worker(args: tuple[str, str, float]) -> int:
    name, url, deadline = args
    return PHASES[name][0](url, deadline)


def _start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fakestripe", "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    started = time.time()
    while time.time() - started < 20:
        line = process.stderr.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise SystemExit("fakestripe did not start within 20 s")


def _in_process_pairs_per_second() -> float:
    import stripe  # noqa: F401  (imported before timing)

    from fakestripe import Emulator

    client = Emulator().stripe_client(KEY)
    done, start = 0, time.time()
    while time.time() - start < SECONDS:
        pi = client.v1.payment_intents.create(params={"amount": 2500, "currency": "usd"})
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
        done += 1
    return done / (time.time() - start)


def main() -> None:
    server, url = _start_server()
    totals = {name: [0, 0.0] for name in PHASES}  # name -> [operations, seconds]
    try:
        with mp.get_context("spawn").Pool(CLIENTS) as pool:
            pool.map(
                _worker, [("baseline (GET /_emulator/ping)", url, time.time() + 0.5)] * CLIENTS
            )
            for _ in range(ROUNDS):
                for name in PHASES:
                    start = time.time()
                    deadline = start + SECONDS
                    done = sum(pool.map(_worker, [(name, url, deadline)] * CLIENTS))
                    totals[name][0] += done
                    totals[name][1] += time.time() - start
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"fakestripe over HTTP on loopback, {CLIENTS} client processes, {ROUNDS}x{SECONDS:.0f} s per phase"
    )
    rates = {}
    for name, (operations, seconds) in totals.items():
        requests_per_op = PHASES[name][1]
        rate = operations * requests_per_op / seconds
        rates[name] = rate
        pairs = f", {operations / seconds:7.1f} pairs/s" if requests_per_op == 2 else ""
        print(f"  {name:32s} {rate:8.1f} requests/s{pairs}")
    base = rates["baseline (GET /_emulator/ping)"]
    for name in ("create+confirm (raw HTTP)", "create+confirm (stripe SDK)"):
        print(f"  ratio {name} / baseline: {rates[name] / base:.2f}")
    print(f"  in-process SDK client, 1 thread: {_in_process_pairs_per_second():.1f} pairs/s")


if __name__ == "__main__":
    main()
