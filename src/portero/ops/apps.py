from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "portero.ops"
    label = "ops"
