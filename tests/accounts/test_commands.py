"""`portero createuser` and `portero importusers`, run as an operator would."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from portero.accounts.models import User
from portero.audit.models import AuditEvent
from tests.helpers import ask_reset, link_in, set_password, text_of

pytestmark = pytest.mark.django_db


def _createuser(monkeypatch, stdin: str, *args: str) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("createuser", *args, stdout=out)
    return out.getvalue()


def test_createuser_reads_the_password_from_stdin(monkeypatch):
    out = _createuser(
        monkeypatch,
        "una frase larga y secreta 2026\n",
        "--username",
        "Operador.Uno",
        "--email",
        "op@example.com",
    )
    assert "created Operador.Uno" in out
    user = User.objects.get(username="Operador.Uno")
    assert user.check_password("una frase larga y secreta 2026")


def test_createuser_applies_the_password_policy(monkeypatch):
    with pytest.raises(CommandError):
        _createuser(monkeypatch, "corta\n", "--username", "op", "--email", "op@example.com")
    with pytest.raises(CommandError):  # the username inside the password
        _createuser(
            monkeypatch,
            "operadoroperador1\n",
            "--username",
            "operadoroperador",
            "--email",
            "op@example.com",
        )
    assert not User.objects.exists()


def test_createuser_has_no_password_argument():
    with pytest.raises(CommandError):
        call_command(
            "createuser",
            "--username",
            "op",
            "--email",
            "op@example.com",
            "--password",
            "una frase larga y secreta 2026",
        )


def test_createuser_refuses_a_username_differing_only_in_case(monkeypatch, user):
    with pytest.raises(CommandError, match="taken"):
        _createuser(
            monkeypatch,
            "",
            "--username",
            "GONGORAGABRIELA",
            "--email",
            "x@example.com",
            "--no-password",
        )


CSV = """username,email,full_name,language
proveedor.uno,uno@example.com,Proveedor Uno S.A.S.,es
proveedor.dos,dos@example.com,Proveedor Dos,en
mal usuario,tres@example.com,Con espacio,es
proveedor.cuatro,no-es-correo,Sin correo,es
PROVEEDOR.UNO,otra@example.com,Repetido,es
proveedor.cinco,cinco@example.com,Idioma raro,fr
,vacio@example.com,Sin usuario,es
"""


def _import(tmp_path: Path, text: str) -> tuple[str, str]:
    path = tmp_path / "usuarios.csv"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("importusers", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_importusers_reports_rejected_rows_with_line_numbers(tmp_path):
    out, err = _import(tmp_path, CSV)
    assert "created 2, updated 0, unchanged 0, rejected 5" in out
    for line in (4, 5, 6, 7, 8):
        assert f"usuarios.csv:{line}: rejected" in err
    assert "repeats line 2" in err
    assert set(User.objects.values_list("username", flat=True)) == {
        "proveedor.uno",
        "proveedor.dos",
    }
    assert not User.objects.get(username="proveedor.uno").has_usable_password()


def test_importusers_is_idempotent_and_updates_changes(tmp_path):
    _import(tmp_path, CSV)
    out, _ = _import(tmp_path, CSV)
    assert "created 0, updated 0, unchanged 2" in out
    changed = CSV.replace("uno@example.com", "nuevo@example.com")
    out, _ = _import(tmp_path, changed)
    assert "updated 1, unchanged 1" in out
    assert User.objects.get(username="proveedor.uno").email == "nuevo@example.com"


def test_lg1_importing_records_each_account_created_or_changed_but_no_values(tmp_path):
    _import(tmp_path, CSV)
    _import(tmp_path, CSV)  # unchanged: nothing more recorded
    _import(tmp_path, CSV.replace("uno@example.com", "nuevo@example.com"))
    uno = User.objects.get(username="proveedor.uno")
    events = list(AuditEvent.objects.filter(user=uno).order_by("pk"))
    assert [(e.event, e.details) for e in events] == [
        ("account.created", {"via": "import", "with_password": False}),
        ("account.updated", {"via": "import", "fields": ["email"]}),
    ]
    assert "nuevo@example.com" not in str(events[1].details)  # the field, never its value (LG2)
    assert AuditEvent.objects.filter(event="account.created").count() == 2


def test_importusers_refuses_a_file_without_the_columns(tmp_path):
    with pytest.raises(CommandError, match="username,email"):
        _import(tmp_path, "name;mail\nx;y\n")


def test_imported_account_is_activated_through_forgot_password(tmp_path, mailbox, worker):
    _import(tmp_path, CSV)
    client = Client()
    ask_reset(client, "proveedor.uno")
    worker.drain()
    message = mailbox.messages[0]
    assert "Activación" in message["Subject"]
    assert "activar" in text_of(message).lower()
    response = set_password(Client(), link_in(message), "mi primera clave segura")
    assert response["Location"] == "/restablecer/listo/"
    signed_in = Client().post(
        "/ingresar/", {"username": "proveedor.uno", "password": "mi primera clave segura"}
    )
    assert signed_in.status_code == 302


@pytest.mark.parametrize(
    "role,agent,supervisor,superuser",
    [
        ("agent", True, False, False),
        ("supervisor", True, True, False),
        ("administrator", True, True, True),
    ],
)
def test_createuser_grants_help_desk_roles(monkeypatch, role, agent, supervisor, superuser):
    _createuser(
        monkeypatch,
        "clave de la mesa de servicio 77\n",
        "--username",
        "mesa.uno",
        "--email",
        "mesa@example.com",
        "--role",
        role,
    )
    member = User.objects.get(username="mesa.uno")
    assert member.is_staff and member.is_superuser == superuser
    recorded = AuditEvent.objects.filter(user=member).order_by("pk")
    assert [(e.event, e.actor) for e in recorded] == [
        ("account.created", "system"),
        ("account.role_granted", "system"),
    ]
    assert recorded[1].details == {"role": role}
    assert member.has_perm("helpdesk.use_console") == agent
    assert member.has_perm("helpdesk.supervise") == supervisor


def test_createuser_with_a_role_that_cannot_be_granted_leaves_no_account(monkeypatch):
    from django.contrib.auth.models import Group

    Group.objects.filter(name__startswith="Mesa de Servicio").delete()  # a broken install
    with pytest.raises(Group.DoesNotExist):
        _createuser(
            monkeypatch,
            "clave de la mesa de servicio 77\n",
            "--username",
            "mesa.dos",
            "--email",
            "mesa@example.com",
            "--role",
            "agent",
        )
    assert not User.objects.filter(username="mesa.dos").exists()
    assert not AuditEvent.objects.exists()


def test_importusers_refuses_hidden_characters_and_formulas_and_always_reports(tmp_path):
    text = (
        "username,email,full_name,language\n"
        "bien.uno,uno@example.com,Ana Uno,es\n"
        "nulo.dos,dos@example.com,Ana\x00Dos,es\n"
        "bidi.tres,tres@example.com,Ana \u202eseriT,es\n"
        'formula.cuatro,cuatro@example.com,=HYPERLINK("http://x"),es\n'
        "@formula,cinco@example.com,Cinco,es\n"
        "bien.seis,seis@example.com,Ana Seis,es\n"
    )
    out, err = _import(tmp_path, text)
    assert "created 2, updated 0, unchanged 0, rejected 4" in out
    assert "usuarios.csv:3: rejected: full_name holds a control character" in err
    assert "usuarios.csv:4: rejected: full_name holds a bidirectional text control" in err
    assert "usuarios.csv:5: rejected: full_name starts with = + - or @" in err
    assert "usuarios.csv:6: rejected: username starts with = + - or @" in err
    assert set(User.objects.values_list("username", flat=True)) == {"bien.uno", "bien.seis"}


def test_audit_csv_export_cannot_run_as_a_spreadsheet_formula(user):
    from datetime import timedelta

    from portero.audit.events import EventType
    from portero.audit.export import events_export
    from portero.audit.services import event_record
    from portero.core import clock

    event_record(EventType.CSRF_FAILED, outcome="refused", subject="=cmd|' /C calc'!A0")
    out = io.StringIO()
    events_export(out, since=clock.now() - timedelta(days=1), fmt="csv")
    assert ",'=cmd|" in out.getvalue() and ",=cmd" not in out.getvalue()


def test_createuser_refuses_what_the_sign_in_form_would_never_accept(monkeypatch):
    """A 200-character username was created though no sign-in could ever type it."""
    monkeypatch.setattr("sys.stdin", io.StringIO("una frase larga y secreta 2026\n"))
    with pytest.raises(CommandError, match="longer than 150"):
        call_command(
            "createuser", "--username", "u" * 200, "--email", "u@example.com", stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="control character"):
        call_command(
            "createuser",
            "--username",
            "ana",
            "--email",
            "a@example.com",
            "--full-name",
            "Ana\x00",
            stdout=io.StringIO(),
        )
    assert not User.objects.exists()


def test_import_and_createuser_refuse_an_address_longer_than_the_column(tmp_path, monkeypatch):
    """Django's address check allows 320 characters; the column holds 254. On SQLite, which
    does not enforce a column's length, such a row was stored though no form could ever send
    mail to it nor match it."""
    address = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".co"
    assert 254 < len(address) <= 320
    out, err = _import(tmp_path, f"username,email\nlargo,{address}\n")
    assert "rejected 1" in out and "e-mail is longer than 254" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("una frase larga y secreta 2026\n"))
    with pytest.raises(CommandError, match="longer than 254"):
        call_command("createuser", "--username", "largo", "--email", address, stdout=io.StringIO())
    assert not User.objects.exists()
