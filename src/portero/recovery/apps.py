from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "portero.recovery"
    label = "recovery"

    def ready(self) -> None:
        from portero.recovery import emails  # noqa: F401  (registers the e-mail composers)
