"""Passkeys (WebAuthn Level 3) through python-fido2's `Fido2Server` (MF1).

The relying party is PORTERO_BASE_URL's host, and a response counts only when the browser says
it came from exactly that origin. User verification and a discoverable credential are required:
a passkey is something held, unlocked by something known or something one is, so it stands for
both factors and can sign in with no username typed.

A ceremony's state (its challenge) waits in the Django session, one entry per challenge, so
that a page's autofill request and its button (or two tabs) do not spoil each other. Each
challenge works once and for `CEREMONY_MINUTES`.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac
from fido2.rpid import verify_rp_id
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    CollectedClientData,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock, ratelimit
from portero.core.client import ClientInfo
from portero.factors.models import Passkey

CEREMONIES = "portero_passkey_ceremonies"
CEREMONY_MINUTES = 5
CEREMONIES_KEPT = 4  # a page's autofill request, its button, another tab: no more
# How long the browser's own dialog waits. Generous: WCAG 2.2.1, and a phone may be fetched.
TIMEOUT_MS = CEREMONY_MINUTES * 60 * 1000
# What the browser is asked to do: register (create) or sign in (get), and what for.
CREATE = "create"
PURPOSES = ("sign_in", "second_step", "proof", "reset")
RESPONSE_MAX = 16_000  # characters of a browser's answer (real ones are 1-3 thousand)
# RFC 8176: a key held in hardware ("hwk") that tested the person's presence ("user"), with
# user verification on top: two factors ("mfa") on its own.
AMR_PASSKEY = ["hwk", "user", "mfa"]


class PasskeyError(Exception):
    """A ceremony that did not prove anything (cancelled, forged, replayed, expired)."""


@dataclass(frozen=True)
class NewPasskey:
    """A verified registration, ready to be kept (`services.passkey_add`)."""

    credential_id: bytes
    credential: bytes  # AttestedCredentialData: the id and the public key
    sign_count: int


@dataclass(frozen=True)
class PasskeyCheck:
    """What a sign-in response gave: the passkey that signed it, or a refusal."""

    passkey: Passkey | None = None
    throttled: bool = False

    @property
    def user(self) -> User | None:
        return self.passkey.user if self.passkey else None


def rp_id() -> str:
    return urlsplit(settings.PORTERO_BASE_URL).hostname or ""


def available() -> bool:
    """True when browsers can use passkeys here: the base URL's host is a domain name (never an
    IP address: an RP ID is a domain) in a secure context (https, or http on localhost)."""
    host = rp_id()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return verify_rp_id(host, settings.PORTERO_BASE_URL)
    return False


def _server() -> Fido2Server:
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id=rp_id(), name=settings.PORTERO_SITE_NAME),
        # Which make of authenticator it is, is not our business: no attestation asked for.
        attestation=AttestationConveyancePreference.NONE,
        # Exactly our origin: no subdomain, no other port (fido2's default allows subdomains).
        verify_origin=lambda origin: origin == settings.PORTERO_BASE_URL,
    )
    server.timeout = TIMEOUT_MS  # type: ignore[assignment]  # fido2 declares it None only
    return server


def user_handle(user: User, *, secret: str | bytes | None = None) -> bytes:
    """The WebAuthn user handle: stable and opaque, a keyed digest of the account's pk (never
    its username, which a person may change and which an authenticator could show)."""
    return salted_hmac(
        "portero.factors.passkey.user_handle", str(user.pk), secret=secret, algorithm="sha256"
    ).digest()


def _handle_matches(user: User, handle: bytes) -> bool:
    """True when `handle` is `user`'s under the server key or a former one still listed in
    SECRET_KEY_FALLBACKS (passkeys made before a key rotation keep working)."""
    secrets = [None, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(user_handle(user, secret=s), handle) for s in secrets)


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            type=PublicKeyCredentialType.PUBLIC_KEY, id=bytes(passkey.credential_id)
        )
        for passkey in Passkey.objects.filter(user=user)
    ]


# --- Ceremony state in the session ---------------------------------------------------------


def _remember(request: HttpRequest, state: dict[str, Any], *, kind: str, user: User | None) -> None:
    now = clock.now().timestamp()
    kept = {
        key: value
        for key, value in _ceremonies(request).items()
        if now - float(value.get("at", 0)) <= CEREMONY_MINUTES * 60
    }
    kept[state["challenge"]] = {
        "state": {
            "challenge": state["challenge"],
            "user_verification": str(state["user_verification"]),
        },
        "kind": kind,
        "user": user.pk if user else None,
        "at": now,
    }
    newest = sorted(kept.items(), key=lambda item: float(item[1]["at"]))[-CEREMONIES_KEPT:]
    request.session[CEREMONIES] = dict(newest)


def _ceremonies(request: HttpRequest) -> dict[str, dict[str, Any]]:
    found = request.session.get(CEREMONIES)
    return found if isinstance(found, dict) else {}


def _take(
    request: HttpRequest, client_data: CollectedClientData, *, kind: str, user: User | None
) -> dict[str, Any]:
    """Return (and forget: a challenge works once) the state of the ceremony this response
    answers, if this session started it, for `kind` and `user`, within its time."""
    ceremonies = _ceremonies(request)
    entry = ceremonies.pop(websafe_encode(client_data.challenge), None)
    request.session[CEREMONIES] = ceremonies
    if not isinstance(entry, dict) or entry.get("kind") != kind:
        raise PasskeyError("no such ceremony in this session")
    # Started for one account, it answers for that account only; started for any (no
    # username yet, or a reset whose account is checked by the caller), for the one asked.
    if entry.get("user") is not None and entry.get("user") != (user.pk if user else None):
        raise PasskeyError("the ceremony was started for another account")
    if not 0 <= clock.now().timestamp() - float(entry.get("at", 0)) <= CEREMONY_MINUTES * 60:
        raise PasskeyError("the ceremony expired")
    return dict(entry["state"])


def _json(response: str) -> dict[str, Any]:
    if len(response) > RESPONSE_MAX:
        raise PasskeyError("the response is too long")
    try:
        parsed = json.loads(response)
    except ValueError as error:
        raise PasskeyError("the response is not JSON") from error
    if not isinstance(parsed, dict):
        raise PasskeyError("the response is not an object")
    return parsed


def _client_data(parsed: dict[str, Any]) -> CollectedClientData:
    try:
        return CollectedClientData(websafe_decode(parsed["response"]["clientDataJSON"]))
    except Exception as error:  # any malformed input is simply no proof
        raise PasskeyError("unreadable client data") from error


# --- Registration --------------------------------------------------------------------------


def registration_options(request: HttpRequest, *, user: User) -> dict[str, Any]:
    """Start registering a passkey for `user`; return the options for
    `navigator.credentials.create` (JSON, binary values in base64url)."""
    options, state = _server().register_begin(
        PublicKeyCredentialUserEntity(
            id=user_handle(user),
            name=user.username,
            display_name=user.get_full_name() or user.username,
        ),
        credentials=_descriptors(user),  # excludeCredentials: one passkey per authenticator
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
        extensions={"credProps": True},
    )
    _remember(request, state, kind=CREATE, user=user)
    return dict(options)


def registration_verify(request: HttpRequest, *, user: User, response: str) -> NewPasskey:
    """Check the browser's answer to `registration_options`; raise PasskeyError if it proves
    nothing (wrong origin or challenge, no user verification, ...)."""
    parsed = _json(response)
    state = _take(request, _client_data(parsed), kind=CREATE, user=user)
    try:
        auth_data = _server().register_complete(state, parsed)
    except Exception as error:  # fido2 raises ValueError, or others on malformed input
        raise PasskeyError(str(error)) from error
    credential = auth_data.credential_data
    if credential is None:
        raise PasskeyError("no credential in the response")
    return NewPasskey(
        credential_id=bytes(credential.credential_id),
        credential=bytes(credential),
        sign_count=auth_data.counter,
    )


# --- Authentication ------------------------------------------------------------------------


def authentication_options(
    request: HttpRequest, *, purpose: str, user: User | None = None
) -> dict[str, Any]:
    """Start a sign-in with a passkey for `purpose`; return the options for
    `navigator.credentials.get`. With `user`, only that account's passkeys are asked for;
    without, any passkey of this site may answer (usernameless, autofill)."""
    assert purpose in PURPOSES
    options, state = _server().authenticate_begin(
        credentials=_descriptors(user) if user else None,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _remember(request, state, kind=purpose, user=user)
    return dict(options)


def passkey_check(
    request: HttpRequest,
    *,
    client: ClientInfo,
    purpose: str,
    response: str,
    user: User | None = None,
) -> PasskeyCheck:
    """Check a passkey's answer to `authentication_options`: for `user` when given, else for
    whoever owns the passkey. Throttled per account and address like codes (MF2, factor_guess);
    every refusal is recorded, and none says whether an account or passkey exists. The
    request is for this browser's session, which holds the challenge."""
    owner = user
    try:
        parsed = _json(response)
        found = _passkey_of(parsed, user)
        owner = owner or (found.user if found else None)  # a failure counts against it too
        state = _take(request, _client_data(parsed), kind=purpose, user=user)
    except PasskeyError as error:
        return _refused(owner, client, purpose, reason=str(error))
    account = f"user:{owner.pk}" if owner else None
    if ratelimit.exceeded("factor_guess", account=account, ip=client.ip):
        event_record(
            EventType.FACTOR_THROTTLED,
            outcome="refused",
            user=owner,
            client=client,
            purpose=purpose,
            method="passkey",
        )
        return PasskeyCheck(throttled=True)
    if found is None:
        return _refused(owner, client, purpose, reason="unknown credential")
    try:
        passkey = _passkey_verify(state, parsed, found)
    except PasskeyError as error:
        return _refused(owner, client, purpose, reason=str(error))
    return PasskeyCheck(passkey=passkey)


