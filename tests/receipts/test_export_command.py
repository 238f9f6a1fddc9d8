"""`manage.py export_receipts`: the same export from the command line, logged."""

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from receipts.models import ExportLog
from tests.receipts.export_data import at, gift_with_receipt, read_csv


def test_it_writes_the_csv_for_a_date_range_to_a_file(db, tmp_path):
    inside = gift_with_receipt(received=at("2026-12-31 23:00"))  # 18:00 in New York
    gift_with_receipt(received=at("2027-01-01 05:00"))  # 00:00 on 1 January 2027
    output = tmp_path / "books.csv"
    stderr = io.StringIO()

    call_command(
        "export_receipts",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--output",
        str(output),
        stderr=stderr,
    )

    [row] = read_csv(output.read_bytes())
    assert row["number"] == inside.number and row["received_at"] == "2026-12-31 18:00:00"
    log = ExportLog.objects.get()
    assert (log.requested_via, log.user, log.rows, log.status) == ("command", None, 1, "done")
    assert "Exported 1 rows" in stderr.getvalue()


def test_it_takes_a_fiscal_year_status_and_jurisdiction_and_writes_xlsx(db, tmp_path, settings):
    settings.FISCAL_YEAR_START_MONTH = 7
    wanted = gift_with_receipt(received=at("2025-08-01 12:00"), jurisdiction="CA", series="CA-2025")
    gift_with_receipt(received=at("2025-08-02 12:00"))  # US
    gift_with_receipt(
        received=at("2025-08-03 12:00"), jurisdiction="CA", series="CA-2025", status="void"
    )
    output = tmp_path / "fy2026.xlsx"

    call_command(
        "export_receipts", "--fiscal-year", "2026", "--format", "xlsx", "--status", "issued",
        "--jurisdiction", "CA", "--output", str(output), stderr=io.StringIO(),
    )  # fmt: skip

    rows = list(openpyxl.load_workbook(output)["Receipts"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [wanted.number]
    assert ExportLog.objects.get().filters["from"] == "2025-07-01"


def test_it_writes_to_standard_output(db, capfdbinary):
    gift_with_receipt(received=at("2026-06-01 12:00"))
    call_command(
        "export_receipts", "--from", "2026-06-01", "--to", "2026-06-30", stderr=io.StringIO()
    )
    assert len(read_csv(capfdbinary.readouterr().out)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-01-01"], "Give both dates of the range, or a fiscal year."),
        (
            ["--from", "2026-12-31", "--to", "2026-01-01"],
            "--to: The end date is before the start date.",
        ),
        (["--from", "2026-02-30", "--to", "2026-03-01"], "--from: Enter a valid date."),
        (["--fiscal-year", "2026", "--from", "2026-01-01", "--to", "2026-02-01"], "not both"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_no_export(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_receipts", *args)
    assert not ExportLog.objects.exists()


def test_an_unwritable_output_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "export_receipts",
            "--fiscal-year",
            "2026",
            "--output",
            str(tmp_path / "no" / "such" / "dir.csv"),
        )
    assert ExportLog.objects.get().status == "failed"
