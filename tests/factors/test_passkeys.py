"""Passkeys (SECURITY.md L: MF1, MF2, MF3/FC5, MF5): registration from "Mi cuenta", sign-in
without a username, the second step, the reset's factor, fresh proof and step-up, each through
the real views with a software authenticator (tests/factors/soft_passkey.py) answering
python-fido2's options as a browser would."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory, override_settings
from fido2.utils import websafe_decode, websafe_encode

from portero.accounts.flows import AMR, RETURN_TO
from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.factors import passkeys
from portero.factors.flows import STEP_UP
from portero.factors.models import BackupCode, Passkey
from portero.mail.models import EmailKind, OutboundEmail
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.factors.soft_passkey import SoftPasskey
from tests.helpers import ask_reset, link_in, with_second_factor

pytestmark = pytest.mark.django_db

OPTIONS = "/ingresar/llave/opciones/"
ADD = "/cuenta/seguridad/llaves/nueva/"
ADD_OPTIONS = "/cuenta/seguridad/llaves/opciones/"
REFUSED = "No pudimos ingresar con esa llave de acceso"


def _signed_in(client: Client, username: str = "gongoragabriela") -> Client:
    assert (
        client.post("/ingresar/", {"username": username, "password": PASSWORD}).status_code == 302
    )
    return client


def _register(client: Client, device: SoftPasskey, name: str = "Mi celular", **how) -> Any:
    options = client.post(ADD_OPTIONS).json()
    return client.post(ADD, {"name": name, "credential": device.create(options, **how)})


def _with_passkey(user, client: Client | None = None) -> SoftPasskey:  # type: ignore[no-untyped-def]
    """Register a passkey for `user` through the pages; return the device that holds it."""
    browser = _signed_in(client or Client(), user.username)
    device = SoftPasskey()
    assert _register(browser, device).status_code == 302
    if client is None:
        browser.post("/salir/")
    OutboundEmail.objects.filter(kind=EmailKind.FACTOR_CHANGED).delete()  # not news here
    return device


def _options(client: Client, purpose: str) -> dict:
    response = client.post(OPTIONS, {"purpose": purpose})
    assert response.status_code == 200, response.content
    return response.json()


def _sign_in(client: Client, device: SoftPasskey, **how) -> object:
    """The sign-in page's button: options for anyone, the device's answer posted."""
    return client.post(
        "/ingresar/llave/", {"credential": device.get(_options(client, "sign_in"), **how)}
    )


# --- Registration (MF1, MF5) ---------------------------------------------------------------


def test_mf1_registration_options_require_verification_and_a_discoverable_credential(user, client):
    _signed_in(client)
    options = client.post(ADD_OPTIONS).json()["publicKey"]
    assert options["rp"] == {"id": "cuentas.portero.test", "name": "SECOP II"}
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["requireResidentKey"] is True
    assert options["excludeCredentials"] == []
    assert options["timeout"] == 300_000 and options["attestation"] == "none"
    # The user handle is opaque and stable: a keyed digest of the account's pk, never its name.
    handle = websafe_decode(options["user"]["id"])
    assert len(handle) == 32 and b"gongora" not in handle
    assert handle == passkeys.user_handle(user)
    assert websafe_decode(client.post(ADD_OPTIONS).json()["publicKey"]["user"]["id"]) == handle
    assert options["user"]["name"] == "gongoragabriela"


def test_mf1_a_passkey_is_added_named_listed_and_told_to_the_owner(user, client):
    _signed_in(client)
    page = client.get(ADD).content.decode()
    assert 'data-passkey="create"' in page and 'name="name"' in page
    assert "<script>" not in page and "/static/portero/passkeys.js" in page
    device = SoftPasskey()
    first = _register(client, device, name="  Mi   celular ")
    # The first factor brings backup codes, shown once, as after an authenticator app.
    assert first["Location"] == "/cuenta/seguridad/codigos/"
    assert BackupCode.objects.filter(user=user).count() == 10
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "Mi celular" and bytes(passkey.credential_id) == device.credential_id
    security = client.get("/cuenta/seguridad/").content.decode()
    assert "Mi celular" in security and "Aún no se ha usado." in security
    assert 'Quitar<span class="visually-hidden"> la llave de acceso “Mi celular”' in security
    changes = [
        email.context["change"]
        for email in OutboundEmail.objects.filter(kind=EmailKind.FACTOR_CHANGED).order_by("pk")
    ]
    assert changes == ["passkey_added", "backup_codes_generated"]
    added = AuditEvent.objects.get(event="factor.added")
    assert added.details["method"] == "passkey" and added.details["name"] == "Mi celular"
    # Registering with user verification counts as this session's second factor.
    assert client.session[AMR] == ["pwd", "hwk", "user", "mfa"]


def test_mf1_the_same_device_is_not_registered_twice(user, client):
    _signed_in(client)
    device = SoftPasskey()
    _register(client, device)
    options = client.post(ADD_OPTIONS).json()["publicKey"]
    assert [d["id"] for d in options["excludeCredentials"]] == [
        websafe_encode(device.credential_id)
    ]
    with pytest.raises(ValueError, match="InvalidStateError"):
        device.create({"publicKey": options})


REFUSALS = {  # what the software authenticator is told to do wrong, and why it is refused
    "no-user-verification": ({"verified": False}, "User verification required"),
    "other-origin": ({"origin": "https://evil.example"}, "Invalid origin"),
    # fido2's default check would let a subdomain in; ours wants the exact origin.
    "subdomain": ({"origin": "https://sub.cuentas.portero.test"}, "Invalid origin"),
    "http": ({"origin": "http://cuentas.portero.test"}, "Invalid origin"),
    "other-rp-id": ({"rp_id": "portero.test"}, "Wrong RP ID hash"),
}


def _request(user):  # type: ignore[no-untyped-def]
    request = RequestFactory().post("/")
    request.session = SessionStore()
    request.user = user
    return request


@pytest.mark.parametrize("case", REFUSALS)
def test_mf1_a_registration_that_proves_nothing_is_refused(user, client, case):
    how, reason = REFUSALS[case]
    request = _request(user)
    answer = SoftPasskey().create(passkeys.registration_options(request, user=user), **how)
    with pytest.raises(passkeys.PasskeyError, match=reason):
        passkeys.registration_verify(request, user=user, response=answer)
    _signed_in(client)  # and through the page, which says so
    response = _register(client, SoftPasskey(), **how)
    assert response.status_code == 200
    assert "No se creó la llave de acceso" in response.content.decode()
    assert not Passkey.objects.exists()


def test_mf1_a_registration_answer_works_once_and_only_in_its_session(user, client):
    _signed_in(client)
    device = SoftPasskey()
    answer = device.create(client.post(ADD_OPTIONS).json())
    thief = _signed_in(Client())
    assert thief.post(ADD, {"name": "X", "credential": answer}).status_code == 200
    assert client.post(ADD, {"name": "A", "credential": answer}).status_code == 302
    assert client.post(ADD, {"name": "B", "credential": answer}).status_code == 200
    assert Passkey.objects.count() == 1


def test_mf1_without_script_the_add_page_explains_instead_of_failing(user, client):
    _signed_in(client)
    response = client.post(ADD, {"name": "Mi celular", "credential": ""})
    assert response.status_code == 200 and "JavaScript" in response.content.decode()
    empty = client.post(ADD, {"name": "   ", "credential": ""}).content.decode()
    assert "Escriba un nombre para esta llave de acceso" in empty


def test_mf5_adding_and_removing_a_passkey_need_a_fresh_proof(user, client):
    _signed_in(client)
    clock.advance(timedelta(minutes=6))
    assert client.get(ADD)["Location"].startswith("/cuenta/confirmar/?next=")
    assert client.post(ADD_OPTIONS).status_code == 403
    client.post("/cuenta/confirmar/?next=/cuenta/seguridad/", {"password": PASSWORD})
    _register(client, SoftPasskey())
    passkey = Passkey.objects.get(user=user)
    clock.advance(timedelta(minutes=6))
    remove = f"/cuenta/seguridad/llaves/{passkey.pk}/quitar/"
    assert client.post(remove)["Location"].startswith("/cuenta/confirmar/")
    assert Passkey.objects.filter(pk=passkey.pk).exists()
    client.post("/cuenta/confirmar/?next=/cuenta/seguridad/", {"password": PASSWORD})
    assert client.post(remove)["Location"] == "/cuenta/seguridad/"
    assert not Passkey.objects.exists()
    assert not BackupCode.objects.filter(user=user).exists()  # nothing left to back up
    changes = list(
        OutboundEmail.objects.filter(kind=EmailKind.FACTOR_CHANGED)
        .order_by("pk")
        .values_list("context__change", flat=True)
    )
    assert changes[-1] == "passkey_removed"


def test_mf5_someone_elses_passkey_cannot_be_removed(user, client):
    other = user_create(username="otra.persona", email="otra@example.com", password=PASSWORD)
    _with_passkey(other)
    _signed_in(client)
    client.post(f"/cuenta/seguridad/llaves/{Passkey.objects.get().pk}/quitar/")
    assert Passkey.objects.filter(user=other).exists()


# --- Sign-in without a username -------------------------------------------------------------


def test_sign_in_page_offers_a_passkey_button_and_autofill_and_works_without_script(client):
    page = client.get("/ingresar/").content.decode()
    assert 'autocomplete="username webauthn"' in page
    form = re.search(r'<form method="post" class="form passkey-form"[^>]*>', page).group(0)  # type: ignore[union-attr]
    assert " hidden" in form and "data-passkey-conditional" in form  # shown by the script only
    assert 'action="/ingresar/llave/"' in form
    assert "Ingresar con una llave de acceso" in page
    assert "<script>" not in page and "/static/portero/passkeys.js" in page
    # The password path is untouched: the first form still signs in without any script.
    assert page.index('action="/ingresar/"') < page.index('action="/ingresar/llave/"')


def test_mf1_a_passkey_alone_signs_in_as_both_factors(user, client):
    device = _with_passkey(user)
    options = _options(client, "sign_in")["publicKey"]
    assert "allowCredentials" not in options  # any passkey: the browser lists them
    assert options["userVerification"] == "required" and options["rpId"] == "cuentas.portero.test"
    response = client.post("/ingresar/llave/", {"credential": device.get({"publicKey": options})})
    assert response["Location"] == "/cuenta/"
    assert client.session[AMR] == ["hwk", "user", "mfa"]
    passkey = Passkey.objects.get()
    assert passkey.sign_count == device.counter == 1 and passkey.last_used_at is not None
    signed_in = AuditEvent.objects.filter(event="sign_in.ok").latest("pk")
    assert signed_in.details["amr"] == ["hwk", "user", "mfa"]
    assert "Mi celular" in client.get("/cuenta/seguridad/").content.decode()


def test_a_passkey_sign_in_continues_to_the_portal_waiting(user, client):
    device = _with_passkey(user)
    session = client.session
    session[RETURN_TO] = {"url": "/o/authorize/?client_id=portal", "at": clock.now().timestamp()}
    session.save()
    assert _sign_in(client, device)["Location"] == "/o/authorize/?client_id=portal"
    other = Client()
    answer = device.get(_options(other, "sign_in"))
    assert (
        other.post("/ingresar/llave/", {"credential": answer, "next": "/cuenta/sesiones/"})[
            "Location"
        ]
        == "/cuenta/sesiones/"
    )


SIGN_IN_REFUSALS = {
    **REFUSALS,
    "other-challenge": ({"challenge": "A" * 43}, "no such ceremony"),
    # The device counts: going back to 0 after 1 looks like a cloned authenticator.
    "counter": ({"counter": 0}, "counter went backwards"),
}


@pytest.mark.parametrize("case", SIGN_IN_REFUSALS)
def test_mf1_a_sign_in_answer_that_proves_nothing_is_refused(user, client, case):
    how, reason = SIGN_IN_REFUSALS[case]
    device = _with_passkey(user)
    assert _sign_in(Client(), device)["Location"] == "/cuenta/"  # counter now 1
    response = _sign_in(client, device, **how)
    assert response["Location"] == "/ingresar/"
    assert "_auth_user_id" not in client.session
    assert REFUSED in client.get("/ingresar/").content.decode()
    rejected = AuditEvent.objects.filter(event="factor.rejected").latest("pk")
    assert rejected.details["method"] == "passkey" and rejected.details["purpose"] == "sign_in"
    assert reason in rejected.details["reason"] and rejected.user_id == user.pk


def test_mf1_a_device_that_keeps_no_counter_signs_in_again_and_again(user):
    browser = _signed_in(Client())
    device = SoftPasskey(counting=False)
    _register(browser, device)
    for _ in range(3):
        assert _sign_in(Client(), device)["Location"] == "/cuenta/"
    assert Passkey.objects.get().sign_count == 0


def test_mf1_an_answer_is_never_accepted_twice(user, client):
    device = _with_passkey(user)
    answer = device.get(_options(client, "sign_in"))
    assert client.post("/ingresar/llave/", {"credential": answer})["Location"] == "/cuenta/"
    replay = Client()
    _options(replay, "sign_in")
    assert replay.post("/ingresar/llave/", {"credential": answer})["Location"] == "/ingresar/"
    client.post("/salir/")
    assert client.post("/ingresar/llave/", {"credential": answer})["Location"] == "/ingresar/"


def test_mf1_a_challenge_expires_after_five_minutes(user, client):
    device = _with_passkey(user)
    answer = device.get(_options(client, "sign_in"))
    clock.advance(timedelta(minutes=6))
    assert client.post("/ingresar/llave/", {"credential": answer})["Location"] == "/ingresar/"


def test_mf2_known_and_unknown_passkeys_are_refused_alike(user):
    device = _with_passkey(user)
    answers = []
    for credential in (device, SoftPasskey()):  # a wrong signature; a passkey nobody has here
        browser = Client()
        answer = credential.get(_options(browser, "sign_in"), verified=False)
        response = browser.post("/ingresar/llave/", {"credential": answer})
        answers.append(
            (
                response.status_code,
                response["Location"],
                browser.get("/ingresar/").content.decode().count(REFUSED),
            )
        )
    assert answers[0] == answers[1] == (302, "/ingresar/", 1)


def test_mf1_a_passkey_answering_for_another_account_is_refused(user):
    device = _with_passkey(user)
    browser = Client()
    forged = device.get(_options(browser, "sign_in"), user_handle=b"\x01" * 32)
    assert browser.post("/ingresar/llave/", {"credential": forged})["Location"] == "/ingresar/"


def test_a_disabled_account_cannot_sign_in_with_its_passkey(user):
    device = _with_passkey(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _sign_in(Client(), device)["Location"] == "/ingresar/"


def test_mf2_passkey_failures_are_throttled_per_account_like_codes(user):
    device = _with_passkey(user)
    for _ in range(10):
        assert _sign_in(Client(), device, verified=False)["Location"] == "/ingresar/"
    browser = Client()
    assert _sign_in(browser, device)["Location"] == "/ingresar/"  # the right one waits too
    assert "Espere una hora" in browser.get("/ingresar/").content.decode()
    assert AuditEvent.objects.filter(event="factor.rejected").count() == 10
    throttled = AuditEvent.objects.get(event="factor.throttled")
    assert throttled.user_id == user.pk and throttled.details["method"] == "passkey"


def test_mf2_garbage_is_refused_and_counted(user, client):
    for garbage in (
        "",
        "null",
        "[]",
        "{}",
        '{"rawId": "%%%"}',
        "x" * 20_000,
        json.dumps({"rawId": "AA", "response": {"clientDataJSON": "e30"}}),
    ):
        assert client.post("/ingresar/llave/", {"credential": garbage}).status_code == 302
    assert AuditEvent.objects.filter(event="factor.rejected").count() == 7


# --- The second step, step-up, fresh proof, reset -------------------------------------------


def test_second_step_with_a_passkey_after_the_password(user, client):
    device = _with_passkey(user)
    first = client.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert first["Location"] == "/ingresar/verificacion/"
    page = client.get("/ingresar/verificacion/").content.decode()
    assert "Usar mi llave de acceso" in page and 'action="/ingresar/verificacion/llave/"' in page
    options = _options(client, "second_step")["publicKey"]
    assert [d["id"] for d in options["allowCredentials"]] == [websafe_encode(device.credential_id)]
    response = client.post(
        "/ingresar/verificacion/llave/", {"credential": device.get({"publicKey": options})}
    )
    assert response["Location"] == "/cuenta/"
    assert client.session[AMR] == ["pwd", "hwk", "user", "mfa"]


def test_second_step_refuses_another_accounts_passkey(user, client):
    other = user_create(username="otra.persona", email="otra@example.com", password=PASSWORD)
    theirs = _with_passkey(other)
    _with_passkey(user)
    client.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    options = _options(client, "second_step")
    options["publicKey"]["allowCredentials"] = []  # a browser that offers any passkey
    response = client.post("/ingresar/verificacion/llave/", {"credential": theirs.get(options)})
    assert response["Location"] == "/ingresar/verificacion/"
    assert "_auth_user_id" not in client.session


def test_second_step_options_need_the_password_first(user, client):
    _with_passkey(user)
    assert client.post(OPTIONS, {"purpose": "second_step"}).status_code == 403
    assert client.post(OPTIONS, {"purpose": "proof"}).status_code == 403
    assert client.post(OPTIONS, {"purpose": "everything"}).status_code == 400


def test_step_up_with_a_passkey_keeps_the_session(user, client):
    device = _with_passkey(user)
    codes, _ = with_second_factor(user)
    client.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    client.post("/ingresar/verificacion/", {"method": "backup", "code": codes[0]})
    session = client.session
    session[AMR] = ["pwd"]  # as if the session had given only its password
    session[STEP_UP] = {"destination": "/cuenta/sesiones/", "at": clock.now().timestamp()}
    session.save()
    key = client.session.session_key
    response = client.post(
        "/ingresar/verificacion/llave/", {"credential": device.get(_options(client, "second_step"))}
    )
    assert response["Location"] == "/cuenta/sesiones/"
    assert client.session.session_key == key
    assert client.session[AMR] == ["pwd", "hwk", "user", "mfa"]


def test_mf5_a_passkey_is_a_fresh_proof(user, client):
    device = _with_passkey(user)
    _sign_in(client, device)
    clock.advance(timedelta(minutes=6))
    asked = client.get("/cuenta/seguridad/codigos/")
    confirm = client.get("/cuenta/confirmar/?next=/cuenta/seguridad/llaves/nueva/").content
    assert "Confirmar con mi llave de acceso" in confirm.decode()
    assert asked.status_code == 200  # the codes page itself asks only when making new ones
    assert client.get(ADD)["Location"].startswith("/cuenta/confirmar/")
    response = client.post(
        "/cuenta/confirmar/llave/",
        {"credential": device.get(_options(client, "proof")), "next": ADD},
    )
    assert response["Location"] == ADD
    assert client.get(ADD).status_code == 200
    wrong = client.post(
        "/cuenta/confirmar/llave/",
        {"credential": device.get(_options(client, "proof"), verified=False), "next": ADD},
    )
    assert wrong["Location"].startswith("/cuenta/confirmar/?next=")


def test_mf3_fc5_a_reset_takes_a_passkey_as_its_factor(user, client, mailbox, worker):
    device = _with_passkey(user)
    ask_reset(client, "gongoragabriela")
    worker.drain()
    client.get(link_in(mailbox.messages[-1]))
    # The new password alone is refused: the passkey comes first (MF3).
    refused = client.post(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    page = refused.content.decode()
    assert refused.status_code == 200 and "Usar mi llave de acceso" in page
    assert 'data-passkey-purpose="reset"' in page
    wrong = client.post(
        "/restablecer/", {"credential": device.get(_options(client, "reset"), verified=False)}
    )
    assert wrong["Location"] == "/restablecer/"
    assert "Usar mi llave de acceso" in client.get("/restablecer/").content.decode()
    right = client.post("/restablecer/", {"credential": device.get(_options(client, "reset"))})
    assert right["Location"] == "/restablecer/"
    done = client.post(
        "/restablecer/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == "/restablecer/listo/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_mf3_a_reset_refuses_a_passkey_of_another_account(user, client, mailbox, worker):
    other = user_create(username="otra.persona", email="otra@example.com", password=PASSWORD)
    theirs = _with_passkey(other)
    _with_passkey(user)
    ask_reset(client, "gongoragabriela")
    worker.drain()
    client.get(link_in(mailbox.messages[-1]))
    client.post("/restablecer/", {"credential": theirs.get(_options(client, "reset"))})
    assert "Usar mi llave de acceso" in client.get("/restablecer/").content.decode()


# --- Where passkeys cannot work -----------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "works"),
    [
        ("https://cuentas.portero.test", True),
        ("http://localhost:8000", True),
        ("http://127.0.0.1:8000", False),  # an RP ID is a domain, never an address
        ("https://[::1]:8443", False),
        ("https://10.0.0.5", False),
        ("http://cuentas.portero.test", False),  # not a secure context
    ],
)
def test_passkeys_are_available_only_on_a_named_secure_origin(settings, base, works):
    settings.PORTERO_BASE_URL = base
    assert passkeys.available() is works


@override_settings(PORTERO_BASE_URL="http://127.0.0.1:8000")
def test_on_an_ip_address_the_pages_say_passkeys_are_unavailable(user, client):
    assert "data-passkey" not in client.get("/ingresar/").content.decode()
    assert client.post(OPTIONS, {"purpose": "sign_in"}).status_code == 400
    _signed_in(client)
    security = client.get("/cuenta/seguridad/").content.decode()
    assert "no están disponibles en la dirección actual" in security
    assert ADD not in security
    add = client.get(ADD).content.decode()
    assert "no están disponibles" in add and 'data-passkey="create"' not in add
    assert client.post(ADD_OPTIONS).status_code == 400


def test_english_pages_speak_of_passkeys(user):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign in with a passkey" in browser.get("/ingresar/").content.decode()
    _signed_in(browser)
    assert "Add a passkey" in browser.get("/cuenta/seguridad/").content.decode()
