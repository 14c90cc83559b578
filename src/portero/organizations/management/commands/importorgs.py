"""`portero importorgs FILE.csv`: create or update organizations (SECOP accounts)."""

from __future__ import annotations

from collections.abc import Iterable

from portero.accounts.importing import ImportReport
from portero.accounts.management.import_command import ImportCommand
from portero.organizations.importing import organizations_import


class Command(ImportCommand):
    help = (
        "Import organizations from a CSV file with the columns nit,kind,name,city (kind: "
        "entidad or proveedor; the NIT with its check digit). Safe to run again."
    )

    def rows_import(self, lines: Iterable[str]) -> ImportReport:
        return organizations_import(lines)
