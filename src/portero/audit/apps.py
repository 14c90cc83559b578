from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "portero.audit"
    label = "audit"
