from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "portero.core"
    label = "core"

    def ready(self) -> None:
        from portero.config import checks  # noqa: F401  (registers the system checks)
