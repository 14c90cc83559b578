"""Bulk import of accounts from CSV (username,email,full_name,language); no passwords."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from portero.accounts.models import Language, User
from portero.accounts.services import user_create, user_update_details

COLUMNS = ("username", "email", "full_name", "language")
LANGUAGE_ALIASES = {
    "": Language.SPANISH, "es": Language.SPANISH, "es-co": Language.SPANISH,
    "es_co": Language.SPANISH, "spa": Language.SPANISH, "español": Language.SPANISH,
    "en": Language.ENGLISH, "en-us": Language.ENGLISH, "en_us": Language.ENGLISH,
    "eng": Language.ENGLISH, "english": Language.ENGLISH,
}


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong columns, wrong encoding)."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


@dataclass(frozen=True)
class Row:
    line: int
    username: str
    email: str
    full_name: str
    language: str


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) pairs; raise ImportFileError if the header is wrong."""
    reader = csv.DictReader(lines)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS[:2] if name not in header]
    if missing:
        raise ImportFileError(
            f"the first line must name the columns {','.join(COLUMNS)}; "
            f"missing: {', '.join(missing)}"
        )
    reader.fieldnames = header
    for raw in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in raw.items() if k}


def parse_row(line: int, raw: dict[str, str]) -> Row:
    """Return a valid row or raise ValueError with the reason."""
    username, email = raw.get("username", ""), raw.get("email", "")
    if not username:
        raise ValueError("username is empty")
    try:
        User.username_validator(username)
    except ValidationError:
        raise ValueError(
            f"username {username!r} may only hold letters, digits and . @ + - _"
        ) from None
    if len(username) > 150:
        raise ValueError("username is longer than 150 characters")
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"e-mail {email!r} is not a valid address") from None
    full_name = raw.get("full_name", "")
    if len(full_name) > 200:
        raise ValueError("full_name is longer than 200 characters")
    language = LANGUAGE_ALIASES.get(raw.get("language", "").lower())
    if language is None:
        raise ValueError(f"language {raw.get('language')!r} is not es or en")
    return Row(line, username, email, full_name, language)


def users_import(lines: Iterable[str]) -> ImportReport:
    """Create missing accounts and update changed ones; never touch passwords. Idempotent."""
    report = ImportReport()
    seen: dict[str, int] = {}
    for line, raw in read_rows(lines):
        try:
            row = parse_row(line, raw)
            key = row.username.lower()
            if key in seen:
                raise ValueError(f"username repeats line {seen[key]}")
            seen[key] = line
        except ValueError as reason:
            report.rejected.append((line, str(reason)))
            continue
        outcome = _apply(row)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


@transaction.atomic
def _apply(row: Row) -> str:
    user = User.objects.select_for_update().filter(username__lower=row.username.lower()).first()
    if user is None:
        user_create(username=row.username, email=row.email, full_name=row.full_name,
                    language=row.language, via="import")
        return "created"
    changed = user_update_details(user=user, via="import", email=row.email,
                                  full_name=row.full_name, language=row.language)
    return "updated" if changed else "unchanged"
