"""Passkeys in a real browser: Debian's Chromium with its virtual authenticator (CDP WebAuthn
domain: CTAP2, internal transport, resident keys, user verification) against `portero serve`
and `portero worker` on http://localhost (an RP ID is a domain: on 127.0.0.1, where the other
browser tests run, passkeys are unavailable, and the last test here checks the pages say so).

The journey: sign in with the password, add a passkey from "Mi cuenta", sign out, sign in with
the passkey alone (the button, no username), remove it; axe-core on each new page and state,
at desktop width and at 375 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from portero.audit.models import AuditEvent
from portero.factors.models import Passkey
from tests.browser.support import (
    Profile,
    SiteInfo,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    import_playwright,
    mail_to,
    new_account,
)
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import text_of
from tests.processes import PorteroProcess, database_url, free_port, wait_until_serving

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "es-CO": {
        "sign_in": "Ingresar",
        "passkey_sign_in": "Ingresar con una llave de acceso",
        "add": "Agregar una llave de acceso",
        "name": "Nombre de esta llave de acceso",
        "create": "Crear llave de acceso",
        "saved": "Ya los guardé",
        "remove": "Quitar la llave de acceso “Mi celular”",
        "sign_out": "Cerrar sesión",
        "my_account": "Mi cuenta",
        "removed": "La llave de acceso se quitó",
        "two_step": "Verificación en dos pasos",
        "unavailable": "no están disponibles",
        "username": "Nombre de usuario",
        "password": "Contraseña",
        "use": "Usar mi llave de acceso",
    },
    "en": {
        "sign_in": "Sign in",
        "passkey_sign_in": "Sign in with a passkey",
        "add": "Add a passkey",
        "name": "Name for this passkey",
        "create": "Create passkey",
        "saved": "I saved them",
        "remove": "Remove the passkey “Mi celular”",
        "sign_out": "Sign out",
        "my_account": "My account",
        "removed": "The passkey was removed",
        "two_step": "Two-step verification",
        "unavailable": "not available",
        "username": "Username",
        "password": "Password",
        "use": "Use my passkey",
    },
}


# Chromium's virtual authenticator answers a conditional (autofill) request at once, as if the
# person had picked the passkey in the username field's list: the sign-in page then signs in on
# its own. A test that wants the button sets this page-side switch first.
NO_AUTOFILL_SWITCH = """
if (window.localStorage && localStorage.getItem("no-autofill") === "1" && window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
}
"""


def _no_autofill(page: Any) -> None:
    page.evaluate("() => localStorage.setItem('no-autofill', '1')")


@pytest.fixture(scope="module")
def passkey_site(
    django_db_setup: None,
    smtp_server: tuple[SMTPSink, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SiteInfo]:
    """`portero serve` and `portero worker` whose base URL is http://localhost:<port>."""
    sink, smtp_port = smtp_server
    port, var_dir = free_port(), tmp_path_factory.mktemp("portero-passkeys")
    base = f"http://localhost:{port}"
    env = {
        "PORTERO_ENV": "demo",
        "PORTERO_VAR_DIR": str(var_dir),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        "PORTERO_RATE_LIMITS": "off",
        "PORTERO_SITE_NAME": "SECOP II",
        "PORTERO_HELPDESK_NAME": "Mesa de Servicio",
    }
    server = PorteroProcess(("serve",), env, var_dir / "serve.log").start()
    worker = PorteroProcess(("worker",), env, var_dir / "worker.log").start()
    try:
        assert server.popen is not None
        wait_until_serving(f"http://127.0.0.1:{port}/ingresar/", server.popen, server.output)
        yield SiteInfo(
            base=base,
            sink=sink,
            logs=(server.log, worker.log),
            processes=(server.popen, worker.popen),
        )
    finally:
        worker.stop()
        server.stop()


@pytest.fixture
def passkey_page(
    browser: Any, passkey_site: SiteInfo, profile: Profile, request: pytest.FixtureRequest
) -> Iterator[tuple[Any, Any, str]]:
    """A page whose browser has a virtual platform authenticator; yields (page, cdp, its id)."""
    context = browser.new_context(base_url=passkey_site.base, **profile.context_options())
    context.set_default_timeout(15_000)
    context.add_init_script(NO_AUTOFILL_SWITCH)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page, cdp, added["authenticatorId"]
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for log in passkey_site.logs:
            print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-3000:]}")
    context.close()


def _audit(page: Any, profile: Profile, state: str, problems: list[str]) -> None:
    page.wait_for_load_state("load")
    violations = axe_violations(page)
    if violations:
        problems.append(describe_violations(f"{profile} {state}", violations))
    if overflow := horizontal_overflow(page):
        problems.append(f"{profile} {state}: {overflow}px wider than the window")


