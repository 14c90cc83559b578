"""MF4: the Mesa de Servicio's assisted recovery for a person who lost every factor. Only a
supervisor starts it, with a written reason; the address is told at once and can cancel it
with one click (a GET never cancels); after the wait the worker removes every factor, ends the
sessions and the next sign-in asks for a new factor. Each step is audited."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client

from portero.accounts.models import SessionRecord, User
from portero.accounts.services import user_create
from portero.audit.models import AuditEvent
from portero.core import clock
from portero.core.client import ClientInfo
from portero.factors import assisted
from portero.factors.housekeeping import assisted_recoveries_complete_due
from portero.factors.models import (
    AssistedRecovery,
    AssistedRecoveryState,
    AuthenticatorApp,
    BackupCode,
    Passkey,
)
from portero.helpdesk.roles import AGENT_GROUP, SUPERVISOR_GROUP
from portero.mail.models import EmailKind, EmailStatus, OutboundEmail
from portero.worker import Worker
from tests.conftest import PASSWORD
from tests.helpers import sign_in_with_factor, text_of, with_second_factor

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "clave de la mesa de servicio 77"
REASON = "Ticket 9911: identidad verificada por videollamada con la cédula"
CANCEL_LINK = re.compile(r"https?://\S+/cuenta/recuperacion-asistida/[^\s/]+/")


ROLE_PERMISSIONS = {AGENT_GROUP: ["use_console"], SUPERVISOR_GROUP: ["use_console", "supervise"]}


def _staff(username: str, group: str) -> User:
    member = user_create(
        username=username, email=f"{username}@mesa.example", is_staff=True, password=STAFF_PASSWORD
    )
    # Made again if need be: tests with real transactions empty every table, the roles too.
    role, _ = Group.objects.get_or_create(name=group)
    role.permissions.add(*Permission.objects.filter(codename__in=ROLE_PERMISSIONS[group]))
    member.groups.add(role)
    return member


def _console(member: User) -> Client:
    """Signed in with the password and a second factor, as the console needs (MF6)."""
    browser = Client()
    codes, _ = with_second_factor(member)
    assert (
        sign_in_with_factor(browser, member.username, STAFF_PASSWORD, codes[0]).status_code == 302
    )
    return browser


@pytest.fixture
def supervisor() -> User:
    return _staff("supervisora.uno", SUPERVISOR_GROUP)


@pytest.fixture
def protected(user: User) -> User:
    """The person who lost everything: an app and backup codes they no longer have."""
    with_second_factor(user)
    return user


def _start(console: Client, target: User, reason: str = REASON):  # type: ignore[no-untyped-def]
    return console.post(f"/mesa/usuario/{target.pk}/recuperacion-asistida/", {"reason": reason})


def _cancel_path(mailbox) -> str:  # type: ignore[no-untyped-def]
    notices = [m for m in mailbox.messages if "cancel" in text_of(m).lower()]
    assert len(notices) == 1, [m["Subject"] for m in mailbox.messages]
    found = CANCEL_LINK.findall(text_of(notices[0]))
    assert found, "no cancel link in the e-mail"
    return urlsplit(found[0]).path


def _events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name).order_by("pk"))


def _started(supervisor: User, target: User) -> AssistedRecovery:
    return assisted.assisted_recovery_start(
        agent=supervisor, target=target, reason=REASON, client=ClientInfo.system()
    )


# --- Who may start it ----------------------------------------------------------------------


def test_mf4_an_agent_cannot_start_an_assisted_recovery(protected):
    agent = _staff("agente.uno", AGENT_GROUP)
    console = _console(agent)
    page = console.get(f"/mesa/usuario/{protected.pk}/").content.decode()
    assert "recuperacion-asistida/" not in page  # no form offered
    assert _start(console, protected).status_code == 302
    assert not AssistedRecovery.objects.exists()
    refused = AuditEvent.objects.get(event="helpdesk.refused")
    assert refused.actor == f"agent:{agent.pk}" and refused.details["action"] == "assisted_start"
    assert not OutboundEmail.objects.filter(kind=EmailKind.ASSISTED_RECOVERY).exists()


def test_mf4_a_supervisor_never_starts_one_on_themselves_or_an_equal(supervisor, protected):
    peer = _staff("supervisor.dos", SUPERVISOR_GROUP)
    with_second_factor(peer)
    with_second_factor(supervisor)
    agent = _staff("agente.dos", AGENT_GROUP)
    with_second_factor(agent)
    for target in (supervisor, peer):
        with pytest.raises(assisted.AssistedRefused):
            _started(supervisor, target)
    assert assisted.may_start(supervisor, agent) and assisted.may_start(supervisor, protected)
    assert not assisted.may_start(agent, protected)
    assert not AssistedRecovery.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "ticket 1"])
def test_mf4_a_written_reason_is_required(supervisor, protected, reason):
    console = _console(supervisor)
    response = _start(console, protected, reason)
    assert response.status_code == 302
    assert not AssistedRecovery.objects.exists()
    page = console.get(response["Location"]).content.decode()
    assert "Escriba el motivo" in page


def test_mf4_an_account_without_a_factor_or_address_is_refused(supervisor, user):
    with pytest.raises(assisted.AssistedRefused, match="no tiene segundo factor"):
        _started(supervisor, user)
    with_second_factor(user)
    user.email = ""
    user.save()
    with pytest.raises(assisted.AssistedRefused, match="no tiene correo"):
        _started(supervisor, user)


def test_mf4_at_most_one_pending_per_account(supervisor, protected):
    _started(supervisor, protected)
    with pytest.raises(
        assisted.AssistedRefused, match="Ya hay una recuperación asistida en espera"
    ):
        _started(supervisor, protected)
    assert AssistedRecovery.objects.count() == 1
    assert len(_events("assisted_recovery.started")) == 1


# --- Start, the owner's e-mail and the one-click cancel ---------------------------------------


def test_mf4_start_is_audited_and_emails_the_owner_at_once_with_a_cancel_link(
    supervisor, protected, mailbox, worker
):
    console = _console(supervisor)
    assert _start(console, protected).status_code == 302
    recovery = AssistedRecovery.objects.get()
    assert recovery.state == AssistedRecoveryState.PENDING
    assert recovery.started_by == supervisor and recovery.reason == REASON
    assert recovery.due_at - recovery.started_at == timedelta(hours=72)
    started = _events("assisted_recovery.started")
    assert len(started) == 1 and started[0].actor == f"agent:{supervisor.pk}"
    assert started[0].details["reason"] == REASON and started[0].user == protected
    queued = OutboundEmail.objects.get(kind=EmailKind.ASSISTED_RECOVERY)
    assert queued.to_address == protected.email and queued.status == EmailStatus.QUEUED
    assert queued.give_up_at == recovery.due_at

    worker.drain()
    message = mailbox.messages[0]
    assert message["To"] == protected.email
    body = text_of(message)
    assert "recuperación asistida" in body and "No fui yo, cancelar" in body
    assert "(hora de Colombia)" in body
    assert REASON not in body  # the help desk's notes stay in the help desk
    token = _cancel_path(mailbox).rstrip("/").rsplit("/", 1)[1]
    assert recovery.selector in token and token not in str(
        OutboundEmail.objects.get(kind=EmailKind.ASSISTED_RECOVERY).context
    )


def test_mf4_get_of_the_cancel_link_never_cancels_and_post_does(
    supervisor, protected, mailbox, worker, client
):
    _started(supervisor, protected)
    worker.drain()
    path = _cancel_path(mailbox)
    for _ in range(3):  # a corporate scanner, a preview pane, the person
        page = client.get(path)
        assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
        assert "no-store" in page["Cache-Control"]
        assert "No fui yo, cancelar" in page.content.decode()
        assert 'method="post"' in page.content.decode()
    assert client.head(path).status_code == 200
    assert AssistedRecovery.objects.get().state == AssistedRecoveryState.PENDING
    assert not _events("assisted_recovery.cancelled")

    anonymous = Client(HTTP_ACCEPT_LANGUAGE="es-CO")  # no sign-in needed
    anonymous.get(path)
    done = anonymous.post(path)
    assert done.status_code == 302 and done["Location"] == path
    recovery = AssistedRecovery.objects.get()
    assert recovery.state == AssistedRecoveryState.CANCELLED and recovery.cancelled_by == "owner"
    page = anonymous.get(path).content.decode()
    assert "fue cancelada" in page and "con el enlace del correo" in page
    cancelled = _events("assisted_recovery.cancelled")
    assert len(cancelled) == 1 and cancelled[0].actor == f"user:{protected.pk}"
    assert anonymous.post(path).status_code == 302  # a second click changes nothing
    assert len(_events("assisted_recovery.cancelled")) == 1


def test_mf4_a_cancelled_recovery_never_completes(supervisor, protected, mailbox, worker, client):
    _started(supervisor, protected)
    worker.drain()
    client.post(_cancel_path(mailbox))
    clock.advance(timedelta(hours=73))
    worker.drain()
    assert assisted_recoveries_complete_due() == 0
    assert AssistedRecovery.objects.get().state == AssistedRecoveryState.CANCELLED
    assert AuthenticatorApp.objects.filter(user=protected).exists()
    assert BackupCode.objects.filter(user=protected).exists()
    assert not _events("assisted_recovery.completed")


def test_mf4_a_forged_or_cut_cancel_link_shows_an_error_and_changes_nothing(
    supervisor, protected, mailbox, worker, client
):
    recovery = _started(supervisor, protected)
    token = assisted.cancel_token(recovery)
    for bad in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token[:30],
        f"{recovery.selector}.{'x' * 43}",
    ):
        assert client.get(f"/cuenta/recuperacion-asistida/{bad}/").status_code == 404
        client.post(f"/cuenta/recuperacion-asistida/{bad}/")
    assert AssistedRecovery.objects.get().state == AssistedRecoveryState.PENDING
    assert len(_events("assisted_recovery.link_rejected")) == 3


def test_mf4_the_notice_is_in_the_accounts_language(supervisor, protected, mailbox, worker):
    protected.language = "en"
    protected.save()
    _started(supervisor, protected)
    worker.drain()
    body = text_of(mailbox.messages[0])
    assert "assisted recovery" in body and "It was not me, cancel" in body
    assert "(Colombia time)" in body


def test_mf4_a_supervisor_cancels_from_the_console(supervisor, protected, mailbox, worker):
    _started(supervisor, protected)
    console = _console(supervisor)
    response = console.post(
        f"/mesa/usuario/{protected.pk}/recuperacion-asistida/cancelar/",
        {"reason": "La persona encontró su teléfono"},
    )
    assert response.status_code == 302
    recovery = AssistedRecovery.objects.get()
    assert recovery.state == AssistedRecoveryState.CANCELLED
    assert recovery.cancelled_by == f"agent:{supervisor.pk}"
    cancelled = _events("assisted_recovery.cancelled")[0]
    assert cancelled.actor == f"agent:{supervisor.pk}"
    assert cancelled.details["reason"] == "La persona encontró su teléfono"
    worker.drain()  # the notice, queued before, is no longer needed
    assert not [m for m in mailbox.messages if m["To"] == protected.email]


# --- Completion ----------------------------------------------------------------------------


def test_mf4_completion_after_the_wait_removes_factors_and_asks_for_enrolment(
    supervisor, protected, mailbox, worker
):
    Passkey.objects.create(
        user=protected, name="Teléfono", credential_id=b"id-1", credential=b"cred"
    )
    _started(supervisor, protected)
    worker.drain()
    mailbox.clear()
    clock.advance(timedelta(hours=71, minutes=59))
    Worker().drain()  # a worker's housekeeping round (it runs every few minutes)
    assert AssistedRecovery.objects.get().state == AssistedRecoveryState.PENDING

    clock.advance(timedelta(hours=1, minutes=1))  # 73 h after the start
    Worker().drain()
    recovery = AssistedRecovery.objects.get()
    assert recovery.state == AssistedRecoveryState.COMPLETED and recovery.enrolment_pending
    assert not AuthenticatorApp.objects.filter(user=protected).exists()
    assert not Passkey.objects.filter(user=protected).exists()
    assert not BackupCode.objects.filter(user=protected).exists()
    completed = _events("assisted_recovery.completed")
    assert len(completed) == 1 and completed[0].actor == "system"
    assert completed[0].details["removed"] == {
        "authenticator_apps": 1,
        "passkeys": 1,
        "backup_codes": 10,
    }
    removed = {e.details["method"] for e in _events("factor.removed")}
    assert removed == {"totp", "passkey"}
    notice = [m for m in mailbox.messages if m["To"] == protected.email]
    assert len(notice) == 1 and "quitó todos los segundos factores" in text_of(notice[0])

    # Sign-in: the password alone now, then "Verificación en dos pasos" to set up a new one.
    person = Client()
    response = person.post("/ingresar/", {"username": protected.username, "password": PASSWORD})
    assert response["Location"] == "/cuenta/seguridad/"
    page = person.get("/cuenta/seguridad/").content.decode()
    assert "debe tener un segundo factor" in page
    enrol = person.get("/cuenta/seguridad/aplicacion/")
    if enrol.status_code == 302:  # fresh proof just given by the sign-in, normally
        person.post("/cuenta/confirmar/", {"password": PASSWORD})
        enrol = person.get("/cuenta/seguridad/aplicacion/")
    secret = (
        re.search(
            r'id="secret"><code>([A-Z2-7 ]+)</code>',  # type: ignore[union-attr]
            enrol.content.decode(),
        )
        .group(1)
        .replace(" ", "")
    )
    person.post(
        "/cuenta/seguridad/aplicacion/",
        {"method": "app", "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert person.post("/cuenta/seguridad/continuar/")["Location"] == "/cuenta/"
    assert not AssistedRecovery.objects.get().enrolment_pending


def test_mf4_completion_ends_the_sessions(supervisor, protected, worker, mailbox):
    holder = Client()
    # A signed-in session of the account (whoever holds it), made directly: the codes are lost.
    holder.force_login(protected)
    SessionRecord.objects.create(
        session_key=holder.session.session_key, sid="sid-1", user=protected
    )
    assert holder.get("/cuenta/").status_code == 200
    _started(supervisor, protected)
    clock.advance(timedelta(hours=73))
    worker.drain()
    assert not SessionRecord.objects.filter(user=protected).exists()
    assert holder.get("/cuenta/").status_code == 302
    assert _events("assisted_recovery.completed")[0].details["sessions_ended"] == 1


def test_mf4_completion_happens_once_however_often_workers_run(supervisor, protected, worker):
    recovery = _started(supervisor, protected)
    assert assisted.assisted_recovery_complete(recovery_id=recovery.pk) is False  # not due
    clock.advance(timedelta(hours=73))
    assert assisted.assisted_recovery_complete(recovery_id=recovery.pk) is True
    assert assisted.assisted_recovery_complete(recovery_id=recovery.pk) is False
    assert assisted_recoveries_complete_due() == 0
    worker.drain()
    assert len(_events("assisted_recovery.completed")) == 1
    assert (
        OutboundEmail.objects.filter(
            kind=EmailKind.FACTOR_CHANGED, context__change="factors_reset"
        ).count()
        == 1
    )
    # Once completed, the link only says so.
    page = Client().get(f"/cuenta/recuperacion-asistida/{assisted.cancel_token(recovery)}/")
    assert "ya no se puede cancelar" in page.content.decode()


def test_mf4_a_new_factor_ends_the_question_at_sign_in(supervisor, protected, worker):
    _started(supervisor, protected)
    clock.advance(timedelta(hours=73))
    worker.drain()
    codes, _ = with_second_factor(protected)  # set up again, say in another browser
    assert AssistedRecovery.objects.get().enrolment_pending
    response = sign_in_with_factor(Client(), protected.username, PASSWORD, codes[0])
    assert response["Location"] == "/cuenta/"  # not sent to set up a factor
    assert not AssistedRecovery.objects.get().enrolment_pending


# --- The console shows it ------------------------------------------------------------------


def test_mf4_the_console_shows_state_who_when_reason_and_due_time_in_bogota(
    supervisor, protected, settings
):
    settings.TIME_ZONE = "America/Bogota"
    recovery = _started(supervisor, protected)
    console = _console(supervisor)
    page = console.get(f"/mesa/usuario/{protected.pk}/").content.decode()
    assert "Recuperación asistida" in page and "En espera" in page
    assert REASON in page and supervisor.username in page
    due = clock.now() + timedelta(hours=72) - timedelta(hours=5)  # Bogotá is UTC-5
    assert f"{due.day} " in page and "(hora de Colombia)" in page
    assert f"{due:%-I}:{due:%M}" in page
    assert "Cancelar la recuperación asistida" in page
    queue = console.get("/mesa/cola/").content.decode()
    assert f"/mesa/usuario/{protected.pk}/#assisted" in queue
    console.cookies["portero_language"] = "en"
    english = console.get(f"/mesa/usuario/{protected.pk}/").content.decode()
    assert "Assisted recovery" in english and "Waiting" in english
    assert "(Colombia time)" in english and recovery.reason in english


# --- A cancel racing a completion ----------------------------------------------------------


def _race(recovery: AssistedRecovery) -> dict[str, bool]:
    """Run the owner's cancel and two workers' completion at the same moment, each with its
    own database connection; return what each call said."""
    token = assisted.cancel_token(recovery)
    calls = {
        "cancel": lambda: assisted.assisted_recovery_cancel_by_owner(
            token=token, client=ClientInfo.system()
        )[1],
        "worker_a": lambda: assisted.assisted_recovery_complete(recovery_id=recovery.pk),
        "worker_b": lambda: assisted.assisted_recovery_complete(recovery_id=recovery.pk),
    }
    barrier = threading.Barrier(len(calls))
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[name] = calls[name]()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_mf4_a_cancel_racing_the_completion_exactly_one_wins(supervisor, protected):
    """Whichever comes first, exactly one of the three calls acts, and the account's factors
    match the outcome. A few rounds, so that both orders are likely to be seen."""
    for _ in range(3):
        recovery = _started(supervisor, protected)
        clock.advance(timedelta(hours=73))
        results = _race(recovery)
        assert list(results.values()).count(True) == 1, results
        recovery.refresh_from_db()
        cancelled = recovery.state == AssistedRecoveryState.CANCELLED
        assert cancelled == results["cancel"]
        assert AuthenticatorApp.objects.filter(user=protected).exists() == cancelled
        clock.reset()
        if not cancelled:
            with_second_factor(protected)  # set up again, for the next round
    moves = AuditEvent.objects.filter(
        event__in=["assisted_recovery.cancelled", "assisted_recovery.completed"]
    )
    assert moves.count() == 3
