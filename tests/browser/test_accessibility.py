"""axe-core (WCAG 2.0/2.1 A and AA) on every public page and state, and reflow down to 320 px.

The test walks the pages as a user would, error states included, runs axe-core inside each page
and prints every violation it finds before failing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

from portero.accounts.services import user_create
from portero.core import clock
from portero.helpdesk.roles import AGENT_GROUP
from portero.recovery.models import PasswordReset
from tests.browser.support import (
    NEW_PASSWORD,
    PHONE,
    Profile,
    axe_violations,
    code_in,
    describe_violations,
    horizontal_overflow,
    import_playwright,
    link_in,
    mail_to,
    new_account,
)
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import with_second_factor

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)

NARROWEST = {"width": 320, "height": 640}  # WCAG 1.4.10: 320 CSS px without sideways scrolling


class Audit:
    """Collect axe violations and overflow per named page state."""

    def __init__(self, page: Any, profile: Profile) -> None:
        self.page, self.profile = page, profile
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, state: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        violations = axe_violations(page)
        if violations:
            self.problems.append(describe_violations(f"{self.profile} {state}", violations))
        widths: list[dict[str, int] | None] = [None]
        if self.profile.device == "mobile":
            widths.append(NARROWEST)
        for size in widths:
            if size:
                page.set_viewport_size(size)
            if overflow := horizontal_overflow(page):
                width = page.viewport_size["width"]
                self.problems.append(f"{self.profile} {state}: {overflow}px wider than {width}px")
        if self.profile.device == "mobile":
            page.set_viewport_size(PHONE)
        self.checked.append(state)

    def submit(self, fields: dict[str, str], button: str) -> None:
        for label, value in fields.items():
            self.page.get_by_label(self.profile.text[label], exact=True).fill(value)
        self.page.get_by_role("button", name=self.profile.text[button], exact=True).click()


def test_axe_finds_no_wcag_violation_on_any_page_or_state(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    page = new_context(profile).new_page()
    audit = Audit(page, profile)
    user = new_account(profile)

    page.goto("/ingresar/")
    audit.check("sign-in")
    audit.submit({"username": user.username}, "sign_in")
    audit.check("sign-in, missing password")
    audit.submit({"username": user.username, "password": "no es la contraseña"}, "sign_in")
    audit.check("sign-in, wrong password")

    page.goto("/recuperar/contrasena/")
    audit.check("forgot password")
    audit.submit({}, "send")
    audit.check("forgot password, empty")
    audit.submit({"username": user.username}, "send")
    audit.check("check your e-mail")
    message = mail_to(mail, user.email)[0]

    page.goto("/restablecer/codigo/")
    audit.check("code")
    audit.submit({"username": user.username, "code": "12"}, "continue")
    audit.check("code, too short")
    audit.submit({"username": user.username, "code": "0000 0000"}, "continue")
    audit.check("code, wrong")

    page.goto("/recuperar/usuario/")
    audit.check("forgot username")
    audit.submit({"email": "no-es-un-correo"}, "send")
    audit.check("forgot username, invalid address")
    audit.submit({"email": user.email}, "send")
    audit.check("username sent")

    page.goto("/restablecer/no-es-un-enlace/")
    audit.check("invalid link")
    page.goto(link_in(message))
    audit.check("change password (reset)")
    audit.submit({}, "change_password")
    audit.check("change password, empty")
    page.get_by_label(t["new_password"], exact=True).fill("corta")
    expect(page.locator("#id_new_password1_strength")).not_to_be_empty()
    audit.check("change password, strength meter")
    audit.submit({"new_password": "corta", "confirm_password": "corta"}, "change_password")
    audit.check("change password, too short")
    audit.submit(
        {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "!"}, "change_password"
    )
    audit.check("change password, mismatch")
    audit.submit(
        {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}, "change_password"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(t["changed"])
    audit.check("password changed")
    page.goto(link_in(message))
    audit.check("used link")

    page.goto("/recuperar/contrasena/")
    audit.submit({"username": user.username}, "send")
    fresh = mail_to(mail, user.email, count=2)[-1]
    PasswordReset.objects.filter(user=user).update(expires_at=clock.now() - timedelta(seconds=1))
    page.goto(link_in(fresh))
    expect(page.get_by_role("heading", level=1)).to_have_text(t["expired"])
    audit.check("expired link")
    assert code_in(fresh)

    page.goto("/no-existe/")
    audit.check("404")
    page.goto("/demo/correo/")  # the server runs in demo mode; its own inbox is empty
    audit.check("demo inbox")

    page.goto("/ingresar/")
    audit.submit({"username": user.username, "password": NEW_PASSWORD}, "sign_in")
    expect(page.get_by_role("heading", level=1)).to_have_text(t["my_account"])
    audit.check("my account")
    for address, state in (
        ("/cuenta/historial/", "access history"),
        ("/cuenta/sesiones/", "active sessions"),
        ("/cuenta/aplicaciones/", "applications"),
        ("/cuenta/notificaciones/", "notification settings"),
    ):
        page.goto(address)
        audit.check(state)
    page.goto("/cuenta/contrasena/")
    audit.check("change password (signed in)")
    audit.submit(
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD + "?",
        },
        "change_password",
    )
    audit.check("change password (signed in), errors")

    page.context.clear_cookies()  # the form's token no longer matches: the CSRF error page
    audit.submit({"current_password": NEW_PASSWORD}, "change_password")
    audit.check("403 expired form")

    # The Mesa de Servicio console, whose tables must read on a phone too.
    agent = user_create(
        username=f"agente.{user.username}",
        email="agente@mesa.example",
        is_staff=True,
        password=PASSWORD,
    )
    group, _ = Group.objects.get_or_create(name=AGENT_GROUP)  # these tests empty every table
    group.permissions.add(Permission.objects.get(codename="use_console"))
    agent.groups.add(group)
    codes, _ = with_second_factor(agent)  # the console needs one (MF6)
    console = new_context(profile).new_page()
    audit.page = console
    console.goto("/ingresar/")
    audit.submit({"username": agent.username, "password": PASSWORD}, "sign_in")
    audit.check("second step (authenticator app)")
    audit.submit({"app_code": "000000"}, "continue")
    audit.check("second step, wrong code")
    console.goto("/ingresar/verificacion/?metodo=backup")
    audit.check("second step (backup code)")
    audit.submit({"backup_code": codes[0]}, "continue")
    console.goto("/cuenta/seguridad/")
    audit.check("two-step verification")
    console.goto("/cuenta/seguridad/codigos/")
    audit.check("backup codes, count")
    console.goto("/cuenta/confirmar/")
    audit.check("confirm it is you")
    audit.submit({"your_password": "no es"}, "confirm")
    audit.check("confirm it is you, error")
    console.goto(f"/mesa/?q={user.username}")
    audit.check("console search")
    console.goto(f"/mesa/usuario/{user.pk}/")
    audit.check("console account")
    console.goto("/mesa/cola/")
    audit.check("console queue")

    report = "\n".join(audit.problems)
    print(
        f"axe-core checked {len(audit.checked)} states for {profile}: "
        f"{len(audit.problems)} with problems\n{report}"
    )
    assert not audit.problems, report
