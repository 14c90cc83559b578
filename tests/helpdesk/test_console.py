"""The Mesa de Servicio console, end to end: find, diagnose, resend, never see a secret."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portero.accounts.models import User
from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.helpdesk.roles import AGENT_GROUP, SUPERVISOR_GROUP
from portero.helpdesk.selectors import SEARCH_LIMIT, users_search
from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.models import PasswordReset
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import (
    ask_reset,
    link_in,
    set_password,
    sign_in_with_factor,
    with_second_factor,
)

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "clave de la mesa de servicio 77"


def _staff(username: str, group: str | None = None, *, superuser: bool = False) -> User:
    member = user_create(
        username=username, email=f"{username}@mesa.example", is_staff=True, password=STAFF_PASSWORD
    )
    if group:
        member.groups.add(Group.objects.get(name=group))
    if superuser:
        member.is_superuser = True
        member.save()
    return member


def _signed_in(member: User) -> Client:
    """Signed in with the password and a second factor, as the console needs (MF6)."""
    browser = Client()
    if not hasattr(member, "test_codes"):
        member.test_codes = with_second_factor(member)[0]  # type: ignore[attr-defined]
    code = member.test_codes.pop()  # type: ignore[attr-defined]
    assert sign_in_with_factor(browser, member.username, STAFF_PASSWORD, code).status_code == 302
    return browser


@pytest.fixture
def agent() -> User:
    return _staff("agente.uno", AGENT_GROUP)


def _token(html: str, action: str) -> str:
    form = html.split(f'value="{action}"')[1]
    return re.search(r'name="token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]


def _act(browser: Client, target: User, action: str, reason: str = "Ticket 4512"):  # type: ignore[no-untyped-def]
    html = browser.get(f"/mesa/usuario/{target.pk}/").content.decode()
    return browser.post(
        f"/mesa/usuario/{target.pk}/accion/",
        {"action": action, "reason": reason, "token": _token(html, action)},
    )


def test_agent_finds_user_resends_failed_email_and_user_resets(
    agent, user, client, mailbox, worker
):
    mailbox.fail_rcpt = "550 5.7.1 Rejected by corporate spam filter"
    ask_reset(client, "gongoragabriela")
    worker.drain()
    assert OutboundEmail.objects.get().status == EmailStatus.FAILED

    console = _signed_in(agent)
    found = console.get("/mesa/", {"q": "GABRIELA@EXAMPLE"}).content.decode()
    assert f'href="/mesa/usuario/{user.pk}/"' in found

    page = console.get(f"/mesa/usuario/{user.pk}/").content.decode()
    assert "550 5.7.1 Rejected by corporate spam filter" in page
    assert "Fallido" in page
    reset = PasswordReset.objects.get()
    assert reset.selector not in page  # never a secret, nor the public half of one

    mailbox.fail_rcpt = None  # the filter was fixed
    queue = console.get("/mesa/cola/").content.decode()
    email = OutboundEmail.objects.get()
    assert f'value="{email.pk}"' in queue
    response = console.post("/mesa/cola/", {"emails": [email.pk], "reason": "Ticket 4512"})
    assert response.status_code == 302
    worker.drain()
    assert len(mailbox.messages) == 1
    assert (
        set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)["Location"]
        == "/restablecer/listo/"
    )

    page = console.get(f"/mesa/usuario/{user.pk}/").content.decode()
    assert "250 2.0.0 Queued as TEST" in page and "Usado" in page

    events = list(AuditEvent.objects.values_list("event", flat=True))
    for expected in [
        "reset.requested",
        "mail.failed",
        "helpdesk.user_viewed",
        "helpdesk.email_resent",
        "mail.sent",
        "reset.completed",
    ]:
        assert expected in events, expected
    resent = AuditEvent.objects.get(event="helpdesk.email_resent")
    assert resent.actor == f"agent:{agent.pk}" and resent.details["reason"] == "Ticket 4512"
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "intact" in out.getvalue()


def test_agent_sends_a_new_recovery_email_and_a_double_click_acts_once(
    agent, user, mailbox, worker
):
    console = _signed_in(agent)
    html = console.get(f"/mesa/usuario/{user.pk}/").content.decode()
    data = {"action": "send_reset", "reason": "Llamada 77", "token": _token(html, "send_reset")}
    console.post(f"/mesa/usuario/{user.pk}/accion/", data)
    console.post(f"/mesa/usuario/{user.pk}/accion/", data)  # the second click
    worker.drain()
    assert len(mailbox.messages) == 1
    assert AuditEvent.objects.filter(event="helpdesk.reset_sent").count() == 1
    assert PASSWORD not in mailbox.messages[0].as_string()


def test_action_needs_a_reason(agent, user):
    console = _signed_in(agent)
    response = _act(console, user, "unlock", reason="")
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(event="helpdesk.unlocked").exists()


def test_agent_unlocks_a_throttled_account(agent, user, settings):
    settings.PORTERO_RATE_LIMITS = {}
    for _ in range(6):
        Client().post("/ingresar/", {"username": "gongoragabriela", "password": "x" * 16})
    assert (
        Client()
        .post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
        .status_code
        == 200
    )
    console = _signed_in(agent)
    assert (
        "retrasado" in console.get(f"/mesa/usuario/{user.pk}/").content.decode().lower()
        or "delayed" in console.get(f"/mesa/usuario/{user.pk}/").content.decode().lower()
    )
    _act(console, user, "unlock")
    assert (
        Client()
        .post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
        .status_code
        == 302
    )


def test_agent_ends_all_sessions(agent, user):
    victim = Client()
    victim.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    _act(_signed_in(agent), user, "end_sessions")
    assert victim.get("/cuenta/").status_code == 302


def test_only_supervisors_disable_accounts(agent, user):
    console = _signed_in(agent)
    html = console.get(f"/mesa/usuario/{user.pk}/").content.decode()
    assert 'value="disable"' not in html
    response = console.post(
        f"/mesa/usuario/{user.pk}/accion/",
        {"action": "disable", "reason": "x", "token": "forged-token-123"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).is_active

    supervisor = _staff("supervisora", SUPERVISOR_GROUP)
    _act(_signed_in(supervisor), user, "disable", reason="Suplantación reportada")
    assert not User.objects.get(pk=user.pk).is_active


def test_agents_cannot_act_on_staff_above_or_equal(agent):
    other_agent = _staff("agente.dos", AGENT_GROUP)
    supervisor = _staff("supervisora", SUPERVISOR_GROUP)
    admin = _staff("administradora", superuser=True)
    console = _signed_in(agent)
    for target in (other_agent, supervisor, admin):
        html = console.get(f"/mesa/usuario/{target.pk}/").content.decode()
        assert 'name="token"' not in html
    boss = _signed_in(supervisor)
    assert 'name="token"' in boss.get(f"/mesa/usuario/{agent.pk}/").content.decode()
    assert 'name="token"' not in boss.get(f"/mesa/usuario/{admin.pk}/").content.decode()


def test_console_is_for_staff_with_a_role_only(user):
    assert Client().get("/mesa/").status_code == 302  # sign in first
    ordinary = Client()
    ordinary.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert ordinary.get("/mesa/").status_code == 403
    no_role = _staff("personal.sin.rol")
    assert _signed_in(no_role).get("/mesa/cola/").status_code == 403


@pytest.mark.parametrize("query", ["", "a", "x" * 300, "\x00", "%", "_", "' OR 1=1 --"])
def test_malformed_searches_get_a_clear_answer(agent, user, query):
    response = _signed_in(agent).get("/mesa/", {"q": query})
    assert response.status_code == 200


def _accounts(*rows: tuple[str, str, str]) -> list[User]:
    """Create accounts from (username, e-mail, full name), in this order."""
    return [
        user_create(username=username, email=email, full_name=name)
        for username, email, name in rows
    ]


def _listed(html: str) -> list[int]:
    """Return the ids of the accounts the search page lists, in order."""
    return [int(pk) for pk in re.findall(r'href="/mesa/usuario/(\d+)/"', html)]


def test_search_by_name_and_username_part_lists_every_match_up_to_the_limit(agent):
    made = _accounts(
        *[
            (f"proveedor{n:02d}", f"p{n}@example.com", f"Proveedora Número {n}")
            for n in range(SEARCH_LIMIT)
        ]
    )
    console = _signed_in(agent)
    html = console.get("/mesa/", {"q": "PROVEEDORA"}).content.decode()
    assert sorted(_listed(html)) == sorted(account.pk for account in made)
    assert f"{SEARCH_LIMIT} cuentas encontradas" in html
    assert "Más de" not in html
    assert _listed(console.get("/mesa/", {"q": "proveedor0"}).content.decode()) == [
        account.pk for account in made[:10]
    ]  # by username


def test_search_with_too_many_matches_is_capped_and_asks_to_narrow_it(agent):
    _accounts(
        *[
            (f"proveedor{n:02d}", f"p{n}@example.com", f"Proveedora Número {n}")
            for n in range(SEARCH_LIMIT + 1)
        ]
    )
    console = _signed_in(agent)
    html = console.get("/mesa/", {"q": "proveedora", "pagina": "2"}).content.decode()
    assert len(_listed(html)) == SEARCH_LIMIT
    assert f"Más de {SEARCH_LIMIT} cuentas coinciden y solo se listan {SEARCH_LIMIT}" in html
    assert f"Más de {SEARCH_LIMIT} cuentas encontradas" in html
    assert 'class="pages"' not in html  # no pages to walk through: the agent narrows it


def test_exact_username_or_email_is_listed_first_however_many_accounts_match(agent):
    many = SEARCH_LIMIT + 10
    _accounts(*[(f"proveedor{n:02d}", f"{n}.ventas@entidad.gov.co", "") for n in range(many)])
    exact_name, exact_email = _accounts(
        ("proveedor", "otra@example.com", ""), ("zz.compras", "ventas@entidad.gov.co", "")
    )
    console = _signed_in(agent)
    listed = _listed(console.get("/mesa/", {"q": "Proveedor "}).content.decode())
    assert len(listed) == SEARCH_LIMIT and listed[0] == exact_name.pk
    listed = _listed(console.get("/mesa/", {"q": "VENTAS@entidad.gov.co"}).content.decode())
    assert len(listed) == SEARCH_LIMIT and listed[0] == exact_email.pk


def test_search_lists_exact_then_prefix_then_other_matches_by_username(agent):
    zeta, mariana, ana, aldana, juliana, ana_ruiz = _accounts(
        ("zeta", "z@ana.gov.co", ""),
        ("mariana.diaz", "m@example.com", ""),
        ("ana", "a@example.com", ""),
        ("aldana", "al@example.com", "Luz Aldana"),
        ("juliana", "j@example.com", ""),
        ("ana.ruiz", "r@example.com", ""),
    )
    html = _signed_in(agent).get("/mesa/", {"q": "ana"}).content.decode()
    assert _listed(html) == [ana.pk, ana_ruiz.pk, aldana.pk, juliana.pk, mariana.pk, zeta.pk]
    assert "6 cuentas encontradas" in html


def test_search_wildcards_are_literal(agent):
    percent, underscore, _ = _accounts(
        ("cien", "c@example.com", "Descuento 100% seguro"),
        ("a_b", "ab@example.com", ""),
        ("axb1000", "x@example.com", "Axb 1000"),
    )
    console = _signed_in(agent)
    assert _listed(console.get("/mesa/", {"q": "0%"}).content.decode()) == [percent.pk]
    assert _listed(console.get("/mesa/", {"q": "a_b"}).content.decode()) == [underscore.pk]


def test_search_never_counts_nor_sorts_all_matches():
    _accounts(*[(f"proveedor{n:02d}", f"p{n}@example.com", "") for n in range(SEARCH_LIMIT + 5)])
    with CaptureQueriesContext(connection) as queries:
        result = users_search("proveedor")
    assert result.more and len(result.accounts) == SEARCH_LIMIT
    assert queries.captured_queries
    for query in queries.captured_queries:
        sql = query["sql"].upper()
        assert "COUNT(" not in sql and "LIMIT" in sql, sql
        assert "ORDER BY" not in sql or 'ORDER BY "ACCOUNTS_USER"."ID"' in sql, sql


def test_resending_a_message_whose_link_is_dead_is_refused(
    agent, user, client, mailbox, worker, clock
):
    from datetime import timedelta

    mailbox.fail_rcpt = "550 5.1.1 no"
    ask_reset(client, "gongoragabriela")
    worker.drain()
    clock.advance(timedelta(hours=2))
    email = OutboundEmail.objects.get()
    console = _signed_in(agent)
    console.post("/mesa/cola/", {"emails": [email.pk], "reason": "T-1"})
    assert OutboundEmail.objects.get().status == EmailStatus.FAILED


def test_queue_says_what_is_wrong_when_nothing_is_chosen(agent, user, client, mailbox, worker):
    mailbox.fail_rcpt = "550 5.7.1 Rejected"
    ask_reset(client, "gongoragabriela")
    worker.drain()
    console = _signed_in(agent)
    page = console.post(
        "/mesa/cola/", {"reason": "Ticket 4512"}, HTTP_ACCEPT_LANGUAGE="es-CO"
    ).content.decode()
    assert "Por favor, revise lo siguiente" in page and "Mensajes para enviar de nuevo" in page
    gone = console.post(
        "/mesa/cola/", {"emails": [OutboundEmail.objects.get().pk + 1], "reason": "Ticket 4512"}
    )
    assert gone.status_code == 200 and b"error-summary" in gone.content
    assert OutboundEmail.objects.get().status == EmailStatus.FAILED


def test_reminder_sent_by_the_help_desk_is_filed_under_the_account(agent, user, mailbox, worker):
    console = _signed_in(agent)
    assert _act(console, user, "send_reminder").status_code == 302
    email = OutboundEmail.objects.get(kind="username_reminder")
    assert email.user == user  # so it shows on the account's page and obeys its role limits
    worker.drain()
    assert "gongoragabriela" in mailbox.messages[0].get_body(("plain",)).get_content()


def test_reminder_is_refused_for_a_disabled_account(agent, user):
    user.is_active = False
    user.save()
    response = _act(_signed_in(agent), user, "send_reminder")
    assert response.status_code == 302
    assert not OutboundEmail.objects.filter(kind="username_reminder").exists()


@pytest.mark.parametrize(
    ("actor", "target", "action"),
    [
        ("supervisor", "administrator", "enable"),
        ("supervisor", "supervisor", "enable"),
        ("agent", "supervisor", "unlock"),
        ("agent", "supervisor", "end_sessions"),
    ],
)
def test_a_disabled_account_keeps_its_rank_against_lower_roles(actor, target, action):
    """Issue: role_of gave a disabled account no role, so anyone outranked it."""
    groups = {"agent": AGENT_GROUP, "supervisor": SUPERVISOR_GROUP, "administrator": None}
    me = _staff(f"{actor}.actua", groups[actor])
    them = _staff(f"{target}.inactivo", groups[target], superuser=target == "administrator")
    them.is_active = False
    them.save()
    console = _signed_in(me)
    page = console.get(f"/mesa/usuario/{them.pk}/").content.decode()
    assert f'value="{action}"' not in page
    response = console.post(
        f"/mesa/usuario/{them.pk}/accion/",
        {"action": action, "reason": "Ticket 1", "token": "forged-token-1234567890"},
    )
    assert response.status_code == 302
    them.refresh_from_db()
    assert not them.is_active
    assert (
        not AuditEvent.objects.filter(event__startswith="helpdesk.", user=them)
        .exclude(event__in=["helpdesk.user_viewed", "helpdesk.refused"])
        .exists()
    )
    assert AuditEvent.objects.filter(event="helpdesk.refused", user=them).exists()


def test_a_link_sent_before_the_account_was_disabled_stays_dead_once_it_is_enabled(
    user, client, mailbox, worker
):
    supervisor = _staff("supervisora.uno", SUPERVISOR_GROUP)
    ask_reset(client, user.username)
    worker.drain()
    link = link_in(mailbox.messages[0])
    console = _signed_in(supervisor)
    _act(console, user, "disable")
    _act(console, user, "enable")
    user.refresh_from_db()
    assert user.is_active
    response = set_password(Client(), link, NEW_PASSWORD)
    assert response.status_code == 410  # expired, with a one-click new e-mail
    user.refresh_from_db()
    assert not user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("value", ["9223372036854775808", "-1", "1e3", "١٢", "9" * 40])
def test_an_impossible_message_number_is_refused_not_a_500(agent, value):
    console = _signed_in(agent)
    response = console.post("/mesa/cola/", {"emails": [value], "reason": "Ticket 4512"})
    assert response.status_code == 200 and b"error-summary" in response.content


def test_lg1_refused_console_actions_and_searches_are_audited(agent, user):
    console = _signed_in(agent)
    console.get("/mesa/", {"q": "gabriela"})
    assert AuditEvent.objects.filter(
        event="helpdesk.searched",
        actor=f"agent:{agent.pk}",
        details__query="g***",
        details__found=1,
    ).exists()
    console.get("/mesa/", {"q": "gabriela@example.com"})
    assert AuditEvent.objects.filter(
        event="helpdesk.searched", details__query="g***@example.com"
    ).exists()  # LG2
    console.post(
        f"/mesa/usuario/{agent.pk}/accion/",
        {  # on oneself
            "action": "unlock",
            "reason": "T-1",
            "token": "token-one-1234567890",
        },
    )
    console.post(
        f"/mesa/usuario/{user.pk}/accion/",
        {  # an action that does not exist
            "action": "make_admin",
            "reason": "T-2",
            "token": "token-two-1234567890",
        },
    )
    console.post(
        f"/mesa/usuario/{user.pk}/accion/",
        {  # above an agent's role
            "action": "disable",
            "reason": "T-3",
            "token": "token-three-123456789",
        },
    )
    refused = AuditEvent.objects.filter(event="helpdesk.refused", outcome="refused")
    assert sorted(e.details["action"] for e in refused) == ["(unknown)", "disable", "unlock"]
    ordinary = Client()
    ordinary.post("/ingresar/", {"username": user.username, "password": PASSWORD})
    assert ordinary.get("/mesa/").status_code == 403
    assert AuditEvent.objects.filter(
        event="helpdesk.refused", actor=f"agent:{user.pk}", details__why="no console role"
    ).exists()


def test_lg1_a_csrf_failure_is_kept_in_the_audit_table_too(user):
    browser = Client(enforce_csrf_checks=True)
    browser.post("/ingresar/", {"username": "x"})
    event = AuditEvent.objects.get(event="csrf.failed")
    assert event.outcome == "refused" and event.subject == "/ingresar/"
