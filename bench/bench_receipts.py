"""Receipts issued, rendered and emailed per second per worker, against bare rendering.

    .venv/bin/python -m bench.bench_receipts          (DATABASE_URL=postgres://... for PostgreSQL)

One process plays one worker. For each gift it runs the three receipt tasks in turn, as
a worker would (Celery in eager mode, so the broker hop is the only thing left out):
issue (transaction, locked counter, snapshot, hash), render (WeasyPrint, PDF stored
under media), email (claim, MIME message with the PDF attached, sent through Django's
mailer). The baseline renders the very same snapshots with the same renderer and
nothing else. Goal (docs/architecture.md): ratio >= 0.7.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.receipts_support import scratch_database, setup_django

GIFTS = int(os.environ.get("BENCH_RECEIPTS", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def main() -> None:
    setup_django()
    from django.core import mail
    from django.db import connection

    from config.celery import app
    from donations.models import Donation
    from receipts import services
    from receipts.models import Receipt
    from receipts.pdf import renderer

    app.conf.task_always_eager = True
    with scratch_database("bench_receipts"):
        from bench.receipts_support import make_donors

        make_donors(GIFTS * ROUNDS + 20)
        ids = list(Donation.objects.order_by("pk").values_list("pk", flat=True))
        warm, batches = (
            ids[:20],
            [ids[20 + r * GIFTS : 20 + (r + 1) * GIFTS] for r in range(ROUNDS)],
        )
        for donation_id in warm:  # first-use costs (fonts, templates, connection) out of the timing
            services.issue_gift_receipt(donation_id=donation_id)
        print(f"database: {connection.vendor}; {GIFTS} gifts a round, {ROUNDS} rounds, one process")

        # Interleaved gift by gift (pipeline for one, then the bare render of the same
        # snapshot), so load from other processes on the machine falls on both alike.
        pipeline_rates, bare_rates = [], []
        for batch in batches:
            mail.outbox = []
            pipeline = bare = pipeline_cpu = bare_cpu = 0.0
            for donation_id in batch:
                started, cpu = time.perf_counter(), time.process_time()
                receipt = services.issue_gift_receipt(donation_id=donation_id)
                middle, middle_cpu = time.perf_counter(), time.process_time()
                renderer().render(receipt.snapshot)
                pipeline += middle - started
                bare += time.perf_counter() - middle
                pipeline_cpu += middle_cpu - cpu
                bare_cpu += time.process_time() - middle_cpu
            assert len(mail.outbox) == len(batch), "every receipt must be emailed"
            assert not Receipt.objects.filter(donation_id__in=batch, pdf="").exists()
            pipeline_rates.append(len(batch) / pipeline)
            bare_rates.append(len(batch) / bare)
            print(
                f"  round: issued+rendered+emailed {len(batch) / pipeline:6.1f}/s "
                f"({1000 * pipeline / len(batch):5.1f} ms each); bare render {len(batch) / bare:6.1f}/s "
                f"({1000 * bare / len(batch):5.1f} ms each); ratio {bare / pipeline:.2f}; "
                f"CPU ratio {bare_cpu / pipeline_cpu:.2f} ({1000 * pipeline_cpu / len(batch):.1f} vs "
                f"{1000 * bare_cpu / len(batch):.1f} ms); load {os.getloadavg()[0]:.1f}"
            )
        pipeline_rate, bare_rate = statistics.median(pipeline_rates), statistics.median(bare_rates)
        print(
            f"median: pipeline {pipeline_rate:.1f} receipts/s/worker, bare rendering {bare_rate:.1f} pages/s; "
            f"ratio {pipeline_rate / bare_rate:.2f} (goal >= 0.7)"
        )


if __name__ == "__main__":
    main()
