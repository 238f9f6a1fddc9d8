"""The finance export of 1,000,000 receipts to CSV, against a raw COPY of the same rows.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.bench_export

Makes a scratch database `<name>_bench_export`, migrates it, fills it with SQL
generate_series (200,000 donors; 1,000,000 gifts, their Stripe charges in the ledger and
their receipts), then measures, each in a fresh process:

- baseline: `psql -c "COPY (...) TO STDOUT WITH CSV" > /dev/null` of the receipts' own
  columns (the raw table, no joins, no formatting), and of the export's own SELECT
  (joins and formatting included), so the overhead of the streaming path shows alone;
- the export as staff get it: POST to /receipts/exports/new on gunicorn (one sync
  worker, production settings) over loopback, read to the end: time to the first
  byte, to the first row, total, and the gunicorn worker's peak memory (VmHWM from
  /proc, which counts every byte the process ever held, C buffers included);
- the background path (the Celery task's function, writing the file under media).

The scratch database is dropped at the end. Goals (docs/architecture.md): the export within 1.5x
of COPY of the same rows (the export's own SELECT, run by psql with the same session
settings), peak memory under 150 MB, first byte within 1 second. The ratio against
the bare table is printed too, for context: it is the price of the joins and the
formatting, paid inside PostgreSQL whoever reads the rows.

BENCH_EXPORT_ROWS (default 1,000,000) and BENCH_ROUNDS (default 2) make it smaller.
"""

