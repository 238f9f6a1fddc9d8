from django.apps import AppConfig


class PledgeConfig(AppConfig):
    """The project itself as an app: its release command (`manage.py deploy`) and the
    deployment checks Django's own do not make. It has no models."""

    name = "config"
    label = "pledge"
    verbose_name = "Pledge"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)
