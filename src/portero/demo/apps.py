from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "portero.demo"
    label = "demo"
