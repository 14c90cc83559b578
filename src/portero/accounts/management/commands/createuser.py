"""`portero createuser`: the password comes from standard input or a prompt, never argv."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portero.accounts.hashers import normalize_password
from portero.accounts.importing import parse_row
from portero.accounts.models import User
from portero.accounts.services import AccountError, user_create, user_grant_role


class Command(BaseCommand):
    help = (
        "Create an account. The password is read from standard input (first line) or asked "
        "for; with --no-password the owner activates the account by e-mail."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--full-name", default="")
        parser.add_argument(
            "--language",
            default="",
            help="es-co or en (default: none chosen; the owner's pages decide)",
        )
        parser.add_argument("--no-password", action="store_true")
        parser.add_argument(
            "--role",
            choices=["agent", "supervisor", "administrator"],
            help="a Mesa de Servicio role (makes the account staff)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:  # the import's rules, the same for one account as for thousands
            row = parse_row(
                0,
                {
                    "username": opts["username"].strip(),
                    "email": opts["email"].strip(),
                    "full_name": opts["full_name"].strip(),
                    "language": opts["language"].strip(),
                },
            )
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        username, email, language = row.username, row.email, row.language
        candidate = User(username=username, email=email, full_name=row.full_name)
        password = None if opts["no_password"] else self._read_password(candidate)
        try:
            with transaction.atomic():  # an account with its role, or nothing
                user = user_create(
                    username=username,
                    email=email,
                    full_name=row.full_name,
                    language=language,
                    password=password,
                    is_staff=opts["role"] is not None,
                )
                if opts["role"]:
                    user_grant_role(user=user, role=opts["role"])
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"created {user.username}"
            + (
                ""
                if password
                else " (no password yet: the owner activates it with 'forgot password')"
            )
        )

    def _read_password(self, candidate: User) -> str:
        if sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("the two passwords do not match")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        password = normalize_password(password)
        if len(password) > settings.PORTERO_PASSWORD_MAX_LENGTH:
            raise CommandError(
                f"the password is longer than {settings.PORTERO_PASSWORD_MAX_LENGTH} characters"
            )
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        return password
