"""manage.py issue_annual_statements YEAR [--no-send]

Issues every missing year-end statement for YEAR (a second run issues nothing new) and
queues their rendering and emailing on the Celery workers. --render-here renders and
emails in this process instead (no worker needed, slower).
"""

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

    def handle(self, *args, year: int, render_here: bool, **options):
        this_year = timezone.localdate().year
        if not 2000 <= year <= this_year:
            raise CommandError(f"YEAR must be between 2000 and {this_year}; got {year}.")
        if year == this_year:
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
