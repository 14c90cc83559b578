from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "portero.mail"
    label = "mail"
