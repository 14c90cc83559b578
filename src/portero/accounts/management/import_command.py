"""What every CSV import command does around its importer: read the file as UTF-8 (a
spreadsheet's BOM allowed), print each rejected row with its line number, then a summary."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portero.accounts.importing import ImportFileError, ImportReport


class ImportCommand(BaseCommand):
    def rows_import(self, lines: Iterable[str]) -> ImportReport:
        raise NotImplementedError

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            with file.open(encoding="utf-8-sig", newline="") as lines:
                report = self.rows_import(lines)
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
