from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "portero.organizations"
    label = "organizations"
    verbose_name = "Organizations (SECOP accounts)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portero.accounts.signals import sessions_ended
        from portero.organizations.services import acting_for_forget

        sessions_ended.connect(
            acting_for_forget, dispatch_uid="portero.organizations.acting_for_forget"
        )
