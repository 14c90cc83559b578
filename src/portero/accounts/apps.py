from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models import CharField, EmailField
from django.db.models.functions import Lower


class AccountsConfig(AppConfig):
    name = "portero.accounts"
    label = "accounts"

    def ready(self) -> None:
        # `username__lower=` / `email__lower=` match the functional indexes on LOWER(column).
        CharField.register_lookup(Lower)
        EmailField.register_lookup(Lower)
        # The sign-in flow writes last_login with the device, in one UPDATE
        # (services.user_sign_in_remember); Django's receiver would write it a second time. It
        # is connected by django.contrib.auth's ready(), which therefore comes first in
        # INSTALLED_APPS.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
