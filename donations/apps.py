from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # memberships: registers its listener on donations.hooks (memberships follow giving).
        # page: connects the signals that rebuild the cached donation page when presets change.
        # abandoned: its hourly task (Celery finds tasks only in tasks.py by itself).
        # gateway: starts each web request's deadline for its Stripe calls.
        # checks: the deployment check that a challenge (CAPTCHA) is configured.
        from donations import abandoned, checks, gateway, memberships, page  # noqa: F401
