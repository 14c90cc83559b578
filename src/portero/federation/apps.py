from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "portero.federation"
    label = "federation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portero.accounts.signals import sessions_ended
        from portero.federation.logout import sessions_ended_everywhere

        sessions_ended.connect(
            sessions_ended_everywhere, dispatch_uid="portero.federation.sessions_ended_everywhere"
        )
