"""`portero client add|list|remove|rotate-secret`: register the portals that sign in here."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portero.federation.clients import (
    ClientError,
    client_add,
    client_remove,
    client_rotate_secret,
    clients_list,
)


class Command(BaseCommand):
    help = (
        "Register and manage OpenID Connect clients (portals). `add` and `rotate-secret` "
        'print {"client_id": ..., "client_secret": ...} once; only a hash is kept.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a portal")
        add.add_argument("--name", required=True, help="shown to people (consent, history)")
        add.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            dest="redirect_uris",
            help="exact callback URL; repeat for several",
        )
        add.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            default=[],
            dest="post_logout_redirect_uris",
        )
        add.add_argument("--backchannel-logout-uri", default="")
        add.add_argument(
            "--public",
            action="store_true",
            help="no secret (an app that cannot keep one); PKCE protects it",
        )
        add.add_argument(
            "--consent",
            action="store_true",
            help="ask people before the first sign-in (third-party portals)",
        )
        actions.add_parser("list", help="list the portals as JSON (never a secret)")
        remove = actions.add_parser("remove", help="remove a portal and its tokens")
        remove.add_argument("client_id")
        rotate = actions.add_parser("rotate-secret", help="new secret; the old stops at once")
        rotate.add_argument("client_id")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            self._run(opts)
        except ClientError as error:
            raise CommandError(str(error)) from error

    def _run(self, opts: dict[str, Any]) -> None:
        action = opts["action"]
        if action == "add":
            credentials = client_add(
                name=opts["name"],
                redirect_uris=opts["redirect_uris"],
                post_logout_redirect_uris=opts["post_logout_redirect_uris"],
                backchannel_logout_uri=opts["backchannel_logout_uri"],
                public=opts["public"],
                consent=opts["consent"],
            )
            self.stdout.write(json.dumps(credentials.as_dict()))
        elif action == "list":
            self.stdout.write(json.dumps(clients_list(), indent=2, ensure_ascii=False))
        elif action == "remove":
            client_remove(client_id=opts["client_id"])
            self.stderr.write(f"Removed client {opts['client_id']}.")
        elif action == "rotate-secret":
            self.stdout.write(
                json.dumps(client_rotate_secret(client_id=opts["client_id"]).as_dict())
            )
