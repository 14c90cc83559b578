from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "portero.recovery"
    label = "recovery"
