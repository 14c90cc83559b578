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
        from portero.accounts.signals import sign_in_remember

        # Ours writes last_login and the device together. Django's receiver is connected by
        # django.contrib.auth's ready(), which therefore comes first in INSTALLED_APPS.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(sign_in_remember, dispatch_uid="portero.accounts.sign_in_remember")
