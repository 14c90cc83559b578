"""`portero importusers FILE.csv`: create or update accounts; owners activate by e-mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portero.accounts.importing import ImportFileError, users_import


class Command(BaseCommand):
    help = ("Import accounts from a CSV file with the columns username,email,full_name,language "
            "(and optionally org_nit,org_role,org_kind: one row per membership). "
            "Safe to run again: existing accounts are updated, passwords are never touched.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            with file.open(encoding="utf-8-sig", newline="") as lines:
                report = users_import(lines)
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
            f"rejected {len(report.rejected)}"
        )