def _passkey_of(parsed: dict[str, Any], user: User | None) -> Passkey | None:
    try:
        credential_id = websafe_decode(str(parsed["rawId"]))
    except Exception as error:
        raise PasskeyError("no credential id") from error
    found = Passkey.objects.select_related("user").filter(credential_id=credential_id).first()
    if found is None or (user is not None and found.user_id != user.pk):
        return None
    return found


@transaction.atomic
def _passkey_verify(state: dict[str, Any], parsed: dict[str, Any], found: Passkey) -> Passkey:
    """Verify the signature, the user handle and the signature counter; record the use. The
    row is locked so that two requests cannot both pass one counter value."""
    passkey = Passkey.objects.select_for_update().select_related("user").get(pk=found.pk)
    if not passkey.user.is_active:
        raise PasskeyError("the account is disabled")
    credential = AttestedCredentialData(bytes(passkey.credential))
    try:
        _server().authenticate_complete(state, [credential], parsed)
        answer = AuthenticationResponse.from_dict(parsed).response
    except Exception as error:  # fido2 raises ValueError, or others on malformed input
        raise PasskeyError(str(error)) from error
    if answer.user_handle is not None and not _handle_matches(passkey.user, answer.user_handle):
        raise PasskeyError("the user handle is not the passkey's owner")
    counter = answer.authenticator_data.counter
    # Authenticators that keep no counter always say 0 (synced passkeys do). One that keeps it
    # must go up: a counter that does not suggests a cloned authenticator.
    if (counter or passkey.sign_count) and counter <= passkey.sign_count:
        raise PasskeyError("the signature counter went backwards")
    passkey.sign_count, passkey.last_used_at = counter, clock.now()
    passkey.save(update_fields=["sign_count", "last_used_at"])
    return passkey


def _refused(owner: User | None, client: ClientInfo, purpose: str, *, reason: str) -> PasskeyCheck:
    ratelimit.hit("factor_guess", account=f"user:{owner.pk}" if owner else None, ip=client.ip)
    event_record(
        EventType.FACTOR_REJECTED,
        outcome="refused",
        user=owner,
        client=client,
        purpose=purpose,
        method="passkey",
        reason=reason[:120],
    )
    return PasskeyCheck()
