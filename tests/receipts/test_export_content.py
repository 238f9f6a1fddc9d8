"""What the finance export contains: columns, amounts, dates, filters, both formats."""

import io
import zipfile

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from receipts.exports.filters import ExportFilters, ExportForm, fiscal_year_dates
from receipts.exports.formats import HEADER, csv_chunks, csv_header, trailer
from receipts.exports.query import iter_copy_chunks, iter_raw_rows
from receipts.exports.services import export_begin, export_stream
from receipts.models import ExportLog, Receipt
from tests.factories import ReceiptFactory, SupporterFactory
from tests.receipts.export_data import at, gift_with_receipt, read_csv, refunded_in_part, streamed

URL = "/receipts/exports/new"


def export(client, user, **data) -> list[dict]:
    client.force_login(user)
    response = client.post(URL, {"file_format": "csv", **data})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return read_csv(streamed(response))


def test_a_row_carries_the_gift_money_and_stripe_ids(client, finance_exporter):
    receipt = gift_with_receipt(received=at("2026-03-01 15:00"), amount=2500, fee=103)
    receipt.donation.fee_covered = 103
    receipt.donation.stripe_charge_id = "ch_abc"
    receipt.donation.save()
    receipt.supporter.first_name, receipt.supporter.last_name = "Zoë", "Ångström"
    receipt.supporter.save()

    [row] = export(client, finance_exporter, date_from="2026-01-01", date_to="2026-12-31")

    charge = receipt.donation.ledger_entries.get()
    assert list(row) == list(HEADER)
    assert row["number"] == receipt.number
    assert row["status"] == "issued"
    assert row["donor_name"] == "Zoë Ångström"
    assert row["donor_email"] == receipt.supporter.email
    assert row["currency"] == "USD"
    assert (row["gift_gross"], row["fee_covered"], row["stripe_fee"], row["net"]) == (
        "25.00",
        "1.03",
        "1.03",
        "23.97",
    )
    assert (row["amount_received"], row["benefit_value"], row["deductible_amount"]) == (
        "25.00",
        "0.00",
        "25.00",
    )
    assert row["refunded"] == "0.00"
    assert row["stripe_payment_intent"] == receipt.donation.stripe_payment_intent_id
    assert row["stripe_charge"] == "ch_abc"
    assert row["stripe_invoice"] == ""
    assert row["stripe_balance_transaction"] == charge.stripe_balance_transaction_id
    assert row["stripe_payout"] == charge.stripe_payout_id
    # 15:00 UTC is 10:00 in New York (EST in March before the 8th).
    assert row["received_at"] == "2026-03-01 10:00:00"
    assert (row["period_start"], row["period_end"], row["time_zone"]) == (
        "2026-01-01",
        "2026-12-31",
        "America/New_York",
    )


def test_a_partial_refund_shows_the_void_receipt_and_its_replacement(client, finance_exporter):
    original = gift_with_receipt(received=at("2026-05-02 12:00"), amount=5000, fee=175)
    replacement = refunded_in_part(original, refund=2000)

    rows = {
        r["number"]: r
        for r in export(client, finance_exporter, date_from="2026-05-01", date_to="2026-05-31")
    }

    void, new = rows[original.number], rows[replacement.number]
    assert void["status"] == "void" and void["voided_at"] == "2026-05-05 08:00:00"
    assert void["replaced_by"] == replacement.number and void["replaces"] == ""
    assert new["status"] == "issued" and new["replaces"] == original.number
    assert new["amount_received"] == "30.00"
    for row in (void, new):  # the gift's money: charged 50.00, fee 1.75, refunded 20.00
        assert (row["gift_gross"], row["stripe_fee"], row["refunded"], row["net"]) == (
            "50.00",
            "1.75",
            "20.00",
            "28.25",
        )
        assert row["gift_status"] == "partially_refunded"