@pytest.mark.profiles("pair")
def test_register_sign_out_sign_in_with_the_passkey_alone_and_remove_it(
    passkey_page: tuple[Any, Any, str], profile: Profile, passkey_site: SiteInfo
) -> None:
    page, cdp, authenticator = passkey_page
    words, problems = WORDS[profile.language], list[str]()
    user = new_account(profile)

    # Sign in with the password; Mi cuenta > Verificación en dos pasos > add a passkey.
    page.goto("/ingresar/")
    page.get_by_label(words["username"], exact=True).fill(user.username)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["my_account"])
    page.get_by_role("link", name=words["two_step"]).click()
    _audit(page, profile, "security page without passkeys", problems)
    page.get_by_role("link", name=words["add"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["add"])
    _audit(page, profile, "add a passkey", problems)
    page.get_by_label(words["name"]).fill("Mi celular")
    page.get_by_role("button", name=words["create"]).click()
    # The first factor brings backup codes, shown once.
    expect(page).to_have_url(f"{passkey_site.base}/cuenta/seguridad/codigos/")
    page.get_by_role("link", name=words["saved"]).click()
    expect(page.get_by_text("Mi celular", exact=True)).to_be_visible()
    _audit(page, profile, "security page with a passkey", problems)
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "Mi celular"
    notices = mail_to(passkey_site.sink, user.email, 2, recovery=False)
    assert any("Mi celular" in text_of(message) for message in notices)  # told (MF5)

    # Sign out: the sign-in page's autofill request (conditional mediation) gets the passkey.
    page.goto("/cuenta/")
    page.get_by_role("button", name=words["sign_out"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["my_account"])
    autofilled = AuditEvent.objects.filter(event="sign_in.ok", user=user).latest("pk")
    assert autofilled.details["amr"] == ["hwk", "user", "mfa"]

    # Sign out again, and sign in with the button: no username typed either.
    _no_autofill(page)
    page.get_by_role("button", name=words["sign_out"]).click()
    button = page.get_by_role("button", name=words["passkey_sign_in"])
    expect(button).to_be_visible()  # shown by the script: this browser can use passkeys
    _audit(page, profile, "sign-in page with the passkey button", problems)
    button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["my_account"])
    signed_in = AuditEvent.objects.filter(event="sign_in.ok", user=user).latest("pk")
    assert signed_in.pk != autofilled.pk and signed_in.details["amr"] == ["hwk", "user", "mfa"]
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None

    # Remove it (the passkey sign-in is this session's fresh proof, MF5).
    page.get_by_role("link", name=words["two_step"]).click()
    page.get_by_role("button", name=words["remove"]).click()
    expect(page.get_by_text(words["removed"])).to_be_visible()
    _audit(page, profile, "security page after removing the passkey", problems)
    assert not Passkey.objects.filter(user=user).exists()
    changes = list(
        AuditEvent.objects.filter(user=user, event__startswith="factor.")
        .values_list("event", flat=True)
        .order_by("pk")
    )
    assert changes == ["factor.added", "factor.backup_codes_generated", "factor.removed"]
    assert not problems, "\n".join(problems)


@pytest.mark.profiles("pair")
def test_the_second_step_takes_the_passkey_after_the_password(
    passkey_page: tuple[Any, Any, str], profile: Profile, passkey_site: SiteInfo
) -> None:
    page, _, _ = passkey_page
    words, problems = WORDS[profile.language], list[str]()
    user = new_account(profile)
    page.goto("/ingresar/")
    _no_autofill(page)
    page.get_by_label(words["username"], exact=True).fill(user.username)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    page.goto("/cuenta/seguridad/llaves/nueva/")
    page.get_by_label(words["name"]).fill("Mi celular")
    page.get_by_role("button", name=words["create"]).click()
    expect(page).to_have_url(f"{passkey_site.base}/cuenta/seguridad/codigos/")
    page.goto("/cuenta/")
    page.get_by_role("button", name=words["sign_out"]).click()
    page.get_by_label(words["username"], exact=True).fill(user.username)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    expect(page).to_have_url(f"{passkey_site.base}/ingresar/verificacion/")
    _audit(page, profile, "second step with a passkey", problems)
    page.get_by_role("button", name=words["use"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["my_account"])
    signed_in = AuditEvent.objects.filter(event="sign_in.ok", user=user).latest("pk")
    assert signed_in.details["amr"] == ["pwd", "hwk", "user", "mfa"]
    assert not problems, "\n".join(problems)


@pytest.mark.profiles("pair")
def test_on_an_ip_address_the_pages_say_passkeys_are_unavailable(
    new_context: Any, profile: Profile
) -> None:
    """The other browser tests' server runs on http://127.0.0.1: no passkey button, and
    "Mi cuenta" says why instead of failing."""
    words, problems = WORDS[profile.language], list[str]()
    page = new_context(profile).new_page()
    user = new_account(profile)
    page.goto("/ingresar/")
    expect(page.get_by_role("button", name=words["passkey_sign_in"])).to_have_count(0)
    page.get_by_label(words["username"], exact=True).fill(user.username)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    page.goto("/cuenta/seguridad/llaves/nueva/")
    expect(page.get_by_text(words["unavailable"])).to_be_visible()
    _audit(page, profile, "passkeys unavailable", problems)
    assert not problems, "\n".join(problems)
