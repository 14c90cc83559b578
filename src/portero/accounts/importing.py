"""Bulk import of accounts from CSV (username,email,full_name,language); no passwords.

Optional membership columns `org_nit,org_role` (and `org_kind` when one NIT is both an entity
and a supplier) make the account an accepted member of an organization imported before with
`portero importorgs`; one row per membership, so a username may repeat with the same details.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction

from portero.accounts.models import Language, User
from portero.accounts.rules import EMAIL_MAX, FULL_NAME_MAX, USERNAME_MAX, normalize_username
from portero.accounts.services import AccountError, user_create, user_update_details
from portero.organizations.models import Organization
from portero.organizations.nit import InvalidNit, nit_display, nit_normalize
from portero.organizations.services import MembershipRefused, membership_import

COLUMNS = ("username", "email", "full_name", "language")
MEMBERSHIP_COLUMNS = ("org_nit", "org_kind", "org_role")
ORG_ROLES = {"": "usuario", "usuario": "usuario", "administrador": "administrador"}
ORG_KINDS = ("", "entidad", "proveedor")
LANGUAGE_ALIASES = {
    "": "",
    "es": Language.SPANISH,
    "es-co": Language.SPANISH,
    "es_co": Language.SPANISH,
    "spa": Language.SPANISH,
    "español": Language.SPANISH,
    "en": Language.ENGLISH,
    "en-us": Language.ENGLISH,
    "en_us": Language.ENGLISH,
    "eng": Language.ENGLISH,
    "english": Language.ENGLISH,
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
    org_nit: str = ""  # stored form (digits, check digit last), or "" without a membership
    org_kind: str = ""
    org_role: str = ""

    @property
    def details(self) -> tuple[str, str, str, str]:
        return (normalize_username(self.username), self.email, self.full_name, self.language)


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


# Characters no name or address holds, and that would hide or forge text where it is shown:
# controls (NUL breaks PostgreSQL), and bidirectional overrides (they reorder what is shown).
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
# A leading = + - @ makes a spreadsheet run the cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")


def text_problem(value: str) -> str:
    """Return why `value` cannot be imported as text, or ""."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return "holds a control character"
    if _BIDI & set(value):
        return "holds a bidirectional text control"
    if value.startswith(FORMULA_STARTS):
        return "starts with = + - or @ (a spreadsheet formula)"
    return ""


def parse_row(line: int, raw: dict[str, str]) -> Row:
    """Return a valid row or raise ValueError with the reason."""
    for column in COLUMNS + MEMBERSHIP_COLUMNS:
        problem = text_problem(raw.get(column, ""))
        if problem:
            raise ValueError(f"{column} {problem}")
    username, email = raw.get("username", ""), raw.get("email", "")
    if not username:
        raise ValueError("username is empty")
    try:
        User.username_validator(username)
    except ValidationError:
        raise ValueError(
            f"username {username!r} may only hold letters, digits and . @ + - _"
        ) from None
    if len(username) > USERNAME_MAX:
        raise ValueError(f"username is longer than {USERNAME_MAX} characters")
    if len(email) > EMAIL_MAX:  # Django's validator allows 320; the column holds EMAIL_MAX
        raise ValueError(f"e-mail is longer than {EMAIL_MAX} characters")
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"e-mail {email!r} is not a valid address") from None
    full_name = raw.get("full_name", "")
    if len(full_name) > FULL_NAME_MAX:
        raise ValueError(f"full_name is longer than {FULL_NAME_MAX} characters")
    language = LANGUAGE_ALIASES.get(raw.get("language", "").lower())
    if language is None:
        raise ValueError(f"language {raw.get('language')!r} is not es or en")
    return Row(line, username, email, full_name, language, *_membership(raw))


def _membership(raw: dict[str, str]) -> tuple[str, str, str]:
    """Return the row's (org_nit, org_kind, org_role), checked, or empty strings."""
    typed, kind = raw.get("org_nit", ""), raw.get("org_kind", "").lower()
    role = ORG_ROLES.get(raw.get("org_role", "").lower())
    if not typed:
        if raw.get("org_role") or kind:
            raise ValueError("org_role or org_kind without org_nit")
        return "", "", ""
    if role is None:
        raise ValueError(f"org_role {raw.get('org_role')!r} is not administrador or usuario")
    if kind not in ORG_KINDS:
        raise ValueError(f"org_kind {raw.get('org_kind')!r} is not entidad or proveedor")
    try:
        return nit_normalize(typed), kind, role
    except InvalidNit as problem:
        raise ValueError(f"org_nit {typed!r}: {problem}") from None


def users_import(lines: Iterable[str]) -> ImportReport:
    """Create missing accounts and update changed ones; never touch passwords. Idempotent."""
    report = ImportReport()
    seen: dict[str, Row] = {}
    memberships: dict[tuple[str, str, str], int] = {}
    for line, raw in read_rows(lines):
        try:
            row = parse_row(line, raw)
            first = seen.setdefault(normalize_username(row.username), row)
            if first is not row and (not row.org_nit or first.details != row.details):
                raise ValueError(
                    f"username repeats line {first.line}"
                    + (" with other details" if row.org_nit else "")
                )
            if row.org_nit:
                key = (normalize_username(row.username), row.org_nit, row.org_kind)
                if key in memberships:
                    raise ValueError(f"username and organization repeat line {memberships[key]}")
                memberships[key] = line
        except ValueError as reason:
            report.rejected.append((line, str(reason)))
            continue
        try:
            outcome = _apply(row)
        except (DatabaseError, AccountError) as error:  # this row only; the others go on
            report.rejected.append((line, f"not saved: {type(error).__name__}: {error}"[:300]))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


@transaction.atomic
def _apply(row: Row) -> str:
    user = (
        User.objects.select_for_update()
        .filter(username__lower=normalize_username(row.username))
        .first()
    )
    if user is None:
        user = user_create(
            username=row.username,
            email=row.email,
            full_name=row.full_name,
            language=row.language,
            via="import",
        )
        outcome = "created"
    else:
        # A blank language column leaves the owner's own choice alone.
        language = {"language": row.language} if row.language else {}
        changed = user_update_details(
            user=user, via="import", email=row.email, full_name=row.full_name, **language
        )
        outcome = "updated" if changed else "unchanged"
    if row.org_nit and _membership_apply(user, row) != "unchanged" and outcome == "unchanged":
        outcome = "updated"
    return outcome


def _membership_apply(user: User, row: Row) -> str:
    """Make `user` an accepted member as the row says (Aceptado: an operator's import)."""
    found = Organization.objects.filter(nit=row.org_nit)
    if row.org_kind:
        found = found.filter(kind=row.org_kind)
    organizations = list(found[:2])
    if not organizations:
        raise AccountError(
            f"no organization with NIT {nit_display(row.org_nit)}"
            f"{' and kind ' + row.org_kind if row.org_kind else ''}: "
            f"import it first with portero importorgs"
        )
    if len(organizations) > 1:
        raise AccountError(
            f"NIT {nit_display(row.org_nit)} is an entity and a supplier: say which in org_kind"
        )
    try:
        return membership_import(user=user, organization=organizations[0], role=row.org_role)
    except MembershipRefused as refusal:
        raise AccountError(f"membership refused: {refusal.code}") from None
