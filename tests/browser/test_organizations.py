"""Organizations in a real browser: register one, a second person asks for access, the
administrator accepts from the e-mail's link, and the second person signs in and picks between
two organizations (OR1, OR3). axe-core on every new page and state along the way, the Mesa de
Servicio's organization pages included, on a desktop and on a 375 px phone."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

from portero.helpdesk.roles import SUPERVISOR_GROUP
from portero.organizations.models import Membership, MembershipState, Organization
from portero.organizations.services import (
    membership_decide,
    membership_request,
    organization_register,
)
from portero.organizations.states import By
from tests.browser.support import Profile, import_playwright, new_account
from tests.browser.test_accessibility import Audit
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import text_of, with_second_factor
from tests.organizations.conftest import NIT_A, NIT_B, SYSTEM

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)

HOME = re.compile(r"/cuenta/$")
REQUESTS_LINK = re.compile(r"https?://\S+/cuenta/organizaciones/\d+/solicitudes/")

WORDS = {
    "es-CO": {
        "my_organizations": "Mis organizaciones",
        "register": "Registrar una organización",
        "entity": "Entidad Estatal",
        "name": "Nombre",
        "nit": "NIT",
        "city": "Ciudad",
        "register_button": "Registrar",
        "request": "Solicitar acceso a una organización",
        "search_field": "NIT o nombre de la organización",
        "search": "Buscar",
        "ask": "Solicitar acceso a {name}",
        "accept": "Aceptar a {name}",
        "choose": "¿Con cuál cuenta desea ingresar?",
        "enter": "Ingresar",
        "bad_nit": "dígito de verificación",
    },
    "en": {
        "my_organizations": "My organizations",
        "register": "Register an organization",
        "entity": "Public entity",
        "name": "Name",
        "nit": "NIT",
        "city": "City",
        "register_button": "Register",
        "request": "Request access to an organization",
        "search_field": "NIT or name of the organization",
        "search": "Search",
        "ask": "Request access to {name}",
        "accept": "Accept {name}",
        "choose": "Which account do you want to enter with?",
        "enter": "Enter",
        "bad_nit": "check digit",
    },
}
ENTITY = "Alcaldía de Villa del Rosario"
SUPPLIER = "Suministros del Magdalena S.A.S."


def _sign_in(page: Any, profile: Profile, username: str) -> None:
    t = profile.text
    page.goto("/ingresar/")
    page.get_by_label(t["username"], exact=True).fill(username)
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t["sign_in"], exact=True).click()


def _request_mail(sink: SMTPSink, address: str, seconds: float = 20) -> str:
    """Wait for the "new access request" e-mail to `address`; return its link."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with sink.lock:
            for message, (_, to) in zip(sink.messages, sink.envelopes, strict=True):
                found = REQUESTS_LINK.search(text_of(message)) if address in to else None
                if found:
                    return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no access request e-mail reached {address}")


def _supervisor(profile: Profile) -> tuple[Any, list[str]]:
    supervisor = new_account(profile, username=f"supervisora.{profile}")
    supervisor.is_staff = True
    supervisor.save()
    group, _ = Group.objects.get_or_create(name=SUPERVISOR_GROUP)  # the tables are emptied
    group.permissions.add(*Permission.objects.filter(codename__in=["use_console", "supervise"]))
    supervisor.groups.add(group)
    codes, _ = with_second_factor(supervisor)  # the console needs one (MF6)
    return supervisor, codes


