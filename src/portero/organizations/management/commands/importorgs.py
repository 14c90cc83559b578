"""`portero importorgs FILE.csv`: create or update organizations (SECOP accounts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portero.accounts.importing import ImportFileError
from portero.organizations.importing import organizations_import


class Command(BaseCommand):
    help = ("Import organizations from a CSV file with the columns nit,kind,name,city (kind: "
            "entidad or proveedor; the NIT with its check digit). Safe to run again.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            with file.open(encoding="utf-8-sig", newline="") as lines:
                report = organizations_import(lines)
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text; save it as CSV UTF-8") from None
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for line, reason in report.rejected:
            self.stderr.write(f"{file}:{line}: rejected: {reason}")
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
            f"rejected {len(report.rejected)}")
