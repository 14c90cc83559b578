"""`portero importorgs` and the membership columns of `portero importusers`: idempotent, with
the rejected rows and their line numbers, and the same CSV guards as the account import."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from portero.accounts.models import User
from portero.organizations.models import Membership, MembershipState, Organization, Role
from tests.organizations.conftest import person, register

pytestmark = pytest.mark.django_db

ORGS = """nit,kind,name,city
800.197.268-4,entidad,Alcaldía de Prueba,Bogotá D.C.
900514813-2,proveedor,Suministros del Caribe S.A.S.,Barranquilla
9005148132,entidad,Colombia Compra Eficiente,Bogotá D.C.
900.514.813-3,proveedor,Dígito equivocado,Cali
800197268-4,entidad,Repetida,Bogotá D.C.
899999090-2,consorcio,Tipo desconocido,Bogotá
899999090-2,entidad,=HYPERLINK("http://x"),Bogotá
899999090-2,entidad,Nombre\u202eoculto,Bogotá
"""

USERS = """username,email,full_name,language,org_nit,org_role,org_kind
compras,compras@example.com,Compras,es,800.197.268-4,administrador,
compras,compras@example.com,Compras,es,900514813-2,usuario,proveedor
contratos,contratos@example.com,Contratos,en,,,
solo,solo@example.com,Solo,es,9005148132,usuario,
compras,otra@example.com,Compras,es,9005148132,usuario,entidad
contratos,contratos@example.com,Contratos,en,800.197.268-5,usuario,
nuevo,nuevo@example.com,Nuevo,es,899999090-2,usuario,
nuevo2,nuevo2@example.com,Nuevo,es,800.197.268-4,jefe,
compras,compras@example.com,Compras,es,800197268-4,usuario,
"""


def run(command: str, tmp_path: Path, text: str) -> tuple[str, str]:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command(command, str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_importorgs_creates_updates_and_reports_rejected_lines(tmp_path):
    out, err = run("importorgs", tmp_path, ORGS)
    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 5"
    lines = [line.split(": rejected: ")[0].rsplit(":", 1)[1] for line in err.splitlines()]
    assert lines == ["5", "6", "7", "8", "9"]
    assert "check digit" in err and "repeat line 2" in err and "not entidad or proveedor" in err
    assert "formula" in err and "bidirectional" in err
    assert sorted(Organization.objects.values_list("nit", "kind")) == [
        ("8001972684", "entidad"),
        ("9005148132", "entidad"),
        ("9005148132", "proveedor"),
    ]
    out, _ = run("importorgs", tmp_path, ORGS)  # idempotent
    assert out.strip() == "created 0, updated 0, unchanged 3, rejected 5"
    renamed = ORGS.replace("Alcaldía de Prueba,Bogotá D.C.", "Alcaldía Mayor,Bogotá D.C.")
    assert run("importorgs", tmp_path, renamed)[0].strip().startswith("created 0, updated 1")


def test_importusers_membership_columns_are_idempotent_with_line_numbers(tmp_path):
    run("importorgs", tmp_path, ORGS)
    out, err = run("importusers", tmp_path, USERS)
    rejected = {
        int(line.split(": rejected: ")[0].rsplit(":", 1)[1]): line for line in err.splitlines()
    }
    assert sorted(rejected) == [5, 6, 7, 8, 9, 10], err
    assert "entity and a supplier" in rejected[5]
    assert "other details" in rejected[6]
    assert "check digit" in rejected[7]
    assert "importorgs" in rejected[8]  # no such organization
    assert "administrador or usuario" in rejected[9]
    assert "repeat line 2" in rejected[10]
    assert out.strip() == "created 2, updated 1, unchanged 0, rejected 6"  # line 3: a membership
    compras = User.objects.get(username="compras")
    memberships = {
        (m.organization.kind, m.role, m.state) for m in Membership.objects.filter(user=compras)
    }
    assert memberships == {
        ("entidad", Role.ADMINISTRATOR, MembershipState.ACCEPTED),
        ("proveedor", Role.USER, MembershipState.ACCEPTED),
    }
    assert not User.objects.filter(username__in=["nuevo", "nuevo2", "solo"]).exists()
    out, _ = run("importusers", tmp_path, USERS)
    assert out.strip() == "created 0, updated 0, unchanged 3, rejected 6"


def test_importusers_never_demotes_the_last_administrator(tmp_path):
    admin = person("unica.admin")
    register(admin)
    out, err = run(
        "importusers",
        tmp_path,
        "username,email,full_name,language,org_nit,org_role\n"
        f"unica.admin,{admin.email},Unica Admin,es,800197268-4,usuario\n",
    )
    assert "last_administrator" in err and out.strip().endswith("rejected 1")
    assert Membership.objects.get(user=admin).role == Role.ADMINISTRATOR
