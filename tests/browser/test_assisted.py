"""MF4 in a real browser: a supervisor starts an assisted recovery in the console; the owner
cancels it with the e-mail's one click; another one completes after the wait (moved into the
past by the test) and the next sign-in asks for a new factor. axe-core on every new page and
state, desktop and 375 px.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from django.contrib.auth.models import Group, Permission

from portero.accounts.models import User
from portero.accounts.services import user_create
from portero.core import clock
from portero.core.client import ClientInfo
from portero.factors.assisted import assisted_recovery_start
from portero.factors.housekeeping import assisted_recoveries_complete_due
from portero.factors.models import AssistedRecovery, AssistedRecoveryState, AuthenticatorApp
from portero.helpdesk.roles import SUPERVISOR_GROUP
from tests.browser.support import (
    Profile,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    import_playwright,
    new_account,
)
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import text_of, with_second_factor

expect = import_playwright().expect
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.profiles("pair")]

REASON = "Caso 4512: llamada de vuelta al número registrado y cédula verificada"
CANCEL_LINK = re.compile(r"https?://\S+/cuenta/recuperacion-asistida/[^\s/]+/")
WORDS = {
    "es-CO": {
        "start": "Iniciar una recuperación asistida",
        "not_me": "No fui yo, cancelar",
        "cancelled": "La recuperación asistida fue cancelada",
        "too_late": "Esta recuperación asistida ya no se puede cancelar",
        "waiting": "En espera",
        "enrol": "Configurar una aplicación de autenticación",
        "turn_on": "Activar",
        "code": "Código de su aplicación de autenticación",
        "removed": "quitó todos los segundos factores",
        "saved": "Ya los guardé, continuar",
    },
    "en": {
        "start": "Start an assisted recovery",
        "not_me": "It was not me, cancel",
        "cancelled": "The assisted recovery was cancelled",
        "too_late": "This assisted recovery can no longer be cancelled",
        "waiting": "Waiting",
        "enrol": "Set up an authenticator app",
        "turn_on": "Turn on",
        "code": "Code from your authenticator app",
        "removed": "removed every second factor",
        "saved": "I saved them, continue",
    },
}


def _checked(page: Any, where: str, problems: list[str]) -> None:
    """Run axe-core on the page, and look for sideways scrolling (375 px on the phone)."""
    page.wait_for_load_state("load")
    if violations := axe_violations(page):
        problems.append(describe_violations(where, violations))
    if overflow := horizontal_overflow(page):
        problems.append(f"{where}: {overflow}px wider than the screen")


def _supervisor(profile: Profile) -> tuple[User, list[str]]:
    member = user_create(
        username=f"supervisora.{profile}",
        email=f"sup.{profile}@mesa.example",
        is_staff=True,
        password=PASSWORD,
        language=profile.account_language,
    )
    group, _ = Group.objects.get_or_create(name=SUPERVISOR_GROUP)  # the tests empty every table
    group.permissions.add(*Permission.objects.filter(codename__in=["use_console", "supervise"]))
    member.groups.add(group)
    codes, _ = with_second_factor(member)  # the console needs one (MF6)
    return member, codes


def _sign_in(page: Any, profile: Profile, username: str, backup_code: str | None = None) -> None:
    text = profile.text
    page.goto("/ingresar/")
    page.get_by_label(text["username"], exact=True).fill(username)
    page.get_by_label(text["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=text["sign_in"], exact=True).click()
    if backup_code:
        page.goto("/ingresar/verificacion/?metodo=backup")
        page.get_by_label(text["backup_code"], exact=True).fill(backup_code)
        page.get_by_role("button", name=text["continue"], exact=True).click()


def _mail_saying(mail: SMTPSink, address: str, pattern: str, seconds: float = 20) -> str:
    """Wait for a message to `address` whose text matches `pattern`; return its text. Other
    notices may reach the address first (the worker can send the test's own set-up's)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with mail.lock:
            texts = [
                text_of(m)
                for m, (_, to) in zip(mail.messages, mail.envelopes, strict=True)
                if address in to
            ]
        found = [text for text in texts if re.search(pattern, text)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address} matching {pattern!r}: {texts}")


