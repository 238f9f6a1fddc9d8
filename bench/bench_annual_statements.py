"""Year-end statements: measured on a sample of donors, extrapolated to 100,000.

    .venv/bin/python -m bench.bench_annual_statements   (DATABASE_URL=postgres://... for PostgreSQL)

A sample of BENCH_DONORS donors (default 1,000) with a realistic mix of giving: 60% one
gift, 15% two to four, 25% monthly (12 gifts). Measured in one run:

1. issuing: `issue_annual_statements(year)` (batches of 500: one lock, a block of
   numbers, bulk inserts);
2. rendering and emailing, once with each statement renderer (ReportLab, the default,
   then WeasyPrint, after putting every statement back to unrendered and unsent): the
   statements split into chunks of 50 and handed to 2 processes, each running the Celery
   task's function `render_and_send_statements` (what 2 worker processes on 2 cores do),
   with one renderer per process;
3. bare rendering of the same statements in one process, with each renderer.

Extrapolation to 100,000 donors is linear (every step is per donor or per batch), from
wall time (at the mercy of whatever else the machine runs) and from CPU time on 2
dedicated cores: issue_cpu * (100000 / sample) + render_email_cpu * (100000 / sample) / 2.
Goal (docs/architecture.md): under 20 minutes on 2 cores; printed as a ratio to the goal.
"""

from __future__ import annotations

import multiprocessing
import os
import time

from bench.receipts_support import scratch_database, setup_django

DONORS = int(os.environ.get("BENCH_DONORS", "1000"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
TARGET = 100_000
GOAL_MINUTES = 20
# The default first; WeasyPrint is what RECEIPT_STATEMENT_RENDERER=weasyprint switches back to.
RENDERERS = ("reportlab", "weasyprint")


def gifts_each(i: int) -> int:
    bucket = i % 20
    if bucket < 12:
        return 1
    if bucket < 15:
        return 2 + bucket % 3
    return 12


def _work(chunk: list[int]) -> tuple[int, float]:
    from django.core import mail

    from receipts.tasks import render_and_send_statements

    mail.outbox = []
    cpu = time.process_time()
    render_and_send_statements(chunk)
    return len(mail.outbox), time.process_time() - cpu


def render_and_email(issued: list[int], renderer: str) -> tuple[float, float]:
    """(wall s, CPU s summed over the processes) to render and email every statement."""
    from django.conf import settings
    from django.db import connections

    from receipts import statements
    from receipts.models import Receipt, ReceiptEmail

    settings.RECEIPT_STATEMENT_RENDERER = renderer  # the forked processes inherit it
    chunks = [
        issued[i : i + statements.RENDER_CHUNK]
        for i in range(0, len(issued), statements.RENDER_CHUNK)
    ]
    connections.close_all()  # each process opens its own connection
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(_work, chunks, chunksize=1)
    wall = time.perf_counter() - started
    sent = sum(count for count, _ in results)
    assert sent == DONORS, f"{renderer}: {sent} emails for {DONORS} statements"
    assert not Receipt.objects.filter(kind="annual", pdf="").exists()
    assert ReceiptEmail.objects.filter(kind="statement", status="sent").count() == DONORS
    return wall, sum(cpu for _, cpu in results)


def reset_delivery() -> None:
    """Every statement back to unrendered and unsent, for the next renderer's turn."""
    from receipts.models import Receipt, ReceiptEmail

    Receipt.objects.filter(kind="annual").update(pdf="", delivery_status="pending", sent_at=None)
    ReceiptEmail.objects.filter(kind="statement").update(
        status="pending", attempts=0, claimed_at=None, sent_at=None
    )


def bare_render(snapshots: list[dict], renderer: str) -> tuple[float, float]:
    """(wall s, CPU s) a statement, rendering only, in this process."""
    from django.conf import settings

    from receipts.pdf import render_pdf

    settings.RECEIPT_STATEMENT_RENDERER = renderer
    render_pdf(snapshots[0])  # fonts and stylesheets load once per process, not per PDF
    started, cpu = time.perf_counter(), time.process_time()
    for snapshot in snapshots:
        render_pdf(snapshot)
    count = len(snapshots)
    return (time.perf_counter() - started) / count, (time.process_time() - cpu) / count


def main() -> None:
    setup_django()
    from django.db import connection

    from receipts import statements
    from receipts.models import Receipt

    with scratch_database("bench_statements"):
        from bench.receipts_support import make_donors

        make_donors(DONORS, gifts_each=gifts_each)
        gifts = sum(gifts_each(i) for i in range(DONORS))
        print(
            f"database: {connection.vendor}; sample {DONORS} donors, {gifts} gifts; "
            f"{PROCESSES} processes render"
        )

        started, cpu = time.perf_counter(), time.process_time()
        run = statements.issue_annual_statements(year=2026, enqueue=False)
        issue_time, issue_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert len(run.issued) == DONORS, run
        again = statements.issue_annual_statements(year=2026, enqueue=False)
        assert again.issued == [], "a second run must issue nothing"

        measured = {}
        for renderer in RENDERERS:
            measured[renderer] = render_and_email(run.issued, renderer)
            reset_delivery()
        sample = list(
            Receipt.objects.filter(kind="annual").values_list("snapshot", flat=True)[:200]
        )
        bare = {renderer: bare_render(sample, renderer) for renderer in RENDERERS}
        load = os.getloadavg()[0]

        scale = TARGET / DONORS
        print(
            f"issue:  {issue_time:6.2f} s ({DONORS / issue_time:5.0f} statements/s), "
            f"CPU {1000 * issue_cpu / DONORS:.1f} ms a statement"
        )
        print(f"{'renderer':<11}{'bare render CPU':>17}{'render+email CPU':>18}"
              f"{'100k, CPU on 2 cores':>22}{'vs goal':>9}{'100k, wall':>12}")  # fmt: skip
        for renderer in RENDERERS:
            wall, cpu = measured[renderer]
            cpu_minutes = (issue_cpu * scale + cpu * scale / PROCESSES) / 60
            wall_minutes = (issue_time + wall) * scale / 60
            print(
                f"{renderer:<11}{1000 * bare[renderer][1]:14.1f} ms{1000 * cpu / DONORS:15.1f} ms"
                f"{cpu_minutes:17.1f} min{cpu_minutes / GOAL_MINUTES:8.2f}x{wall_minutes:8.1f} min"
            )
        fast, slow = (measured[r][1] for r in RENDERERS)
        print(
            f"ReportLab vs WeasyPrint: bare render {bare['weasyprint'][1] / bare['reportlab'][1]:.1f}x "
            f"faster, render+email {slow / fast:.1f}x faster; goal < {GOAL_MINUTES} min "
            f"(vs goal < 1.00x); load average during the run {load:.1f}"
            + ("" if connection.vendor == "sqlite" else "; PostgreSQL server CPU not included")
        )


if __name__ == "__main__":
    main()
