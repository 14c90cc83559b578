"""`portero mail dns`: the DNS records that let receivers trust Portero's mail (docs/mail.md)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portero.mail.dkim import (
    dkim_domain,
    dkim_enabled,
    dkim_key_load,
    dkim_txt_value,
    sender_domain,
    txt_strings,
)

# Stands where the sending host belongs until the operator names it: not valid SPF, so a
# record published as printed fails loudly instead of authorising nobody by mistake.
SPF_PLACEHOLDER = "REPLACE-THIS:ip4:address-of-your-smtp-server"
_HOST = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9])?$", re.IGNORECASE)


class Command(BaseCommand):
    help = (
        "Mail. dns: print the DNS records to publish for the sender's domain: SPF (which "
        "hosts may send as it), DKIM (the public key of PORTERO_DKIM_KEY_FILE) and DMARC "
        "(what receivers do with mail failing both)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        dns = actions.add_parser("dns", help="the SPF, DKIM and DMARC records, zone-file style")
        dns.add_argument(
            "--include",
            action="append",
            default=[],
            metavar="DOMAIN",
            help="SPF: your mail provider's SPF domain (repeatable)",
        )
        dns.add_argument(
            "--ip4",
            action="append",
            default=[],
            metavar="ADDRESS",
            help="SPF: an address or network of your SMTP server (repeatable)",
        )
        dns.add_argument(
            "--report-address",
            metavar="EMAIL",
            help="DMARC: where receivers send their aggregate reports (rua)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        domain = sender_domain(settings.DEFAULT_FROM_EMAIL)
        self.stdout.write(
            f"; DNS records for mail from {settings.DEFAULT_FROM_EMAIL}; names end "
            f"with a dot (absolute), as in a zone file.\n"
        )
        for line in (
            *spf_record(domain, includes=opts["include"], ip4s=opts["ip4"]),
            "",
            *dkim_record(),
            "",
            *dmarc_record(domain, opts["report_address"]),
        ):
            self.stdout.write(line)


def spf_record(domain: str, *, includes: list[str], ip4s: list[str]) -> list[str]:
    """Return the SPF lines: the hosts named, or a placeholder to replace."""
    for host in includes:
        if not _HOST.match(host):
            raise CommandError(f"--include must be a domain name, got {host!r}")
    for address in ip4s:
        try:
            ipaddress.IPv4Network(address, strict=False)
        except ValueError:
            raise CommandError(
                f"--ip4 must be an IPv4 address or network, got {address!r}"
            ) from None
    senders = [f"include:{host}" for host in includes] + [f"ip4:{a}" for a in ip4s]
    comment = (
        f"; SPF: only {', '.join(senders)} may send mail as {domain}; receivers refuse "
        "the rest (-all)."
        if senders
        else f"; SPF: replace {SPF_PLACEHOLDER} with your SMTP server (ip4:ADDRESS) or "
        "provider (include:DOMAIN), or run again with --ip4 / --include."
    )
    return [comment, f'{domain}. IN TXT "v=spf1 {" ".join(senders or [SPF_PLACEHOLDER])} -all"']


def dkim_record() -> list[str]:
    """Return the DKIM lines: the public key, in strings of 255 characters."""
    if not dkim_enabled():
        return [
            "; DKIM: not configured. Set PORTERO_DKIM_KEY_FILE and PORTERO_DKIM_SELECTOR "
            "(docs/mail.md), then run this again."
        ]
    try:
        key = dkim_key_load(settings.PORTERO_DKIM_KEY_FILE)
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
    name = f"{settings.PORTERO_DKIM_SELECTOR}._domainkey.{dkim_domain()}."
    strings = " ".join(f'"{part}"' for part in txt_strings(dkim_txt_value(key)))
    return [
        f"; DKIM: the public key of {settings.PORTERO_DKIM_KEY_FILE}; receivers check "
        "each message's signature with it.",
        f"{name} IN TXT {strings}",
    ]


def dmarc_record(domain: str, report_address: str | None) -> list[str]:
    """Return the DMARC lines: quarantine what fails, reports to `report_address`."""
    tags = ["v=DMARC1", "p=quarantine"]
    if report_address:
        if "@" not in report_address or any(c in report_address for c in ' ";,!'):
            raise CommandError(
                f"--report-address must be an e-mail address, got {report_address!r}"
            )
        tags.append(f"rua=mailto:{report_address}")
        comment = (
            f"; DMARC: mail from {domain} failing both SPF and DKIM goes to spam; "
            f"daily reports to {report_address}."
        )
    else:
        comment = (
            f"; DMARC: mail from {domain} failing both SPF and DKIM goes to spam. Add "
            "--report-address to receive the daily reports (rua)."
        )
    return [comment, f'_dmarc.{domain}. IN TXT "{"; ".join(tags)}"']