def _cancel_path(mail: SMTPSink, address: str) -> str:
    text = _mail_saying(mail, address, CANCEL_LINK.pattern)
    return urlsplit(CANCEL_LINK.findall(text)[0]).path


def test_mf4_the_owner_cancels_an_assisted_recovery_with_one_click(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    words, problems = WORDS[profile.language], list[str]()
    person = new_account(profile)
    with_second_factor(person)
    supervisor, codes = _supervisor(profile)

    console = new_context(profile).new_page()
    _sign_in(console, profile, supervisor.username, codes[0])
    console.goto(f"/mesa/usuario/{person.pk}/")
    _checked(console, f"{profile} console account, assisted recovery form", problems)
    console.locator("textarea[name=reason]").fill(REASON)
    console.get_by_role("button", name=words["start"], exact=True).click()
    expect(console.locator("#assisted ~ table")).to_contain_text(words["waiting"])
    expect(console.locator("#assisted ~ table")).to_contain_text(REASON)
    _checked(console, f"{profile} console account, assisted recovery waiting", problems)
    console.goto("/mesa/cola/")
    expect(console.get_by_role("link", name=person.username)).to_be_visible()
    _checked(console, f"{profile} console queue with an assisted recovery", problems)

    owner = new_context(profile).new_page()  # another device, not signed in
    owner.goto(_cancel_path(mail, person.email))
    button = owner.get_by_role("button", name=words["not_me"], exact=True)
    expect(button).to_be_visible()
    _checked(owner, f"{profile} cancel page", problems)
    assert AssistedRecovery.objects.get().state == AssistedRecoveryState.PENDING  # GET only
    button.click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(words["cancelled"])
    _checked(owner, f"{profile} cancel page, cancelled", problems)
    assert AssistedRecovery.objects.get().state == AssistedRecoveryState.CANCELLED
    owner.goto("/cuenta/recuperacion-asistida/no-es-un-enlace/")
    _checked(owner, f"{profile} cancel page, bad link", problems)
    assert not problems, "\n".join(problems)


def test_mf4_an_assisted_recovery_completes_after_the_wait_and_asks_for_a_new_factor(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    words, problems = WORDS[profile.language], list[str]()
    person = new_account(profile)
    with_second_factor(person)
    supervisor, _ = _supervisor(profile)
    assisted_recovery_start(
        agent=supervisor, target=person, reason=REASON, client=ClientInfo.system()
    )
    cancel_path = _cancel_path(mail, person.email)

    # 73 hours go by. The server and worker processes keep their own clocks, so the recovery
    # is moved into the past instead, and the worker's housekeeping (every 5 minutes in the
    # real worker) runs here.
    waited = timedelta(hours=73)
    AssistedRecovery.objects.update(
        started_at=clock.now() - waited, due_at=clock.now() - waited + timedelta(hours=72)
    )
    assert assisted_recoveries_complete_due() == 1
    _mail_saying(mail, person.email, words["removed"])  # the notice of the completion

    page = new_context(profile).new_page()
    page.goto(cancel_path)
    expect(page.get_by_role("heading", level=1)).to_have_text(words["too_late"])
    _checked(page, f"{profile} cancel page, too late", problems)

    _sign_in(page, profile, person.username)  # the password alone now
    expect(page).to_have_url(re.compile(r"/cuenta/seguridad/$"))
    _checked(page, f"{profile} asked to enrol after an assisted recovery", problems)
    page.get_by_role("link", name=words["enrol"], exact=True).click()
    if "/cuenta/confirmar/" in page.url:  # MF5's fresh proof, should the sign-in not count
        page.get_by_label(profile.text["your_password"], exact=True).fill(PASSWORD)
        page.get_by_role("button", name=profile.text["confirm"], exact=True).click()
    secret = page.locator("#secret code").inner_text().replace(" ", "")
    page.get_by_label(words["code"], exact=True).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name=words["turn_on"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/cuenta/seguridad/codigos/$"))
    page.get_by_role("button", name=words["saved"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/cuenta/$"))
    assert AuthenticatorApp.objects.filter(user=person, confirmed_at__isnull=False).exists()
    assert not AssistedRecovery.objects.get().enrolment_pending
    assert not problems, "\n".join(problems)
