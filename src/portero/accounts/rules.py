"""One place for the limits of an account's fields, read from the model itself: the forms, the
import, the command line and the flows all ask here (so none accepts what another refuses)."""

from __future__ import annotations

from portero.accounts.models import User

USERNAME_MAX = int(User._meta.get_field("username").max_length or 150)
FULL_NAME_MAX = int(User._meta.get_field("full_name").max_length or 200)
EMAIL_MAX = int(User._meta.get_field("email").max_length or 254)