def test_the_range_is_inclusive_in_the_organisation_time_zone(client, finance_exporter, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    inside_first = gift_with_receipt(received=at("2026-04-01 07:00"))  # 00:00 PDT on 1 April
    before = gift_with_receipt(received=at("2026-04-01 06:59:59"))  # 23:59:59 on 31 March
    inside_last = gift_with_receipt(received=at("2026-05-01 06:59:59"))  # 23:59:59 on 30 April
    after = gift_with_receipt(received=at("2026-05-01 07:00"))

    rows = export(client, finance_exporter, date_from="2026-04-01", date_to="2026-04-30")

    assert {r["number"] for r in rows} == {inside_first.number, inside_last.number}
    assert before.number not in {r["number"] for r in rows} and after.number not in {
        r["number"] for r in rows
    }
    assert (
        rows[0]["received_at"] == "2026-04-01 00:00:00"
        and rows[0]["time_zone"] == "America/Los_Angeles"
    )


def test_a_fiscal_year_follows_the_configured_start_month(client, finance_exporter, settings):
    settings.FISCAL_YEAR_START_MONTH = 7
    first_moment = gift_with_receipt(received=at("2025-07-01 04:00"))  # 00:00 EDT, 1 July 2025
    just_before = gift_with_receipt(received=at("2025-07-01 03:59:59"))
    last_moment = gift_with_receipt(
        received=at("2026-07-01 03:59:59")
    )  # 23:59:59 EDT, 30 June 2026
    just_after = gift_with_receipt(received=at("2026-07-01 04:00"))

    rows = export(client, finance_exporter, fiscal_year="2026")

    assert {r["number"] for r in rows} == {first_moment.number, last_moment.number}
    assert {(r["period_start"], r["period_end"]) for r in rows} == {("2025-07-01", "2026-06-30")}
    assert just_before.number and just_after.number  # made, and left out


def test_fiscal_years_are_named_by_the_year_they_end_in_unless_configured(settings):
    settings.FISCAL_YEAR_START_MONTH = 10
    assert fiscal_year_dates(2026) == (at("2025-10-01 00:00").date(), at("2026-09-30 00:00").date())
    settings.FISCAL_YEAR_NAMED_BY = "start"
    assert fiscal_year_dates(2026) == (at("2026-10-01 00:00").date(), at("2027-09-30 00:00").date())
    settings.FISCAL_YEAR_START_MONTH = 1
    assert fiscal_year_dates(2026) == (at("2026-01-01 00:00").date(), at("2026-12-31 00:00").date())


def test_it_filters_by_status_jurisdiction_and_kind(client, finance_exporter):
    issued_us = gift_with_receipt(received=at("2026-06-01 12:00"))
    void_us = gift_with_receipt(received=at("2026-06-02 12:00"), status=Receipt.Status.VOID)
    issued_ca = gift_with_receipt(
        received=at("2026-06-03 12:00"), jurisdiction="CA", series="CA-2026"
    )
    statement = ReceiptFactory(
        donation=None, supporter=SupporterFactory(), kind=Receipt.Kind.ANNUAL, series="US-2026-A",
        received_at=at("2026-06-04 12:00"), amount_received=9000, tax_year=2026,
    )  # fmt: skip
    june = {"date_from": "2026-06-01", "date_to": "2026-06-30"}

    def numbers(**filters) -> set[str]:
        return {r["number"] for r in export(client, finance_exporter, **june, **filters)}

    assert numbers() == {issued_us.number, void_us.number, issued_ca.number, statement.number}
    assert numbers(status=["issued"]) == {issued_us.number, issued_ca.number, statement.number}
    assert numbers(status=["issued", "void"], jurisdiction=["US"], kind=["gift"]) == {
        issued_us.number,
        void_us.number,
    }
    assert numbers(jurisdiction=["CA"]) == {issued_ca.number}
    [row] = export(client, finance_exporter, **june, kind=["annual"])
    # An annual statement has no single gift: the gift columns are empty, not zero.
    assert (
        row["amount_received"] == "90.00"
        and row["gift_gross"] == row["stripe_fee"] == row["net"] == ""
    )


def test_amounts_follow_the_currency_minor_unit(client, finance_exporter):
    yen = gift_with_receipt(received=at("2026-06-01 12:00"), amount=5000, fee=180, currency="jpy")
    yen.donation.currency = "jpy"
    yen.donation.save()
    [row] = export(client, finance_exporter, date_from="2026-06-01", date_to="2026-06-01")
    assert (row["currency"], row["amount_received"], row["stripe_fee"], row["net"]) == (
        "JPY",
        "5000",
        "180",
        "4820",
    )


def test_a_donor_name_cannot_become_a_spreadsheet_formula(client, finance_exporter):
    receipt = gift_with_receipt(received=at("2026-06-01 12:00"))
    receipt.supporter.first_name, receipt.supporter.last_name = '=HYPERLINK("http://evil","x")', ""
    receipt.supporter.save()
    [row] = export(client, finance_exporter, date_from="2026-06-01", date_to="2026-06-30")
    assert row["donor_name"] == '\'=HYPERLINK("http://evil","x")'


def test_the_export_is_logged_with_who_the_filters_and_the_rows(client, finance_exporter):
    gift_with_receipt(received=at("2026-06-01 12:00"))
    gift_with_receipt(received=at("2026-06-02 12:00"))
    export(
        client, finance_exporter, date_from="2026-06-01", date_to="2026-06-30", status=["issued"]
    )
    log = ExportLog.objects.get()
    assert (log.user, log.requested_via, log.file_format, log.rows, log.status) == (
        finance_exporter, "web", "csv", 2, ExportLog.Status.DONE,
    )  # fmt: skip
    assert log.filters["from"] == "2026-06-01" and log.filters["to"] == "2026-06-30"
    assert log.filters["status"] == ["issued"] and log.finished_at is not None


def test_an_empty_period_gives_the_header_alone(client, finance_exporter):
    client.force_login(finance_exporter)
    response = client.post(
        URL, {"file_format": "csv", "date_from": "2030-01-01", "date_to": "2030-01-31"}
    )
    assert streamed(response) == csv_header()
    assert 'filename="receipts_2030-01-01_to_2030-01-31.csv"' in response["Content-Disposition"]


# --- Streaming ----------------------------------------------------------------------------


def test_the_header_leaves_before_the_rows_are_queried(client, finance_exporter):
    for day in range(1, 6):
        gift_with_receipt(received=at(f"2026-06-0{day} 12:00"))
    client.force_login(finance_exporter)
    response = client.post(
        URL, {"file_format": "csv", "date_from": "2026-06-01", "date_to": "2026-06-30"}
    )

    assert response.streaming
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(chunks)
    assert first == csv_header()
    assert not [q for q in queries.captured_queries if "JOIN" in q["sql"]], (
        "no row query before the header"
    )
    assert ExportLog.objects.get().status == ExportLog.Status.RUNNING
    rest = b"".join(chunks)
    assert len(read_csv(first + rest)) == 5
    assert ExportLog.objects.get().status == ExportLog.Status.DONE


def test_an_interrupted_download_is_logged_as_failed(finance_exporter):
    gift_with_receipt(received=at("2026-06-01 12:00"))
    filters = ExportFilters(
        date_from=at("2026-06-01 00:00").date(), date_to=at("2026-06-30 00:00").date()
    )
    log, _rows = export_begin(
        user=finance_exporter, requested_via="web", filters=filters, file_format="csv"
    )
    body = export_stream(log=log, filters=filters)  # what the streaming response iterates
    assert next(body) == csv_header()
    body.close()  # what the server does when the client goes away
    log.refresh_from_db()
    assert log.status == ExportLog.Status.FAILED and "interrupted" in log.error


def test_a_download_dropped_before_its_first_byte_is_logged_as_failed(finance_exporter):
    filters = ExportFilters(
        date_from=at("2026-06-01 00:00").date(), date_to=at("2026-06-30 00:00").date()
    )
    log, _rows = export_begin(
        user=finance_exporter, requested_via="web", filters=filters, file_format="csv"
    )
    export_stream(log=log, filters=filters).close()
    log.refresh_from_db()
    assert log.status == ExportLog.Status.FAILED and "interrupted" in log.error


def test_rows_are_fetched_in_chunks_not_all_at_once(finance_exporter, monkeypatch):
    monkeypatch.setattr("receipts.exports.query.FETCH_ROWS", 2)
    for day in range(1, 6):
        gift_with_receipt(received=at(f"2026-06-0{day} 12:00"))
    filters = ExportFilters(
        date_from=at("2026-06-01 00:00").date(), date_to=at("2026-06-30 00:00").date()
    )
    chunks = list(
        csv_chunks(iter_raw_rows(filters), trailer(filters, "America/New_York"), chunk_rows=2)
    )
    assert [count for _chunk, count in chunks] == [2, 2, 1]


@pytest.mark.postgres
def test_postgres_copy_gives_the_same_bytes_as_the_python_writer(finance_exporter, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    original = gift_with_receipt(received=at("2026-05-02 12:00"), amount=5000, fee=175)
    refunded_in_part(original, refund=2000)
    gift_with_receipt(received=at("2026-05-03 12:00"), amount=123456, fee=3610)
    odd = gift_with_receipt(received=at("2026-05-04 12:00"))
    odd.supporter.first_name, odd.supporter.last_name = 'Anne "Nan", Jr.', "=1+1"
    odd.supporter.save()
    filters = ExportFilters(
        date_from=at("2026-05-01 00:00").date(), date_to=at("2026-05-31 00:00").date()
    )
    tail = trailer(filters, "America/New_York")

    copied = list(iter_copy_chunks(filters, time_zone="America/New_York", trailer=tail))
    written = b"".join(chunk for chunk, _ in csv_chunks(iter_raw_rows(filters), tail))

    # No ORDER BY (see receipts/exports/query.py): the same lines, perhaps in another order.
    assert sorted(b"".join(chunk for chunk, _ in copied).splitlines()) == sorted(
        written.splitlines()
    )
    assert sum(count for _, count in copied) == 4


@pytest.mark.postgres
def test_on_postgres_the_csv_rows_come_from_copy(client, finance_exporter, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    gift_with_receipt(received=at("2026-06-01 12:00"))

    def refuse(*args, **kwargs):
        raise AssertionError("the CSV must not come through the Python row path on PostgreSQL")

    monkeypatch.setattr("receipts.exports.services.iter_raw_rows", refuse)
    assert len(export(client, finance_exporter, date_from="2026-06-01", date_to="2026-06-30")) == 1


# --- Excel ------------------------------------------------------------------------------


def test_the_xlsx_holds_the_same_table_with_real_numbers_and_dates(client, finance_exporter):
    receipt = gift_with_receipt(received=at("2026-03-01 15:00"), amount=2500, fee=103)
    client.force_login(finance_exporter)
    response = client.post(
        URL, {"file_format": "xlsx", "date_from": "2026-01-01", "date_to": "2026-12-31"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = streamed(response)

    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Receipts", "About"]
    header, row = list(workbook["Receipts"].iter_rows(values_only=True))
    assert list(header) == list(HEADER)
    values = dict(zip(header, row, strict=True))
    assert values["number"] == receipt.number
    assert values["received_at"].isoformat() == "2026-03-01T10:00:00"
    assert values["gift_gross"] == 25 and values["net"] == 23.97
    about = dict(workbook["About"].iter_rows(values_only=True))
    assert about["Period (inclusive)"] == "2026-01-01 to 2026-12-31 inclusive (America/New_York)"
    assert about["Rows"] == 1
    # Decimals made from minor units: the file holds 23.97, not a float's 23.969999...
    sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>23.97</v>" in sheet_xml and "<v>25</v>" in sheet_xml
    assert ExportLog.objects.get().rows == 1


def test_an_xlsx_formula_in_a_donor_name_stays_text(client, finance_exporter):
    receipt = gift_with_receipt(received=at("2026-03-01 15:00"))
    receipt.supporter.first_name, receipt.supporter.last_name = "=SUM(A1:A9)", ""
    receipt.supporter.save()
    client.force_login(finance_exporter)
    response = client.post(
        URL, {"file_format": "xlsx", "date_from": "2026-01-01", "date_to": "2026-12-31"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(streamed(response)))["Receipts"]
    cell = sheet.cell(row=2, column=HEADER.index("donor_name") + 1)
    assert cell.value == "=SUM(A1:A9)" and cell.data_type == "s"


def test_an_xlsx_bigger_than_excel_holds_is_refused_with_a_reason(
    client, finance_exporter, monkeypatch
):
    monkeypatch.setattr("receipts.exports.services.XLSX_MAX_ROWS", 1)
    gift_with_receipt(received=at("2026-03-01 15:00"))
    gift_with_receipt(received=at("2026-03-02 15:00"))
    client.force_login(finance_exporter)
    response = client.post(
        URL, {"file_format": "xlsx", "date_from": "2026-01-01", "date_to": "2026-12-31"}
    )
    assert response.status_code == 400
    assert "more than Excel holds" in response.content.decode()
    assert not ExportLog.objects.exists()


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date_from": "2026-01-01"}, "Give both dates of the range, or a fiscal year."),
        (
            {"date_from": "2026-02-01", "date_to": "2026-01-01"},
            "The end date is before the start date.",
        ),
        ({"date_from": "2026-13-01", "date_to": "2026-12-31"}, "Enter a valid date."),
        ({"fiscal_year": "2026", "date_from": "2026-01-01", "date_to": "2026-12-31"}, "not both"),
        ({"fiscal_year": "twenty"}, "Enter a whole number."),
        (
            {"date_from": "2026-01-01", "date_to": "2026-12-31", "status": ["lost"]},
            "Select a valid choice",
        ),
        (
            {"date_from": "2026-01-01", "date_to": "2026-12-31", "file_format": "pdf"},
            "Select a valid choice",
        ),
    ],
)
def test_bad_filters_get_the_form_again_with_the_reason(client, finance_exporter, data, message):
    client.force_login(finance_exporter)
    response = client.post(URL, {"file_format": "csv", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ExportLog.objects.exists()


def test_the_form_turns_a_fiscal_year_into_dates(settings):
    settings.FISCAL_YEAR_START_MONTH = 4
    form = ExportForm({"fiscal_year": "2027", "file_format": "csv"})
    assert form.is_valid(), form.errors
    filters = form.export_filters()
    assert (filters.date_from.isoformat(), filters.date_to.isoformat()) == (
        "2026-04-01",
        "2027-03-31",
    )
    assert (
        filters.describe()
        == "fiscal year 2027: 2026-04-01 to 2027-03-31 inclusive (America/New_York)"
    )
