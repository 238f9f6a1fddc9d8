from django.apps import AppConfig


class AccountConfig(AppConfig):
    """The donor's own pages, on top of the three domain apps: it reads and acts through
    their services and owns no tables."""

    name = "account"
    default_auto_field = "django.db.models.BigAutoField"
