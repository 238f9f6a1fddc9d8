"""The one SELECT behind every export, and the two ways its rows leave the database.

Rows are receipts, each with the money of its gift: gross, the Stripe fee and net summed
over the gift's ledger entries (charge, refunds, disputes), refunds, and the Stripe ids
that tie the row to the balance transaction and the payout.

There is no ORDER BY, on purpose: sorting a million wide rows made the database hold
back every row until the sort was done (seconds, spilling to disk), where unsorted rows
start flowing at once. Rows come roughly in the order receipts were written; a
spreadsheet sorts by number in a click. Which receipt replaces which is read by a
subquery only on the rows that have one, instead of two self-joins on every row.

- On PostgreSQL, CSV comes from `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)`: the
  server formats dates (in the organisation's time zone) and amounts (decimal text made
  from integer minor units, never through a float), and psycopg 3 hands the bytes over
  as they come, so Python only batches and forwards them.
- Everywhere else (SQLite, and .xlsx on either), rows come through a chunked cursor
  (a server-side cursor on PostgreSQL) and Python formats them: memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection, transaction

from donations.models import Donation, LedgerEntry
from members.models import Supporter
from receipts.exports.filters import ExportFilters
from receipts.models import Receipt

FETCH_ROWS = 2_000
# COPY hands over one row per read; forwarding each alone would cost a socket write per
# row, so rows are gathered into chunks of about this size.
COPY_CHUNK_BYTES = 256 * 1024

# Currencies whose minor unit is not a hundredth: one definition, in lib.money (the
# SQL of the COPY export lists them too, from the same sets).
from lib.money import THREE_DECIMAL, ZERO_DECIMAL, minor_digits  # noqa: E402

# The raw SELECT's columns, in order. `formats` turns each row into the printed columns.
RAW_COLUMNS = (
    "number", "series", "kind", "jurisdiction", "status",
    "received_at", "issued_at", "voided_at", "replaces", "replaced_by",
    "donor_name", "donor_email", "currency",
    "amount_received", "benefit_value", "deductible_amount",
    "gift_gross", "fee_covered", "stripe_fee", "refunded", "net", "gift_status",
    "stripe_payment_intent", "stripe_charge", "stripe_invoice",
    "stripe_balance_transaction", "stripe_payout",
)  # fmt: skip
AMOUNT_COLUMNS = frozenset(
    ("amount_received", "benefit_value", "deductible_amount", "gift_gross", "fee_covered",
     "stripe_fee", "refunded", "net")
)  # fmt: skip
DATETIME_COLUMNS = frozenset(("received_at", "issued_at", "voided_at"))
# Free text a donor typed: a leading = + - @ would run as a formula in a spreadsheet.
DONOR_TEXT_COLUMNS = frozenset(("donor_name", "donor_email"))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Text that may be stored blank rather than NULL (the rest is never blank).
BLANKABLE_COLUMNS = frozenset(
    ("stripe_payment_intent", "stripe_charge", "stripe_invoice", "stripe_balance_transaction",
     "stripe_payout", "gift_status")
)  # fmt: skip


def minor_unit_exponent(currency: str) -> int:
    return minor_digits(currency)


def raw_select(filters: ExportFilters) -> tuple[str, list]:
    """The portable SELECT (SQLite and PostgreSQL) and its parameters."""
    receipt, supporter = Receipt._meta.db_table, Supporter._meta.db_table
    donation, ledger = Donation._meta.db_table, LedgerEntry._meta.db_table
    where, params = _where(filters)
    sql = f"""
        SELECT r.number, r.series, r.kind, r.jurisdiction, r.status,
               r.received_at, r.issued_at, r.voided_at,
               CASE WHEN r.replaces_id IS NOT NULL THEN
                   (SELECT p.number FROM {receipt} p WHERE p.id = r.replaces_id) END,
               CASE WHEN r.status NOT IN ('issued', 'held') THEN
                   (SELECT n.number FROM {receipt} n WHERE n.replaces_id = r.id) END,
               TRIM(COALESCE(s.first_name, '') || ' ' || COALESCE(s.last_name, '')), s.email,
               r.currency, r.amount_received, r.benefit_value, r.deductible_amount,
               d.amount, d.fee_covered, l.fee, d.amount_refunded, l.net, d.status,
               d.stripe_payment_intent_id, d.stripe_charge_id, d.stripe_invoice_id,
               l.balance_transaction, l.payout
        FROM {receipt} r
        JOIN {supporter} s ON s.id = r.supporter_id
        LEFT JOIN {donation} d ON d.id = r.donation_id
        LEFT JOIN (
            SELECT donation_id, SUM(fee) AS fee, SUM(net) AS net,
                   MAX(CASE WHEN kind = 'charge' THEN stripe_balance_transaction_id END)
                       AS balance_transaction,
                   MAX(CASE WHEN kind = 'charge' THEN stripe_payout_id END) AS payout
            FROM {ledger} WHERE donation_id IS NOT NULL GROUP BY donation_id
        ) l ON l.donation_id = r.donation_id
        WHERE {where}
    """
    return sql, params


def count_select(filters: ExportFilters) -> tuple[str, list]:
    # Every join above is one-to-one or optional, so counting receipts counts rows.
    where, params = _where(filters)
    return f"SELECT COUNT(*) FROM {Receipt._meta.db_table} r WHERE {where}", params


def _where(filters: ExportFilters) -> tuple[str, list]:
    adapt = connection.ops.adapt_datetimefield_value
    clauses = ["r.received_at >= %s", "r.received_at < %s"]
    params: list = [adapt(filters.start), adapt(filters.end)]
    for column, values in (
        ("status", filters.statuses),
        ("jurisdiction", filters.jurisdictions),
        ("kind", filters.kinds),
    ):
        if values:
            clauses.append(f"r.{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
    return " AND ".join(clauses), params


def count_rows(filters: ExportFilters) -> int:
    sql, params = count_select(filters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def iter_raw_rows(filters: ExportFilters) -> Iterator[tuple]:
    """Raw rows in chunks; a server-side cursor on PostgreSQL, so memory stays flat."""
    sql, params = raw_select(filters)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows


# --- PostgreSQL: COPY ------------------------------------------------------------------

# Session settings for the export's transaction, measured on a million rows here: JIT
# spent ~4.7 s compiling a query that runs in ~5 s; parallel workers left the leader to
# format every row alone (15 s against 9 s serial on two cores); and dates print as ISO
# whatever the server's DateStyle.
COPY_SETTINGS = "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL DateStyle = 'ISO'"


def _sql_column(column: str) -> str:
    if column in DATETIME_COLUMNS:
        # Truncated, as Python's strftime does: 23:59:59.7 stays on its day.
        return f"date_trunc('second', x.{column} AT TIME ZONE %s)"
    if column in AMOUNT_COLUMNS:
        # An integer times an exact numeric unit (0.01, 1 or 0.001) prints with just that
        # many decimals: 2500 * 0.01 is 25.00. Never a float.
        return f"x.{column} * u.unit"
    if column == "currency":
        return "upper(x.currency)"
    if column in DONOR_TEXT_COLUMNS:
        starts = ", ".join(
            "E'\\t'" if c == "\t" else "E'\\r'" if c == "\r" else f"'{c}'" for c in FORMULA_STARTS
        )
        quote = "''''"
        return (
            f"CASE WHEN left(x.{column}, 1) IN ({starts}) THEN {quote} || x.{column}"
            f" ELSE NULLIF(x.{column}, '') END"
        )
    if column in BLANKABLE_COLUMNS:
        # Blank and NULL print alike (COPY would quote a blank as "" to tell them apart).
        return f"NULLIF(x.{column}, '')"
    return f"x.{column}"


def _sql_unit() -> str:
    zero = ", ".join(f"'{c}'" for c in sorted(ZERO_DECIMAL))
    three = ", ".join(f"'{c}'" for c in sorted(THREE_DECIMAL))
    return (
        f"CASE WHEN x.currency IN ({zero}) THEN 1::numeric"
        f" WHEN x.currency IN ({three}) THEN 0.001 ELSE 0.01 END"
    )


def copy_select(filters: ExportFilters, *, time_zone: str, trailer: list[str]) -> tuple[str, list]:
    """`COPY (formatted SELECT) TO STDOUT WITH CSV`; `trailer` adds constant columns."""
    inner, inner_params = raw_select(filters)
    names = ", ".join(RAW_COLUMNS)
    columns, params = [], []
    for column in RAW_COLUMNS:
        columns.append(_sql_column(column))
        if column in DATETIME_COLUMNS:
            params.append(time_zone)
    for value in trailer:
        columns.append("%s::text")
        params.append(value)
    sql = (
        f"COPY (SELECT {', '.join(columns)} FROM ({inner}) AS x ({names})"
        # The currency's unit, worked out once a row rather than once an amount.
        f" CROSS JOIN LATERAL (SELECT {_sql_unit()} AS unit) AS u"
        ") TO STDOUT WITH (FORMAT csv)"
    )
    # The outer SELECT's placeholders come first in the text, then the inner ones.
    return sql, params + inner_params


def iter_copy_chunks(
    filters: ExportFilters, *, time_zone: str, trailer: list[str]
) -> Iterator[tuple[bytes, int]]:
    """(chunk of CSV bytes, rows in it) straight from COPY, which hands over one row a read."""
    sql, params = copy_select(filters, time_zone=time_zone, trailer=trailer)
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: Django has no COPY API
        cursor.execute(COPY_SETTINGS)
        buffer = bytearray()
        rows = 0
        with cursor.copy(sql, params) as copy:
            for data in copy:
                buffer += data
                rows += 1
                if len(buffer) >= COPY_CHUNK_BYTES:
                    yield bytes(buffer), rows
                    buffer.clear()
                    rows = 0
        if buffer:
            yield bytes(buffer), rows
