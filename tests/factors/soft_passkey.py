"""A software authenticator for the server-side passkey tests: it answers the options Portero
gives exactly as a browser would serialise a `PublicKeyCredential` (base64url JSON), with real
ES256 signatures, and can be told to misbehave (no user verification, another origin, a
counter that goes back) to prove the server refuses each."""

from __future__ import annotations

import json
import os
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

ORIGIN = "https://cuentas.portero.test"  # tests/settings.py's PORTERO_BASE_URL
RP_ID = "cuentas.portero.test"
FLAG = AuthenticatorData.FLAG


class SoftPasskey:
    """One discoverable credential on a pretend device with user verification."""

    def __init__(self, *, counter: int = 0, counting: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = counter
        self.counting = counting  # False: like synced passkeys, always 0
        self.user_handle: bytes | None = None

    def create(
        self,
        options: dict[str, Any],
        *,
        verified: bool = True,
        origin: str = ORIGIN,
        rp_id: str = RP_ID,
    ) -> str:
        """Answer `navigator.credentials.create` options; return the JSON a browser posts."""
        public_key = options["publicKey"]
        excluded = {websafe_decode(d["id"]) for d in public_key.get("excludeCredentials", [])}
        if self.credential_id in excluded:
            raise ValueError("InvalidStateError: this device already has a passkey here")
        self.user_handle = websafe_decode(public_key["user"]["id"])
        client_data = CollectedClientData.create(
            type="webauthn.create", challenge=public_key["challenge"], origin=origin
        )
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        flags = FLAG.UP | FLAG.AT | (FLAG.UV if verified else 0)
        auth_data = AuthenticatorData.create(
            sha256(rp_id.encode()).digest(), flags, self.counter, credential
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return json.dumps(
            {
                "id": websafe_encode(self.credential_id),
                "rawId": websafe_encode(self.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {"credProps": {"rk": True}},
                "response": {
                    "clientDataJSON": websafe_encode(client_data),
                    "attestationObject": websafe_encode(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def get(
        self,
        options: dict[str, Any],
        *,
        verified: bool = True,
        origin: str = ORIGIN,
        rp_id: str = RP_ID,
        counter: int | None = None,
        user_handle: bytes | None = None,
        challenge: str | None = None,
    ) -> str:
        """Answer `navigator.credentials.get` options; return the JSON a browser posts."""
        public_key = options["publicKey"]
        allowed = [websafe_decode(d["id"]) for d in public_key.get("allowCredentials") or []]
        if allowed and self.credential_id not in allowed:
            raise ValueError("NotAllowedError: no passkey of this device is allowed")
        if counter is not None:
            self.counter = counter
        elif self.counting:
            self.counter += 1
        client_data = CollectedClientData.create(
            type="webauthn.get", challenge=challenge or public_key["challenge"], origin=origin
        )
        flags = FLAG.UP | (FLAG.UV if verified else 0)
        auth_data = AuthenticatorData.create(sha256(rp_id.encode()).digest(), flags, self.counter)
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        handle = user_handle if user_handle is not None else self.user_handle
        return json.dumps(
            {
                "id": websafe_encode(self.credential_id),
                "rawId": websafe_encode(self.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": websafe_encode(client_data),
                    "authenticatorData": websafe_encode(auth_data),
                    "signature": websafe_encode(signature),
                    "userHandle": websafe_encode(handle) if handle else None,
                },
            }
        )
