"""Finance export workflows: begin (logged), stream, write to a file for the async path.

Why two paths: a streamed response runs inside the web worker, and gunicorn's sync
worker is killed `timeout` seconds (30 by default) into a request whatever it is doing,
so a long stream is cut off while the client has already seen a 200 and a plausible
file. Exports above a row threshold therefore run as a Celery task that writes the file
under media; the staff member watches a progress page and downloads the finished file.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from receipts.exports.filters import XLSX_MAX_ROWS, ExportFilters
from receipts.exports.formats import csv_chunks, csv_header, trailer, write_xlsx
from receipts.exports.query import count_rows, iter_copy_chunks, iter_raw_rows
from receipts.models import ExportLog

logger = logging.getLogger(__name__)

PERMISSION = "receipts.export_receipts"
FILE_CHUNK_BYTES = 256 * 1024
PROGRESS_EVERY_SECONDS = 0.5
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportTooLarge(Exception):
    """More rows than the chosen format can hold (Excel stops at 1,048,576)."""


def can_export(user) -> bool:
    """Finance staff only: active, staff, and holding the export permission (superusers
    hold every permission, as everywhere in Django)."""
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


def export_goes_async(*, file_format: str, rows: int) -> bool:
    limit = (
        settings.EXPORT_XLSX_SYNC_MAX_ROWS
        if file_format == "xlsx"
        else settings.EXPORT_SYNC_MAX_ROWS
    )
    return rows > limit


def export_begin(
    *, user, requested_via: str, filters: ExportFilters, file_format: str
) -> tuple[ExportLog, int]:
    """Count the rows, refuse what the format cannot hold, and log the export."""
    rows = count_rows(filters)
    if file_format == "xlsx" and rows > XLSX_MAX_ROWS:
        raise ExportTooLarge(
            f"{rows:,} rows is more than Excel holds ({XLSX_MAX_ROWS:,}); choose CSV or a shorter period."
        )
    log = ExportLog.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        requested_via=requested_via,
        # `rows_expected` rides along with the filters: it is what the progress page
        # measures against, fixed when the export was asked for.
        filters={**filters.as_json(), "rows_expected": rows},
        file_format=file_format,
    )
    return log, rows


def csv_body(*, filters: ExportFilters) -> Iterator[tuple[bytes, int]]:
    """(bytes, rows) of the CSV after its header: COPY on PostgreSQL, a cursor elsewhere."""
    tail = trailer(filters, settings.TIME_ZONE)
    if connection.vendor == "postgresql":
        return iter_copy_chunks(filters, time_zone=settings.TIME_ZONE, trailer=tail)
    return csv_chunks(iter_raw_rows(filters), tail)


INTERRUPTED = "The download was interrupted before the end."


class ExportStream:
    """The body of a streaming response (see `_chunks`). Closing it before the end marks
    the log failed even when not one byte was asked for yet: a generator closed before
    it started runs none of its own code."""

    def __init__(self, *, log: ExportLog, filters: ExportFilters) -> None:
        self.log_id = log.pk
        self._chunks = _chunks(log=log, filters=filters)

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        _mark_failed(self.log_id, rows=0, error=INTERRUPTED)  # a no-op once done


def export_stream(*, log: ExportLog, filters: ExportFilters) -> ExportStream:
    return ExportStream(log=log, filters=filters)


def _chunks(*, log: ExportLog, filters: ExportFilters) -> Iterator[bytes]:
    """CSV: the header leaves before any query runs. The log is finished when the last
    byte is handed over, or marked failed if the client goes away or the database fails
    part-way."""
    rows = 0
    try:
        if log.file_format == "csv":
            yield csv_header()
            # Closed explicitly so an interrupted COPY ends before the log is written
            # on the same connection.
            with closing(csv_body(filters=filters)) as body:
                for chunk, count in body:
                    rows += count
                    yield chunk
        else:
            # A zip file cannot be streamed before it is complete; its size is bounded
            # by EXPORT_XLSX_SYNC_MAX_ROWS, beyond which xlsx goes through a task.
            with tempfile.TemporaryFile() as spool, closing(iter_raw_rows(filters)) as source:
                rows = write_xlsx(
                    source, spool, filters=filters,
                    time_zone=settings.TIME_ZONE, generated_at=log.started_at,
                )  # fmt: skip
                spool.seek(0)
                while chunk := spool.read(FILE_CHUNK_BYTES):
                    yield chunk
    except GeneratorExit:
        _mark_failed(log.pk, rows=rows, error=INTERRUPTED)
        raise
    except Exception as error:
        logger.exception("export %s failed", log.pk)
        _mark_failed(log.pk, rows=rows, error=str(error))
        raise
    _mark_done(log.pk, rows=rows)


def export_write_file(*, log_id: int) -> None:
    """The Celery task's work: write the whole file under media, with progress.

    Running twice is harmless: only a log still running is worked on, the file is
    written afresh each time, and only one run marks it done (the other's file is
    removed)."""
    log = ExportLog.objects.filter(pk=log_id, status=ExportLog.Status.RUNNING).first()
    if log is None:
        return
    filters = ExportFilters.from_json(log.filters)
    progress = _ProgressReporter(log.pk)
    try:
        with tempfile.TemporaryFile() as spool:
            if log.file_format == "csv":
                rows = 0
                spool.write(csv_header())
                with closing(csv_body(filters=filters)) as body:
                    for chunk, count in body:
                        spool.write(chunk)
                        rows += count
                        progress(rows)
            else:
                with closing(iter_raw_rows(filters)) as source:
                    rows = write_xlsx(
                        source, spool, filters=filters, time_zone=settings.TIME_ZONE,
                        generated_at=log.started_at, on_progress=progress,
                    )  # fmt: skip
            spool.seek(0)
            name = default_storage.save(
                f"exports/{log.pk}/{filters.filename(log.file_format)}", File(spool)
            )
    except Exception as error:
        logger.exception("export %s failed", log.pk)
        _mark_failed(log.pk, rows=0, error=str(error))
        return
    finally:
        progress.close()
    if not _mark_done(log.pk, rows=rows, file=name):
        default_storage.delete(name)


def export_file_is_ready(log: ExportLog) -> bool:
    return log.status == ExportLog.Status.DONE and bool(log.file)


class _ProgressReporter:
    """Saves the row count at most every half second, for the progress page.

    psycopg holds its connection's lock for the whole of a COPY, so an UPDATE on the same
    connection would wait for itself: on PostgreSQL progress goes over a second one."""

    def __init__(self, log_id: int) -> None:
        self.log_id = log_id
        self.last = 0.0
        self.side = None

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        if connection.vendor != "postgresql":
            ExportLog.objects.filter(pk=self.log_id, status=ExportLog.Status.RUNNING).update(
                rows=rows
            )
            return
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        quote = self.side.ops.quote_name
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ExportLog._meta.db_table)} SET {quote('rows')} = %s"
                f" WHERE {quote('id')} = %s AND {quote('status')} = %s",
                [rows, self.log_id, ExportLog.Status.RUNNING],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _mark_done(log_id: int, *, rows: int, file: str = "") -> bool:
    changes = {"status": ExportLog.Status.DONE, "rows": rows, "finished_at": timezone.now()}
    if file:
        changes["file"] = file
    return bool(
        ExportLog.objects.filter(pk=log_id, status=ExportLog.Status.RUNNING).update(**changes)
    )


def _mark_failed(log_id: int, *, rows: int, error: str) -> None:
    ExportLog.objects.filter(pk=log_id, status=ExportLog.Status.RUNNING).update(
        status=ExportLog.Status.FAILED, rows=rows, error=error[:2000], finished_at=timezone.now()
    )
