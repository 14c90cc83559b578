from django.apps import AppConfig
from django.conf import settings


class OpsConfig(AppConfig):
    name = "portero.ops"
    label = "ops"

    def ready(self) -> None:
        # Importing registers the checks; both modules need the app registry to be ready.
        from portero.ops import checks, metrics  # noqa: F401

        if settings.PORTERO_METRICS_BIND:
            metrics.security_events_count()
