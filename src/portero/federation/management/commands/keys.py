"""`portero keys rotate|list`: the ID-token signing keys (OI8)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.federation.keys import keyring


class Command(BaseCommand):
    help = ("Rotate the ID-token signing key: a new key signs from now on, the previous one "
            "stays published until every token it signed has expired. Creates the key file "
            "(PORTERO_OIDC_KEYS_FILE) on first use.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("rotate", help="add a new active key; retire the current one")
        actions.add_parser("list", help="the published keys (kid, created, retired)")

    def handle(self, *args: Any, **opts: Any) -> None:
        ring = keyring()
        if opts["action"] == "rotate":
            with transaction.atomic():
                key = ring.rotate()
                event_record(EventType.KEYS_ROTATED, subject=f"key:{key.kid}")
            self.stdout.write(f"New signing key {key.kid} in {settings.PORTERO_OIDC_KEYS_FILE}")
        for key in ring.published() if opts["action"] == "list" else []:
            self.stdout.write(json.dumps({
                "kid": key.kid, "created_at": key.created_at.isoformat(),
                "retired_at": key.retired_at.isoformat() if key.retired_at else None,
                "active": key.retired_at is None}))
