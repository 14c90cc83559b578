"""`portero importusers FILE.csv`: create or update accounts; owners activate by e-mail."""

from __future__ import annotations

from collections.abc import Iterable

from portero.accounts.importing import ImportReport, users_import
from portero.accounts.management.import_command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import accounts from a CSV file with the columns username,email,full_name,language "
        "(and optionally org_nit,org_role,org_kind: one row per membership). "
        "Safe to run again: existing accounts are updated, passwords are never touched."
    )

    def rows_import(self, lines: Iterable[str]) -> ImportReport:
        return users_import(lines)
