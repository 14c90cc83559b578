"""Second factors (SECURITY.md L: MF1-MF6, FC5): enrolment, the sign-in's second step, resets
that never bypass a factor, fresh proof, notices and the console's rule."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth.models import Group
from django.test import Client

from portero.accounts.flows import AMR
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.factors.models import AuthenticatorApp, BackupCode
from portero.helpdesk.roles import AGENT_GROUP
from portero.mail.models import EmailKind, OutboundEmail
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import (
    ask_reset,
    link_in,
    set_password,
    sign_in_with_factor,
    text_of,
    with_second_factor,
)

pytestmark = pytest.mark.django_db


def _signed_in(client: Client, username: str = "gongoragabriela") -> Client:
    assert (
        client.post("/ingresar/", {"username": username, "password": PASSWORD}).status_code == 302
    )
    return client


def _secret_on(page: str) -> str:
    return re.search(r'id="secret"><code>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")  # type: ignore[union-attr]


def _enrol(client: Client) -> str:
    """Set up an authenticator app from the page, as a person would; return its secret."""
    page = client.get("/cuenta/seguridad/aplicacion/").content.decode()
    secret = _secret_on(page)
    assert "<svg" in page and "<title>" in page  # the QR code, inline, with a text alternative
    response = client.post(
        "/cuenta/seguridad/aplicacion/",
        {"method": "app", "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert response.status_code == 302, response.content[:300]
    return secret


def test_mf1_enrolment_shows_qr_and_grouped_secret_and_counts_only_after_a_code(user, client):
    _signed_in(client)
    page = client.get("/cuenta/seguridad/aplicacion/").content.decode()
    secret = _secret_on(page)
    grouped = re.search(r'id="secret"><code>([^<]+)</code>', page).group(1)  # type: ignore[union-attr]
    assert len(secret) == 32 and grouped == " ".join(secret[i : i + 4] for i in range(0, 32, 4))
    assert not AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).exists()
    wrong = client.post("/cuenta/seguridad/aplicacion/", {"method": "app", "code": "000000"})
    assert wrong.status_code == 200 and "no es correcto" in wrong.content.decode()
    assert (
        client.post(
            "/cuenta/seguridad/aplicacion/", {"method": "app", "code": pyotp.TOTP(secret).now()}
        )["Location"]
        == "/cuenta/seguridad/codigos/"
    )
    codes_page = client.get("/cuenta/seguridad/codigos/").content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", codes_page)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Shown once: the page then says only how many are left; the secret is never shown again.
    again = client.get("/cuenta/seguridad/codigos/").content.decode()
    assert not any(code in again for code in codes) and "10" in again
    assert secret not in client.get("/cuenta/seguridad/").content.decode()
    assert all(
        code.replace("-", "") not in row.digest
        for code in codes
        for row in BackupCode.objects.filter(user=user)
    )


def test_mf1_a_code_is_never_accepted_twice_and_drift_is_one_step(user):
    _, secret = with_second_factor(user)
    totp = pyotp.TOTP(secret)
    now = clock.now()
    code = totp.at(now)
    assert sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, code).status_code == 302
    replay = sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, code)
    assert replay.status_code == 200 and "ya fue usado" in replay.content.decode()
    # The next step's code works once (one step of drift), two steps ahead does not.
    assert (
        sign_in_with_factor(
            Client(), "gongoragabriela", PASSWORD, totp.at(now + timedelta(seconds=60))
        ).status_code
        == 200
    )
    assert (
        sign_in_with_factor(
            Client(), "gongoragabriela", PASSWORD, totp.at(now + timedelta(seconds=30))
        ).status_code
        == 302
    )


def test_mf3_password_alone_does_not_sign_in_an_account_with_a_factor(user, client):
    with_second_factor(user)
    response = client.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response["Location"] == "/ingresar/verificacion/"
    assert "_auth_user_id" not in client.session
    assert client.get("/cuenta/")["Location"].startswith("/ingresar/")
    page = client.get("/ingresar/verificacion/").content.decode()
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page


def test_second_step_signs_in_with_amr_and_a_backup_code_works_once(user, client):
    codes, _ = with_second_factor(user)
    assert (
        sign_in_with_factor(client, "gongoragabriela", PASSWORD, codes[0])["Location"] == "/cuenta/"
    )
    assert client.session[AMR] == ["pwd", "otp", "mfa"]
    again = sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, codes[0])
    assert again.status_code == 200
    assert BackupCode.objects.filter(user=user, used_at__isnull=True).count() == 9
    assert "9" in client.get("/cuenta/seguridad/").content.decode()


def test_second_step_expires_and_cannot_be_reached_without_the_password(user, client):
    codes, _ = with_second_factor(user)
    assert client.get("/ingresar/verificacion/")["Location"] == "/ingresar/"
    client.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    clock.advance(timedelta(minutes=11))
    late = client.post("/ingresar/verificacion/", {"method": "backup", "code": codes[0]})
    assert late["Location"] == "/ingresar/" and "_auth_user_id" not in client.session


def test_mf2_guesses_are_throttled_per_account_and_the_right_code_then_waits(user):
    _, secret = with_second_factor(user)
    browser = Client()
    browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    for _ in range(10):
        assert (
            browser.post("/ingresar/verificacion/", {"method": "app", "code": "000000"}).status_code
            == 200
        )
    right = browser.post(
        "/ingresar/verificacion/", {"method": "app", "code": pyotp.TOTP(secret).now()}
    )
    assert right.status_code == 200 and "Espere una hora" in right.content.decode()
    assert AuditEvent.objects.filter(event="factor.throttled").exists()
    assert AuditEvent.objects.filter(event="factor.rejected").count() == 10


def test_mf2_no_secret_or_code_in_logs_or_audit(user, client, caplog):
    codes, secret = with_second_factor(user)
    sign_in_with_factor(client, "gongoragabriela", PASSWORD, codes[1])
    sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, "999999")
    details = " ".join(str(event.details) for event in AuditEvent.objects.all())
    for value in (secret, codes[1], codes[1].replace("-", ""), "999999"):
        assert value not in caplog.text and value not in details


def test_mf3_fc5_a_reset_link_alone_never_sets_the_password(user, client, mailbox, worker):
    _, secret = with_second_factor(user)
    ask_reset(client, "gongoragabriela")
    worker.drain()
    link = link_in(mailbox.messages[-1])
    response = set_password(client, link, NEW_PASSWORD)  # posts the new password straight away
    assert response.status_code == 200 and "segundo factor" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    wrong = client.post("/restablecer/", {"method": "app", "code": "123456"})
    assert wrong.status_code == 200 and "no es correcto" in wrong.content.decode()
    assert (
        client.post("/restablecer/", {"method": "app", "code": pyotp.TOTP(secret).now()})[
            "Location"
        ]
        == "/restablecer/"
    )
    done = client.post(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == "/restablecer/listo/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The new password alone still does not sign in: the factor stays (no bypass, MF3).
    assert (
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": NEW_PASSWORD})[
            "Location"
        ]
        == "/ingresar/verificacion/"
    )


def test_mf3_fc5_the_emailed_code_alone_never_sets_the_password(user, client, mailbox, worker):
    codes, _ = with_second_factor(user)
    ask_reset(client, "gongoragabriela")
    worker.drain()
    code = re.search(r"\b(\d{4} \d{4})\b", text_of(mailbox.messages[-1])).group(1)  # type: ignore[union-attr]
    assert (
        client.post("/restablecer/codigo/", {"username": "gongoragabriela", "code": code})[
            "Location"
        ]
        == "/restablecer/"
    )
    refused = client.post(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert refused.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # A backup code proves the factor (MF3 allows it); the proof holds for this reset only.
    client.post("/restablecer/", {"method": "backup", "code": codes[2]})
    assert (
        client.post(
            "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )["Location"]
        == "/restablecer/listo/"
    )


def test_mf3_the_flow_refuses_a_reset_without_a_factor_whatever_the_view_does(user, worker):
    from portero.core.client import ClientInfo

    flow = importlib.import_module("portero.recovery.flows.password_reset")

    with_second_factor(user)
    flow.request_password_reset(
        username="gongoragabriela", client=ClientInfo(ip=None, user_agent="", language="es-co")
    )
    worker.drain()
    from portero.recovery.models import PasswordReset

    reset = PasswordReset.objects.get()
    with pytest.raises(flow.SecondFactorRequired):
        flow.complete_password_reset(
            selector=reset.selector,
            password=NEW_PASSWORD,
            client=ClientInfo(ip=None, user_agent="", language="es-co"),
        )
    reset.refresh_from_db()
    assert reset.used_at is None


def test_username_reminder_is_unchanged_by_a_factor(user, client, mailbox, worker):
    with_second_factor(user)
    client.post("/recuperar/usuario/", {"email": "gabriela@example.com"})
    worker.drain()
    assert "gongoragabriela" in text_of(mailbox.messages[-1])


def test_mf5_changes_need_a_fresh_proof_and_send_a_notice(user, client, mailbox, worker):
    _signed_in(client)
    clock.advance(timedelta(minutes=6))
    asked = client.get("/cuenta/seguridad/aplicacion/")
    assert asked["Location"].startswith("/cuenta/confirmar/?next=")
    wrong = client.post(asked["Location"], {"password": "no es la clave"})
    assert wrong.status_code == 200
    assert client.get("/cuenta/seguridad/aplicacion/").status_code == 302  # still asked
    assert (
        client.post(asked["Location"], {"password": PASSWORD})["Location"]
        == "/cuenta/seguridad/aplicacion/"
    )
    _enrol(client)
    worker.drain()
    notice = [m for m in mailbox.messages if "aplicación de autenticación" in text_of(m)]
    assert notice and notice[0]["To"] == "gabriela@example.com"
    # Removing it: again a fresh proof once 5 minutes have passed, and another notice.
    clock.advance(timedelta(minutes=6))
    assert client.post("/cuenta/seguridad/aplicacion/quitar/")["Location"].startswith(
        "/cuenta/confirmar/"
    )
    assert AuthenticatorApp.objects.filter(user=user).exists()
    client.post("/cuenta/confirmar/?next=/cuenta/seguridad/", {"password": PASSWORD})
    client.post("/cuenta/seguridad/aplicacion/quitar/")
    assert not AuthenticatorApp.objects.filter(user=user).exists()
    assert not BackupCode.objects.filter(user=user).exists()  # nothing left to back up
    changes = [
        email.context["change"]
        for email in OutboundEmail.objects.filter(kind=EmailKind.FACTOR_CHANGED).order_by("pk")
    ]
    assert changes == ["totp_added", "backup_codes_generated", "totp_removed"]
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"factor.added", "factor.removed", "factor.backup_codes_generated"} <= events


def test_mf5_new_backup_codes_replace_the_old_ones(user, client):
    codes, _ = with_second_factor(user)
    sign_in_with_factor(client, "gongoragabriela", PASSWORD, codes[0])
    client.post("/cuenta/seguridad/codigos/")
    page = client.get("/cuenta/seguridad/codigos/").content.decode()
    fresh = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, codes[1]).status_code == 200
    assert sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, fresh[0]).status_code == 302


def _agent(username: str = "agente.mfa"):  # type: ignore[no-untyped-def]
    from portero.accounts.services import user_create

    agent = user_create(
        username=username, email=f"{username}@mesa.example", is_staff=True, password=PASSWORD
    )
    agent.groups.add(Group.objects.get(name=AGENT_GROUP))
    return agent


def test_mf6_the_console_sends_an_agent_without_a_factor_to_enrol(client):
    _agent()
    _signed_in(client, "agente.mfa")
    assert client.get("/mesa/")["Location"] == "/cuenta/seguridad/"


def test_mf6_a_password_only_session_of_an_agent_with_a_factor_must_step_up(client, settings):
    agent = _agent()
    codes, _ = with_second_factor(agent)
    sign_in_with_factor(client, "agente.mfa", PASSWORD, codes[0])
    assert client.get("/mesa/").status_code == 200
    settings.PORTERO_MFA_REQUIRED = "off"
    plain = Client()
    plain.force_login(agent)  # a session that never gave the factor
    assert plain.get("/mesa/").status_code == 200
    settings.PORTERO_MFA_REQUIRED = "roles"
    assert plain.get("/mesa/?q=x")["Location"] == "/ingresar/verificacion/"
    assert (
        plain.post("/ingresar/verificacion/", {"method": "backup", "code": codes[1]})["Location"]
        == "/mesa/?q=x"
    )
    assert plain.get("/mesa/").status_code == 200


def test_mfa_required_all_asks_everyone_to_enrol_after_sign_in(user, client, settings):
    settings.PORTERO_MFA_REQUIRED = "all"
    response = client.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response["Location"] == "/cuenta/seguridad/"
    page = client.get("/cuenta/seguridad/").content.decode()
    assert "debe tener un segundo factor" in page
    secret = _enrol(client)
    assert secret
    page = client.get("/cuenta/seguridad/codigos/").content.decode()
    assert "continuar" in page.lower()
    assert client.post("/cuenta/seguridad/continuar/")["Location"] == "/cuenta/"


def test_another_person_with_a_factor_signing_in_on_a_signed_in_browser_replaces_them(user, client):
    from portero.accounts.models import SessionRecord
    from portero.accounts.services import user_create

    other = user_create(username="otra.persona", email="otra@example.com", password=PASSWORD)
    codes, _ = with_second_factor(other)
    _signed_in(client)  # gongoragabriela, password only
    first_key = client.session.session_key
    assert SessionRecord.objects.filter(session_key=first_key, user=user).exists()
    client.post("/ingresar/", {"username": "otra.persona", "password": PASSWORD})
    assert client.session.session_key == first_key  # still hers until the second step
    assert (
        client.post("/ingresar/verificacion/", {"method": "backup", "code": codes[0]})["Location"]
        == "/cuenta/"
    )
    assert client.session["_auth_user_id"] == str(other.pk)
    assert not SessionRecord.objects.filter(user=user).exists()
    assert SessionRecord.objects.filter(user=other, session_key=client.session.session_key).exists()


def test_factor_events_read_in_the_owners_history(user, client):
    codes, _ = with_second_factor(user)
    sign_in_with_factor(client, "gongoragabriela", PASSWORD, codes[0])
    sign_in_with_factor(Client(), "gongoragabriela", PASSWORD, "000000")
    page = client.get("/cuenta/historial/").content.decode()
    for label in (
        "Se generaron códigos de respaldo nuevos",
        "Se usó un código de respaldo",
        "Código o llave de acceso incorrectos en el segundo factor",
    ):
        assert label in page, label
