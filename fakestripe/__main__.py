"""`python -m fakestripe --port 12111 [--webhook-url URL] [--webhook-secret whsec_...]`."""

import argparse
import contextlib
import logging
import threading
import time

from fakestripe.emulator import Emulator
from fakestripe.server import EmulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakestripe", description="Stripe emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=[],
        help="deliver signed webhooks here (repeatable)",
    )
    parser.add_argument("--webhook-secret", default="whsec_emulator")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fakestripe %(message)s")

    emulator = Emulator(webhook_secret=args.webhook_secret)
    for url in args.webhook_url:
        emulator.add_webhook_endpoint(url)
    server = EmulatorServer(emulator, host=args.host, port=args.port, verbose=args.verbose)

    def ticker() -> None:
        # Timers that fall due in wall time (an incomplete subscription expiring, a payout
        # arriving) fire even when nobody moves the clock.
        while True:
            time.sleep(1)
            emulator.tick()

    threading.Thread(target=ticker, daemon=True, name="fakestripe-ticker").start()
    logging.info("listening on %s (Stripe.js stand-in at %s/v3/)", server.url, server.url)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