@pytest.mark.profiles("pair")
def test_register_ask_accept_from_the_email_and_choose_between_two_organizations(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    t, w = profile.text, WORDS[profile.language]
    admin, second = new_account(profile), new_account(profile)
    second.full_name = "Segunda Persona"
    second.save()
    # The second person already acts for a supplier (registered by someone else).
    other_admin = new_account(profile)
    supplier = organization_register(
        user=other_admin,
        kind="proveedor",
        name=SUPPLIER,
        nit=NIT_B,
        city="Santa Marta",
        client=SYSTEM,
    ).organization
    membership_decide(
        actor=other_admin,
        by=By.ADMINISTRATOR,
        client=SYSTEM,
        action="accept",
        membership=membership_request(user=second, organization=supplier, client=SYSTEM),
    )

    # The administrator registers the entity ("Mis organizaciones" > "Registrar").
    page = new_context(profile).new_page()
    audit = Audit(page, profile)
    _sign_in(page, profile, admin.username)
    expect(page).to_have_url(HOME)
    page.get_by_role("link", name=w["my_organizations"]).click()
    audit.check("my organizations, none")
    page.get_by_role("link", name=w["register"]).click()
    audit.check("register an organization")
    page.get_by_label(w["entity"], exact=True).check()
    page.get_by_label(w["name"], exact=True).fill(ENTITY)
    page.get_by_label(w["nit"], exact=True).fill("800.197.268-5")  # a wrong check digit
    page.get_by_label(w["city"], exact=True).fill("Villa del Rosario")
    page.get_by_role("button", name=w["register_button"], exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text(w["bad_nit"])
    audit.check("register, wrong check digit")
    page.get_by_label(w["nit"], exact=True).fill("800.197.268-4")
    page.get_by_role("button", name=w["register_button"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(w["my_organizations"])
    expect(page.locator("table")).to_contain_text(ENTITY)
    audit.check("my organizations, administrator")
    entity = Organization.objects.get(nit=NIT_A)

    # The second person asks for access, found by a part of the name.
    asker = new_context(profile).new_page()
    audit.page = asker
    _sign_in(asker, profile, second.username)
    expect(asker).to_have_url(HOME)  # one organization: chosen silently
    asker.goto("/cuenta/organizaciones/solicitar/")
    audit.check("request access")
    asker.get_by_label(w["search_field"], exact=True).fill("zz")
    asker.get_by_role("button", name=w["search"], exact=True).click()
    audit.check("request access, too short")
    asker.get_by_label(w["search_field"], exact=True).fill("organización inexistente")
    asker.get_by_role("button", name=w["search"], exact=True).click()
    audit.check("request access, nothing found")
    asker.get_by_label(w["search_field"], exact=True).fill("villa del rosario")
    asker.get_by_role("button", name=w["search"], exact=True).click()
    audit.check("request access, found")
    asker.get_by_role("button", name=w["ask"].format(name=ENTITY)).click()
    expect(asker.locator("table")).to_contain_text(ENTITY)
    audit.check("my organizations, pending request")

    # The administrator follows the e-mail's link and accepts.
    link = _request_mail(mail, admin.email)
    audit.page = page
    page.goto(link)
    audit.check("access requests, one pending")
    page.get_by_role("button", name=w["accept"].format(name="Segunda Persona")).click()
    expect(
        page.get_by_role("button", name=w["accept"].format(name="Segunda Persona"))
    ).to_have_count(0)
    audit.check("access requests, accepted")
    page.goto(f"/cuenta/organizaciones/{entity.pk}/miembros/")
    audit.check("members and history")
    membership = Membership.objects.get(user=second, organization=entity)
    assert membership.state == MembershipState.ACCEPTED

    # The second person signs in again and picks between the two organizations.
    chooser = new_context(profile).new_page()
    audit.page = chooser
    _sign_in(chooser, profile, second.username)
    expect(chooser.get_by_role("heading", level=1)).to_have_text(w["choose"])
    audit.check("company selector")
    chooser.get_by_label(ENTITY).check()
    chooser.get_by_role("button", name=w["enter"], exact=True).click()
    expect(chooser).to_have_url(HOME)
    expect(chooser.locator(".acting-for")).to_contain_text(ENTITY)
    audit.check("my account, acting for an organization")
    chooser.goto("/cuenta/organizaciones/")
    audit.check("my organizations, two accepted")
    chooser.goto("/cuenta/organizaciones/elegir/")
    audit.check("switch organization")
    chooser.get_by_label(SUPPLIER).check()
    chooser.get_by_role("button", name=w["enter"], exact=True).click()
    expect(chooser.locator(".acting-for")).to_contain_text(SUPPLIER)
    chooser.goto("/cuenta/historial/")
    audit.check("access history with organization events")

    # The Mesa de Servicio: the person's memberships, the organization's page, a decision.
    supervisor, codes = _supervisor(profile)
    console = new_context(profile).new_page()
    audit.page = console
    _sign_in(console, profile, supervisor.username)
    console.goto("/ingresar/verificacion/?metodo=backup")
    console.get_by_label(t["backup_code"], exact=True).fill(codes[0])
    console.get_by_role("button", name=t["continue"]).click()
    console.goto("/mesa/?q=800197268")
    expect(console.locator("table")).to_contain_text(ENTITY)
    audit.check("console search, organizations found")
    console.goto(f"/mesa/usuario/{second.pk}/")
    audit.check("console account with memberships")
    console.get_by_role("link", name=ENTITY).click()
    audit.check("console organization page, supervisor")
    console.locator(f"#reason-{membership.pk}-cancel").fill("")
    console.locator(f"form:has(#reason-{membership.pk}-cancel) button").click()
    audit.check("console organization page, no reason")
    console.locator(f"#reason-{membership.pk}-cancel").fill("Ticket 4711")
    console.locator(f"form:has(#reason-{membership.pk}-cancel) button").click()
    audit.check("console organization page, cancelled")
    assert Membership.objects.get(pk=membership.pk).state == MembershipState.CANCELLED

    report = "\n".join(audit.problems)
    print(
        f"axe-core checked {len(audit.checked)} states for {profile}: "
        f"{len(audit.problems)} with problems\n{report}"
    )
    assert not audit.problems, report
