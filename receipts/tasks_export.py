"""The finance export task (registered through CELERY_IMPORTS in settings).

Thin: it takes the ExportLog id and hands over to the service, which claims the log
(only a running one is worked on) and writes the file. No time limit: a long export is
exactly what this task exists for.
"""

from celery import shared_task

from receipts.exports.services import export_write_file


@shared_task(acks_late=True)
def write_export(log_id: int) -> None:
    export_write_file(log_id=log_id)
