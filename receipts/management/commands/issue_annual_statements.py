"""manage.py issue_annual_statements YEAR [--render-here] [--before-year-end]

Issues every missing year-end statement for YEAR (a second run issues nothing new) and
queues their rendering and emailing on the Celery workers. --render-here renders and
emails in this process instead (no worker needed, slower).

A year that has not ended in the organisation's time zone is refused: a statement
issued on 4 December misses December's gifts and cannot be issued again for the year.
--before-year-end issues it anyway (for a donor who needs one early, knowingly).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from receipts import statements
from receipts.tasks import render_and_send_statements


class Command(BaseCommand):
    help = "Issue year-end giving statements for YEAR (one per donor with gifts that year)."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        parser.add_argument(
            "--render-here", action="store_true", help="Render and email in this process."
        )
        parser.add_argument(
            "--before-year-end",
            action="store_true",
            help="Issue statements for a year that has not ended yet (later gifts miss them).",
        )

    def handle(self, *args, year: int, render_here: bool, before_year_end: bool, **options):
        zone = ZoneInfo(settings.TIME_ZONE)  # ORG_TIME_ZONE: the year the receipts use
        this_year = timezone.now().astimezone(zone).year
        if not 2000 <= year <= this_year:
            raise CommandError(f"YEAR must be between 2000 and {this_year}; got {year}.")
        if year == this_year:
            year_end = dt.datetime(year + 1, 1, 1, tzinfo=zone)
            if not before_year_end:
                raise CommandError(
                    f"{year} has not ended in {settings.TIME_ZONE} (it ends "
                    f"{year_end:%Y-%m-%d %H:%M %Z}): statements issued now would miss later gifts. "
                    "Run again after the year ends, or pass --before-year-end to issue anyway."
                )
            self.stderr.write(
                self.style.WARNING(
                    f"{year} is not over yet: later gifts will not be on these statements."
                )
            )
        run = statements.issue_annual_statements(year=year, enqueue=not render_here)
        if render_here and run.issued:
            render_and_send_statements(run.issued)
        self.stdout.write(
            f"{year}: {len(run.issued)} statement(s) issued, {run.skipped_existing} donor(s) already had one, "
            f"{run.skipped_nothing_given} gave nothing net of refunds, {run.problems} could not be issued "
            "(see Receipt problems in the admin)."
        )
