"""A separate process that issues receipts, for the concurrency tests.

    python -m tests.receipts.issuer issue START_FILE ID,ID,...   wait for START_FILE, then issue
    python -m tests.receipts.issuer hang MARKER_FILE ID          take a number, then hang (to be killed)

The database comes from DATABASE_URL (the test's database). Rendering and email are
kept off the broker: these processes test numbering, not delivery.
"""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from receipts import services, tasks  # noqa: E402

tasks.render_receipt.delay = lambda *args, **kwargs: None
tasks.send_receipt_email.delay = lambda *args, **kwargs: None


def issue(start_file: str, ids: list[int]) -> None:
    while not os.path.exists(start_file):
        time.sleep(0.005)
    for donation_id in ids:
        services.issue_gift_receipt(donation_id=donation_id)


def hang(marker: str, donation_id: int) -> None:
    original = services.gift_snapshot

    def snapshot_then_hang(**kwargs):
        snapshot = original(**kwargs)
        with open(marker, "w") as out:  # the number is taken, the transaction still open
            out.write(snapshot["number"])
        time.sleep(600)
        return snapshot

    services.gift_snapshot = snapshot_then_hang
    services.issue_gift_receipt(donation_id=donation_id)


if __name__ == "__main__":
    mode, path, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
    if mode == "issue":
        issue(path, ids)
    else:
        hang(path, ids[0])
