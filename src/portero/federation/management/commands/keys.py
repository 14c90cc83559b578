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
    help = (
        "Rotate the ID-token signing key: a new key is published at once and signs five "
        "minutes later (when portals' cached key sets have it); the previous one stays "
        "published until every token it signed has expired. The first rotation creates the "
        "key file (PORTERO_OIDC_KEYS_FILE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        rotate = actions.add_parser(
            "rotate",
            help="add a key that signs from 5 minutes on (portals see it first in "
            "the JWKS); the current one is retired then",
        )
        rotate.add_argument(
            "--now",
            action="store_true",
            help="sign with the new key at once (the old one was exposed)",
        )
        actions.add_parser("list", help="the published keys (kid, created, retired)")

    def handle(self, *args: Any, **opts: Any) -> None:
        ring = keyring()
        if opts["action"] == "rotate":
            with transaction.atomic():
                key = ring.rotate(at_once=opts.get("now", False))
                event_record(
                    EventType.KEYS_ROTATED,
                    subject=f"key:{key.kid}",
                    active_from=key.active_from.isoformat(),
                )
            self.stdout.write(
                f"New signing key {key.kid} in {settings.PORTERO_OIDC_KEYS_FILE}, "
                f"signing from {key.active_from.isoformat()}"
            )
        for key in ring.published() if opts["action"] == "list" else []:
            self.stdout.write(
                json.dumps(
                    {
                        "kid": key.kid,
                        "created_at": key.created_at.isoformat(),
                        "active_from": key.active_from.isoformat(),
                        "retired_at": key.retired_at.isoformat() if key.retired_at else None,
                        "active": key.kid == ring.active().kid,
                    }
                )
            )
