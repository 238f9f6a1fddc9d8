"""Big exports run as a Celery task writing a file; the page shows progress and a link."""

import datetime as dt
import io
import threading
from pathlib import Path

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from kombu import pools

from receipts.exports.filters import ExportFilters
from receipts.exports.services import _ProgressReporter, export_begin, export_write_file
from receipts.models import ExportLog, Receipt
from tests.receipts.export_data import at, gift_with_receipt, read_csv

URL = "/receipts/exports/new"
JUNE = {"date_from": "2026-06-01", "date_to": "2026-06-30"}


def three_gifts() -> None:
    for day in (1, 2, 3):
        gift_with_receipt(received=at(f"2026-06-0{day} 12:00"))


def test_above_the_threshold_the_export_runs_in_the_background(client, finance_exporter, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 2
    three_gifts()
    client.force_login(finance_exporter)

    response = client.post(URL, {"file_format": "csv", **JUNE})

    log = ExportLog.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/receipts/exports/{log.pk}"
    # Tasks run eagerly in tests, so the file is already written.
    assert (log.status, log.rows, log.filters["rows_expected"]) == ("done", 3, 3)
    assert log.file.name.startswith(f"exports/{log.pk}/receipts_2026-06-01_to_2026-06-30")
    page = client.get(response["Location"]).content.decode()
    assert "Ready: 3 rows." in page and f"/receipts/exports/{log.pk}/download" in page
    assert 'http-equiv="refresh"' not in page
    status = client.get(f"/receipts/exports/{log.pk}/status").json()
    assert status == {
        "id": log.pk, "status": "done", "rows": 3, "rows_expected": 3, "error": "",
        "download_url": f"/receipts/exports/{log.pk}/download",
    }  # fmt: skip
    download = client.get(status["download_url"])
    assert download["Content-Disposition"].startswith("attachment")
    assert len(read_csv(b"".join(download.streaming_content))) == 3


def test_a_big_xlsx_goes_to_the_background_sooner(client, finance_exporter, settings):
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 2
    three_gifts()
    client.force_login(finance_exporter)
    assert client.post(URL, {"file_format": "csv", **JUNE}).streaming  # CSV still streams
    response = client.post(URL, {"file_format": "xlsx", **JUNE})
    log = ExportLog.objects.get(file_format="xlsx")
    assert response.status_code == 302 and log.status == "done"
    content = b"".join(client.get(f"/receipts/exports/{log.pk}/download").streaming_content)
    rows = list(openpyxl.load_workbook(io.BytesIO(content))["Receipts"].iter_rows(values_only=True))
    assert len(rows) == 4


def test_the_progress_page_polls_until_the_file_is_ready(client, finance_exporter):
    log = ExportLog.objects.create(
        user=finance_exporter, file_format="csv", rows=50,
        filters={"from": "2026-01-01", "to": "2026-12-31", "rows_expected": 200},
    )  # fmt: skip
    client.force_login(finance_exporter)
    page = client.get(f"/receipts/exports/{log.pk}").content.decode()
    assert (
        "Preparing: 50 of 200 rows (25%)" in page
        and '<meta http-equiv="refresh" content="2">' in page
    )
    assert client.get(f"/receipts/exports/{log.pk}/status").json()["download_url"] is None
    assert client.get(f"/receipts/exports/{log.pk}/download").status_code == 404


def test_a_failed_export_says_why(client, finance_exporter):
    log = ExportLog.objects.create(
        user=finance_exporter, file_format="csv", status="failed", error="the database went away",
        filters={"from": "2026-01-01", "to": "2026-12-31", "rows_expected": 10},
    )  # fmt: skip
    client.force_login(finance_exporter)
    assert (
        "The export failed: the database went away"
        in client.get(f"/receipts/exports/{log.pk}").content.decode()
    )
    assert client.get(f"/receipts/exports/{log.pk}/download").status_code == 404


def test_a_task_delivered_twice_writes_one_file(client, finance_exporter, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 0
    three_gifts()
    client.force_login(finance_exporter)
    client.post(URL, {"file_format": "csv", **JUNE})
    log = ExportLog.objects.get()
    export_write_file(log_id=log.pk)  # the second delivery finds the export done
    folder = Path(default_storage.path(f"exports/{log.pk}"))
    assert [p.name for p in folder.iterdir()] == [Path(log.file.name).name]
    assert ExportLog.objects.get().rows == 3


def test_a_file_gone_from_storage_is_a_clear_404(client, finance_exporter, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 0
    three_gifts()
    client.force_login(finance_exporter)
    client.post(URL, {"file_format": "csv", **JUNE})
    log = ExportLog.objects.get()
    default_storage.delete(log.file.name)
    response = client.get(f"/receipts/exports/{log.pk}/download")
    assert response.status_code == 404


@pytest.fixture
def fresh_broker_pools():
    """kombu keeps broker connection pools in a global registry. The celery_worker
    fixture force-closes the app's pool but leaves it registered, so after an eager task
    (which takes a producer from that pool) the next publish finds a closed pool. Start
    and end with an empty registry."""
    pools.reset()
    yield
    pools.reset()


@pytest.mark.slow
def test_a_real_worker_writes_the_file_and_the_page_offers_it(
    fresh_broker_pools, celery_worker, client, finance_exporter, settings
):
    # The worker process keeps the media folder its settings name; read from the same.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(settings.VAR_DIR / "media")}},
    }  # fmt: skip
    settings.EXPORT_SYNC_MAX_ROWS = 2
    three_gifts()
    client.force_login(finance_exporter)

    response = client.post(URL, {"file_format": "csv", **JUNE})
    log = ExportLog.objects.get()
    assert response.status_code == 302

    celery_worker.wait_for(lambda: ExportLog.objects.filter(pk=log.pk, status="done").exists())
    log.refresh_from_db()
    try:
        assert log.rows == 3
        page = client.get(f"/receipts/exports/{log.pk}").content.decode()
        assert "Ready: 3 rows." in page
        download = client.get(f"/receipts/exports/{log.pk}/download")
        numbers = [r["number"] for r in read_csv(b"".join(download.streaming_content))]
        assert sorted(numbers) == sorted(Receipt.objects.values_list("number", flat=True))
    finally:
        default_storage.delete(log.file.name)


@pytest.mark.postgres
def test_progress_is_saved_while_postgres_copies(transactional_db, finance_exporter, monkeypatch):
    """psycopg holds its connection for the whole COPY: progress written on that same
    connection would wait for itself forever. It goes over a second connection."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    monkeypatch.setattr("receipts.exports.query.COPY_CHUNK_BYTES", 1)  # a chunk a row
    monkeypatch.setattr("receipts.exports.services.PROGRESS_EVERY_SECONDS", 0)
    saved: list[int] = []
    original = _ProgressReporter.__call__

    def spy(self, rows):
        original(self, rows)
        # Read back over the reporter's second connection: the export's own one is busy.
        with self.side.cursor() as cursor:
            cursor.execute("SELECT rows FROM receipts_exportlog WHERE id = %s", [self.log_id])
            saved.append(cursor.fetchone()[0])

    monkeypatch.setattr(_ProgressReporter, "__call__", spy)
    three_gifts()
    filters = ExportFilters(date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 6, 30))
    log, _ = export_begin(
        user=finance_exporter, requested_via="web", filters=filters, file_format="csv"
    )

    worker = threading.Thread(target=export_write_file, kwargs={"log_id": log.pk}, daemon=True)
    worker.start()
    worker.join(timeout=30)

    if worker.is_alive():  # free the stuck sessions, or the database flush would wait forever
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        pytest.fail("the export deadlocked on its own connection")
    log.refresh_from_db()
    try:
        assert (log.status, log.rows) == ("done", 3)
        assert saved == [1, 2, 3]
    finally:
        default_storage.delete(log.file.name)
