from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # memberships: registers its listener on donations.hooks (memberships follow giving).
        # page: connects the signals that rebuild the cached donation page when presets change.
        # abandoned: its hourly task (Celery finds tasks only in tasks.py by itself).
        # checks: the deployment check that a challenge (CAPTCHA) is configured.
        from donations import abandoned, checks, memberships, page  # noqa: F401
