"""`manage.py export_receipts --from 2026-01-01 --to 2026-12-31 --format csv|xlsx`

The same export as the finance screens (same columns, same validation, logged in
ExportLog as requested via "command"), written to --output or to standard output.
"""

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from receipts.exports.filters import JURISDICTIONS, ExportForm
from receipts.exports.services import ExportTooLarge, export_begin, export_stream
from receipts.models import ExportLog, Receipt


class Command(BaseCommand):
    help = "Export receipts and the money of their gifts as CSV or Excel, for the books."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from", dest="date_from", metavar="YYYY-MM-DD", help="first day, inclusive"
        )
        parser.add_argument(
            "--to", dest="date_to", metavar="YYYY-MM-DD", help="last day, inclusive"
        )
        parser.add_argument(
            "--fiscal-year", type=int, metavar="YEAR", help="instead of --from/--to"
        )
        parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--status", action="append", default=[], choices=Receipt.Status.values,
                            help="repeat for several; default every status")  # fmt: skip
        parser.add_argument(
            "--jurisdiction", action="append", default=[], choices=[c for c, _ in JURISDICTIONS]
        )
        parser.add_argument("--kind", action="append", default=[], choices=Receipt.Kind.values)
        parser.add_argument("--output", "-o", metavar="FILE", help="default: standard output")

    def handle(self, *args, **options) -> None:
        form = ExportForm(
            {
                "date_from": options["date_from"] or "",
                "date_to": options["date_to"] or "",
                "fiscal_year": options["fiscal_year"] or "",
                "file_format": options["file_format"],
                "status": options["status"],
                "jurisdiction": options["jurisdiction"],
                "kind": options["kind"],
            }
        )
        if not form.is_valid():
            raise CommandError(_errors(form))
        filters = form.export_filters()
        file_format = form.cleaned_data["file_format"]
        if file_format == "xlsx" and not options["output"] and sys.stdout.isatty():
            raise CommandError(
                "An .xlsx file is binary: give --output FILE or redirect standard output."
            )
        try:
            log, _rows = export_begin(
                user=None, requested_via="command", filters=filters, file_format=file_format
            )
        except ExportTooLarge as error:
            raise CommandError(str(error)) from None
        try:
            out = open(options["output"], "wb") if options["output"] else sys.stdout.buffer  # noqa: SIM115
        except OSError as error:
            ExportLog.objects.filter(pk=log.pk).update(
                status=ExportLog.Status.FAILED, error=str(error)
            )
            raise CommandError(f"Cannot write {options['output']}: {error.strerror}") from None
        try:
            for chunk in export_stream(log=log, filters=filters):
                out.write(chunk)
        finally:
            if options["output"]:
                out.close()
            else:
                out.flush()
        log.refresh_from_db()
        self.stderr.write(f"Exported {log.rows} rows, {filters.describe()} (export {log.pk}).")


def _errors(form: ExportForm) -> str:
    names = {
        "date_from": "--from",
        "date_to": "--to",
        "fiscal_year": "--fiscal-year",
        "file_format": "--format",
    }
    lines = []
    for field, errors in form.errors.items():
        prefix = "" if field == "__all__" else f"{names.get(field, '--' + field)}: "
        lines.extend(prefix + str(error) for error in errors)
    return " ".join(lines)
