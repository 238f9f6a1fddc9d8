"""Year-end statements: measured on a sample of donors, extrapolated to 100,000.

    .venv/bin/python -m bench.bench_annual_statements   (DATABASE_URL=postgres://... for PostgreSQL)

A sample of BENCH_DONORS donors (default 1,000) with a realistic mix of giving: 60% one
gift, 15% two to four, 25% monthly (12 gifts). Measured in one run:

1. issuing: `issue_annual_statements(year)` (batches of 500: one lock, a block of
   numbers, bulk inserts);
2. rendering and emailing: the statements split into chunks of 50 and handed to 2
   processes, each running the Celery task's function `render_and_send_statements`
   (what 2 worker processes on 2 cores do), with one renderer per process;
3. baseline: the same statements rendered bare, one process, same renderer.

Extrapolation to 100,000 donors is linear (every step is per donor or per batch):
issue_time * (100000 / sample) + render_and_email_time * (100000 / sample).
Goal (DESIGN.md): under 20 minutes on 2 cores.
"""

from __future__ import annotations

import multiprocessing
import os
import time

from bench.receipts_support import scratch_database, setup_django

DONORS = int(os.environ.get("BENCH_DONORS", "1000"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
TARGET = 100_000


def gifts_each(i: int) -> int:
    bucket = i % 20
    if bucket < 12:
        return 1
    if bucket < 15:
        return 2 + bucket % 3
    return 12


def _work(chunk: list[int]) -> int:
    from django.core import mail

    from receipts.tasks import render_and_send_statements

    mail.outbox = []
    cpu = time.process_time()
    render_and_send_statements(chunk)
    return len(mail.outbox), time.process_time() - cpu


def main() -> None:
    setup_django()
    from django.db import connection, connections

    from receipts import statements
    from receipts.models import Receipt, ReceiptEmail
    from receipts.pdf import renderer

    with scratch_database("bench_statements"):
        from bench.receipts_support import make_donors

        make_donors(DONORS, gifts_each=gifts_each)
        gifts = sum(gifts_each(i) for i in range(DONORS))
        print(
            f"database: {connection.vendor}; sample {DONORS} donors, {gifts} gifts; {PROCESSES} processes render"
        )

        started, cpu = time.perf_counter(), time.process_time()
        run = statements.issue_annual_statements(year=2026, enqueue=False)
        issue_time, issue_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert len(run.issued) == DONORS, run
        again = statements.issue_annual_statements(year=2026, enqueue=False)
        assert again.issued == [], "a second run must issue nothing"

        chunks = [
            run.issued[i : i + statements.RENDER_CHUNK]
            for i in range(0, len(run.issued), statements.RENDER_CHUNK)
        ]
        connections.close_all()  # each process opens its own connection
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
            results = pool.map(_work, chunks, chunksize=1)
        sent = sum(count for count, _ in results)
        render_cpu = sum(cpu for _, cpu in results)
        render_time = time.perf_counter() - started
        assert sent == DONORS, f"{sent} emails for {DONORS} statements"
        assert not Receipt.objects.filter(kind="annual", pdf="").exists()
        assert ReceiptEmail.objects.filter(kind="statement", status="sent").count() == DONORS

        sample = list(
            Receipt.objects.filter(kind="annual").values_list("snapshot", flat=True)[:200]
        )
        renderer().render(sample[0])
        started, cpu = time.perf_counter(), time.process_time()
        for snapshot in sample:
            renderer().render(snapshot)
        bare = (time.perf_counter() - started) / len(sample)
        bare_cpu = (time.process_time() - cpu) / len(sample)
        load = os.getloadavg()[0]

        scale = TARGET / DONORS
        total = issue_time * scale + render_time * scale
        print(f"issue:            {issue_time:7.2f} s  ({DONORS / issue_time:7.0f} statements/s)")
        print(
            f"render + email:   {render_time:7.2f} s  ({DONORS / render_time:7.1f} statements/s on {PROCESSES} processes)"
        )
        print(
            f"bare render:      {1000 * bare:7.1f} ms a statement in one process ({1 / bare:.1f}/s)"
        )
        print(
            f"render+email on {PROCESSES} processes vs bare render on one: {(DONORS / render_time) / (1 / bare):.2f}x"
        )
        print(
            f"extrapolated to {TARGET:,} donors: {total / 60:.1f} min "
            f"(issue {issue_time * scale / 60:.1f} + render/email {render_time * scale / 60:.1f}); goal < 20 min"
        )
        # Wall time is at the mercy of whatever else the machine runs; CPU seconds are not.
        # Both cores fully ours: issuing on one, then rendering on both.
        cpu_total = issue_cpu * scale + render_cpu * scale / PROCESSES
        print(
            f"CPU: issue {1000 * issue_cpu / DONORS:.1f} ms, render+email {1000 * render_cpu / DONORS:.1f} ms, "
            f"bare render {1000 * bare_cpu:.1f} ms a statement; load average during the run {load:.1f}"
        )
        print(
            f"extrapolated from CPU time on {PROCESSES} dedicated cores: {cpu_total / 60:.1f} min for {TARGET:,} donors"
            + ("" if connection.vendor == "sqlite" else " (PostgreSQL server CPU not included)")
        )


if __name__ == "__main__":
    main()