import http.client
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.harness import ROOT, gunicorn, migrate, production_env, scratch_database, vm

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "1000000"))
SUPPORTERS = max(1, ROWS // 5)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PERIOD = {"date_from": "2026-01-01", "date_to": "2026-12-31"}


# --- Running in the bench's own subprocesses (Django set up against the scratch DB) ------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _fill_and_sign_in() -> None:
    """Fill the scratch database; print a finance user's session key on the last line."""
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client

    from donations.models import Donation, LedgerEntry
    from members.models import Supporter
    from receipts.models import Receipt

    started = time.monotonic()
    _insert(Supporter, SUPPORTERS, {
        "email": "'donor' || g || '@example.com'", "first_name": "'Ada'",
        "last_name": "'Reader' || g", "address_line1": "g || ' Elm Street'", "city": "'Springfield'",
        "region": "'IL'", "postal_code": "'62704'", "country": "'US'",
        "stripe_customer_id": "'cus_' || g", "public_id": "gen_random_uuid()",
    })  # fmt: skip
    first_supporter = Supporter.objects.order_by("id").values_list("id", flat=True)[0]
    # One gift every ~31 s through 2026 (all inside the exported year).
    at = "timestamptz '2026-01-01 05:00+00' + g * interval '31 seconds'"
    amount = "(500 + (g * 37) % 20000)"
    _insert(Donation, ROWS, {
        "supporter_id": f"{first_supporter} + (g % {SUPPORTERS})", "amount": amount,
        "fee_covered": f"CASE WHEN g % 3 = 0 THEN {amount} * 3 / 100 ELSE 0 END",
        "currency": "'usd'", "status": "'succeeded'", "public_id": "gen_random_uuid()",
        "stripe_payment_intent_id": "'pi_' || lpad(g::text, 24, '0')",
        "stripe_charge_id": "'ch_' || lpad(g::text, 24, '0')",
        "created_at": at, "succeeded_at": at, "updated_at": at,
    })  # fmt: skip
    first_donation = Donation.objects.order_by("id").values_list("id", flat=True)[0]
    donation = f"{first_donation} + g - 1"
    _insert(LedgerEntry, ROWS, {
        "donation_id": donation, "kind": "'charge'", "gross": amount,
        "fee": f"{amount} * 29 / 1000 + 30", "net": f"{amount} - ({amount} * 29 / 1000 + 30)",
        "stripe_balance_transaction_id": "'txn_' || lpad(g::text, 24, '0')",
        "stripe_source_id": "'ch_' || lpad(g::text, 24, '0')", "currency": "'usd'",
        "stripe_payout_id": "'po_' || lpad((g / 2000)::text, 24, '0')",
        "occurred_at": at, "created_at": at,
    })  # fmt: skip
    _insert(Receipt, ROWS, {
        "number": "'US-2026-' || lpad(g::text, 7, '0')", "series": "'US-2026'", "sequence": "g",
        "kind": "'gift'", "jurisdiction": "'US'",
        "supporter_id": f"{first_supporter} + (g % {SUPPORTERS})", "donation_id": donation,
        "currency": "'usd'", "amount_received": amount, "benefit_value": "0",
        "deductible_amount": amount, "received_at": at, "issued_at": f"{at} + interval '1 minute'",
        "status": "'issued'",
        # About the size of a real snapshot's printed fields.
        "snapshot": "json_build_object('number', 'US-2026-' || g, 'donor', 'Ada Reader' || g,"
        " 'address', g || ' Elm Street, Springfield IL 62704', 'amount', " + amount + ","
        " 'wording', repeat('No goods or services were provided. ', 4))::jsonb",
        "snapshot_sha256": "md5(g::text) || md5(g::text)",
    })  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    user = get_user_model().objects.create_user("finance-bench", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance"))
    client = Client()
    client.force_login(user)
    print(f"filled {ROWS:,} receipts in {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(client.cookies["sessionid"].value)


def _insert(model, count: int, expressions: dict[str, str]) -> None:
    """INSERT ... SELECT over generate_series; every other column gets its default."""
    from django.db import connection

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column].replace("%", "%%"))
        elif field.has_default():
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        elif field.null:
            values.append("NULL")
        else:
            values.append("%s")
            params.append(
                field.get_db_prep_save(
                    ""
                    if field.get_internal_type().endswith("CharField")
                    or field.get_internal_type() == "TextField"
                    else 0,
                    connection,
                )
            )
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM generate_series(1, {count}) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _copy_sql() -> None:
    """Print the two baseline COPY statements (fully bound) for psql."""
    _setup_django()
    import datetime as dt

    from django.db import connection

    from receipts.exports.filters import ExportFilters
    from receipts.exports.formats import trailer
    from receipts.exports.query import COPY_SETTINGS, copy_select

    filters = ExportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
    sql, params = copy_select(
        filters, time_zone="America/New_York", trailer=trailer(filters, "America/New_York")
    )
    with connection.cursor() as wrapper:
        export_copy = wrapper.cursor.mogrify(sql, params)
    table_copy = (
        "COPY (SELECT number, series, kind, jurisdiction, status, received_at, issued_at, voided_at,"
        " replaces_id, supporter_id, donation_id, currency, amount_received, benefit_value,"
        " deductible_amount FROM receipts_receipt) TO STDOUT WITH (FORMAT csv)"
    )
    print(table_copy)
    print(export_copy.replace("\n", " "))
    # The export's own session settings, so the baseline runs the query the same way.
    print(COPY_SETTINGS.replace("SET LOCAL", "SET"))


def _run_task() -> None:
    """The background path: log an export and run the task's function; print figures."""
    _setup_django()
    import datetime as dt

    from django.core.files.storage import default_storage

    from receipts.exports.filters import ExportFilters
    from receipts.exports.services import export_begin, export_write_file
    from receipts.models import ExportLog

    filters = ExportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
    started = time.monotonic()
    log, _ = export_begin(user=None, requested_via="bench", filters=filters, file_format="csv")
    export_write_file(log_id=log.pk)
    seconds = time.monotonic() - started
    log = ExportLog.objects.get(pk=log.pk)
    size = log.file.size
    default_storage.delete(log.file.name)
    print(f"{seconds:.3f} {log.rows} {size} {vm('VmHWM')}")


# --- The driver ---------------------------------------------------------------------------


def _psql_copy(database_url: str, sql: str, settings: str = "") -> float:
    before = [arg for setting in settings.split(";") if setting.strip() for arg in ("-c", setting)]
    started = time.monotonic()
    subprocess.run(["psql", database_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *before, "-c", sql],
                   stdout=subprocess.DEVNULL, check=True)  # fmt: skip
    return time.monotonic() - started


def _http_export(port: int, session: str) -> dict:
    """POST the export form and read the stream to the end, timing the first byte and row."""
    csrf = secrets.token_hex(16)  # 32 characters: Django accepts an unmasked secret
    body = urllib.parse.urlencode({**PERIOD, "file_format": "csv"})
    headers = {
        "Host": "127.0.0.1",
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"sessionid={session}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.monotonic()
    conn.request("POST", "/receipts/exports/new", body=body, headers=headers)
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"export answered {response.status}: {response.read(500)!r}")
    first = response.read1(65536)
    first_byte = time.monotonic() - started
    received, newlines, first_row = len(first), first.count(b"\n"), None
    if newlines >= 2:
        first_row = first_byte
    while chunk := response.read1(1 << 20):
        received += len(chunk)
        newlines += chunk.count(b"\n")
        if first_row is None and newlines >= 2:
            first_row = time.monotonic() - started
    total = time.monotonic() - started
    conn.close()
    return {"first_byte": first_byte, "first_row": first_row or total, "total": total,
            "bytes": received, "rows": newlines - 1}  # fmt: skip


def main() -> int:
    if not shutil.which("psql"):
        raise SystemExit(
            "psql is required for the COPY baseline (apt-get install postgresql-client)."
        )
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    # Stream everything here: the point is the streaming path's own speed. In production
    # an export this size goes through the background task instead.
    env = production_env(work, EXPORT_SYNC_MAX_ROWS=str(ROWS * 2))
    env.pop("REDIS_URL", None)
    this = [sys.executable, "-m", "bench.bench_export"]
    try:
        with scratch_database("bench_export", work, postgres_only=True) as database_url:
            env["DATABASE_URL"] = database_url
            migrate(env)
            filled = subprocess.run(
                [*this, "--fill"], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if filled.returncode:
                raise RuntimeError("filling the database failed:\n" + filled.stderr[-3000:])
            print(filled.stderr.strip().splitlines()[-1])
            session = filled.stdout.strip().splitlines()[-1]
            sql = subprocess.run(
                [*this, "--copy-sql"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            ).stdout.strip().splitlines()  # fmt: skip
            with gunicorn(env, workers=1, extra=("--timeout", "600")) as server:
                _measure(server, database_url, session, sql, env, this)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(server, database_url: str, session: str, sql: list[str], env, this) -> None:
    table_sql, export_sql, copy_settings = sql
    (worker,) = server.worker_pids()
    idle_rss = vm("VmRSS", worker)
    print(f"{ROWS:,} receipts; gunicorn 1 sync worker (pid {worker}, {idle_rss / 1024:.0f} MB resident idle); "
          f"{ROUNDS} rounds, best of each")  # fmt: skip

    results: dict[str, list] = {"table": [], "same": [], "http": [], "task": []}
    for _ in range(ROUNDS):
        results["table"].append(_psql_copy(database_url, table_sql))
        results["same"].append(_psql_copy(database_url, export_sql, copy_settings))
        results["http"].append(_http_export(server.port, session))
        seconds, rows, size, hwm = subprocess.run(
            [*this, "--task"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout.split()
        results["task"].append((float(seconds), int(rows), int(size), int(hwm)))
    worker_peak = vm("VmHWM", worker)

    table, same = min(results["table"]), min(results["same"])
    http = min(results["http"], key=lambda r: r["total"])
    task = min(results["task"])
    if http["rows"] != ROWS or task[1] != ROWS:
        raise RuntimeError(
            f"row counts differ: http {http['rows']}, task {task[1]}, expected {ROWS}"
        )
    print(f"COPY of the receipt table's columns (psql > /dev/null):  {table:6.2f} s")
    print(f"COPY of the export's SELECT, joins and formatting (psql):  {same:6.2f} s")
    print(f"export over HTTP (gunicorn, streamed):                     {http['total']:6.2f} s, "
          f"{http['bytes'] / 1e6:.0f} MB; first byte {http['first_byte'] * 1000:.0f} ms, "
          f"first row {http['first_row'] * 1000:.0f} ms")  # fmt: skip
    print(f"background task writing the file:                          {task[0]:6.2f} s, "
          f"{task[2] / 1e6:.0f} MB, peak {task[3] / 1024:.0f} MB")  # fmt: skip
    ratio_same = http["total"] / same
    ratio_table = http["total"] / table
    peak_mb = worker_peak / 1024
    print(f"ratio export / COPY of the same rows    {ratio_same:.2f} (goal <= 1.50): "
          f"{'ok' if ratio_same <= 1.5 else 'MISSED'}")  # fmt: skip
    print(f"peak memory of the exporting worker     {peak_mb:.0f} MB (goal < 150): "
          f"{'ok' if peak_mb < 150 else 'MISSED'}")  # fmt: skip
    print(f"first byte                              {http['first_byte'] * 1000:.0f} ms (goal < 1000): "
          f"{'ok' if http['first_byte'] < 1 else 'MISSED'}")  # fmt: skip
    print(f"for context, export / COPY of the bare receipt table {ratio_table:.2f}: the export joins "
          "each receipt to its gift, ledger and donor and prints 30 formatted columns "
          f"({http['bytes'] / 1e6:.0f} MB) where the bare table gives 15 raw ones")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:] == ["--fill"]:
        _fill_and_sign_in()
    elif sys.argv[1:] == ["--copy-sql"]:
        _copy_sql()
    elif sys.argv[1:] == ["--task"]:
        _run_task()
    else:
        sys.exit(main())
