from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "portero.helpdesk"
    label = "helpdesk"
