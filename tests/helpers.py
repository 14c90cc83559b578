"""Small helpers shared by tests: read links out of real e-mails, drive the forms."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

from django.test import Client

LINK = re.compile(r"https?://\S+/restablecer/[^\s/]+/")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no text part"
    return str(part.get_content()).replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return str(part.get_content()).replace("\r\n", "\n")


def link_in(message: EmailMessage) -> str:
    """Return the recovery link's path from the message's text part."""
    found = LINK.findall(text_of(message))
    assert found, "no recovery link in the e-mail"
    return urlsplit(found[0]).path


def ask_reset(client: Client, username: str) -> None:
    response = client.post("/recuperar/contrasena/", {"username": username})
    assert response.status_code == 302, response.status_code


def set_password(client: Client, link_path: str, password: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    """Open the link (GET), then submit the form on the clean URL; return the POST response."""
    opened = client.get(link_path)
    assert opened.status_code == 302 and opened["Location"] == "/restablecer/"
    return client.post(
        "/restablecer/",
        {
            "new_password1": password,
            "new_password2": password if confirm is None else confirm,
        },
    )


def with_second_factor(user):  # type: ignore[no-untyped-def]
    """Give `user` a confirmed authenticator app and backup codes; return the codes (each
    passes the second step once). Returns (codes, secret)."""
    import pyotp

    from portero.core import clock
    from portero.core.client import ClientInfo
    from portero.factors.models import AuthenticatorApp
    from portero.factors.services import backup_codes_new
    from portero.mail.models import EmailKind, OutboundEmail

    secret = pyotp.random_base32(32)
    AuthenticatorApp.objects.create(user=user, secret=secret, confirmed_at=clock.now())
    codes = backup_codes_new(user=user, client=ClientInfo(ip=None, user_agent="", language="es-co"))
    OutboundEmail.objects.filter(user=user, kind=EmailKind.FACTOR_CHANGED).delete()  # not news
    return codes, secret


def sign_in_with_factor(client: Client, username: str, password: str, code: str):  # type: ignore[no-untyped-def]
    """Sign in with the password, then `code` at the second step; return the last response."""
    first = client.post("/ingresar/", {"username": username, "password": password})
    assert first.status_code == 302 and first["Location"] == "/ingresar/verificacion/", first
    method = "app" if code.isdigit() and len(code) == 6 else "backup"
    return client.post("/ingresar/verificacion/", {"method": method, "code": code})
