"""`manage.py deploy`: one release's steps, in the order that keeps a bad release off the
database. Run it with the production environment before (re)starting gunicorn and the
Celery workers; it stops at the first failing step."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Collect static files into STATIC_ROOT, run `check --deploy`, then apply migrations. "
        "Run before (re)starting gunicorn and the Celery workers."
    )
    # `check --deploy` below runs every check, deployment ones included.
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        # First, as it touches only STATIC_ROOT: the check below verifies its manifest.
        self.stdout.write("Collecting static files")
        call_command("collectstatic", interactive=False, verbosity=verbosity)
        # Before migrate, so a misconfigured release stops with the database untouched.
        self.stdout.write("Checking the deployment (check --deploy)")
        call_command("check", deploy=True)
        self.stdout.write("Applying migrations")
        call_command("migrate", interactive=False, verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS("Ready: start or restart gunicorn and the workers."))
