from django.apps import AppConfig
from django.db.models import CharField, EmailField
from django.db.models.functions import Lower


class AccountsConfig(AppConfig):
    name = "portero.accounts"
    label = "accounts"

    def ready(self) -> None:
        # `username__lower=` / `email__lower=` match the functional indexes on LOWER(column).
        CharField.register_lookup(Lower)
        EmailField.register_lookup(Lower)
        from portero.accounts import emails  # noqa: F401  (registers the e-mail composers)
