"""`portero importorgs`: organizations from CSV (nit,kind,name,city), idempotent, with the
same rejected-rows report and text guards as `portero importusers`."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.db import DatabaseError

from portero.accounts.importing import ImportFileError, ImportReport, text_problem
from portero.organizations.models import OrganizationKind
from portero.organizations.nit import InvalidNit, nit_normalize
from portero.organizations.services import organization_import

COLUMNS = ("nit", "kind", "name", "city")
KINDS = {"entidad": OrganizationKind.ENTITY, "proveedor": OrganizationKind.SUPPLIER}
NAME_MAX, CITY_MAX = 200, 100


def nit_of(value: str, column: str = "nit") -> str:
    """Return the stored NIT or raise ValueError saying why not, for the report."""
    try:
        return nit_normalize(value)
    except InvalidNit as problem:
        raise ValueError(f"{column} {value!r}: {problem}") from None


def _parse(raw: dict[str, str]) -> tuple[str, str, str, str]:
    for column in COLUMNS:
        problem = text_problem(raw.get(column, ""))
        if problem:
            raise ValueError(f"{column} {problem}")
    nit = nit_of(raw.get("nit", ""))
    kind = KINDS.get(raw.get("kind", "").lower())
    if kind is None:
        raise ValueError(f"kind {raw.get('kind')!r} is not entidad or proveedor")
    name, city = " ".join(raw.get("name", "").split()), " ".join(raw.get("city", "").split())
    if not name:
        raise ValueError("name is empty")
    if len(name) > NAME_MAX or len(city) > CITY_MAX:
        raise ValueError(f"name is longer than {NAME_MAX} or city than {CITY_MAX} characters")
    return nit, kind, name, city


def organizations_import(lines: Iterable[str]) -> ImportReport:
    """Create missing organizations and update changed names and cities. Idempotent."""
    reader = csv.DictReader(lines)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS[:3] if name not in header]
    if missing:
        raise ImportFileError(
            f"the first line must name the columns {','.join(COLUMNS)}; "
            f"missing: {', '.join(missing)}"
        )
    reader.fieldnames = header
    report, seen = ImportReport(), dict[tuple[str, str], int]()
    for raw in reader:
        line = reader.line_num
        try:
            nit, kind, name, city = _parse({k: (v or "").strip() for k, v in raw.items() if k})
            if (nit, kind) in seen:
                raise ValueError(f"NIT and kind repeat line {seen[nit, kind]}")
            seen[nit, kind] = line
            _, outcome = organization_import(kind=kind, name=name, nit=nit, city=city)
        except ValueError as reason:
            report.rejected.append((line, str(reason)))
            continue
        except DatabaseError as error:
            report.rejected.append((line, f"not saved: {type(error).__name__}: {error}"[:300]))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report
