from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers its listener on donations.hooks: memberships follow giving.
        from donations import memberships  # noqa: F401

    def ready(self) -> None:
        # Connects the signals that rebuild the cached donation page when presets change.
        from donations import page  # noqa: F401
