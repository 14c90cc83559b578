"""Signing keys: published, rotated without breaking tokens in flight (OI4, OI8)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

from portero.federation.keys import KeyRing, keyring
from tests.federation.conftest import get_code, redeem, verify_id_token

pytestmark = pytest.mark.django_db


def published_kids() -> list[str]:
    return [key["kid"] for key in Client().get("/o/jwks/").json()["keys"]]


def test_oi4_the_jwks_publishes_only_public_rsa_keys(db):
    keys = Client().get("/o/jwks/").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


def test_oi8_a_token_signed_before_a_rotation_still_verifies_after_it(portal, browser):
    before = redeem(portal, get_code(browser, portal)).json()["id_token"]
    old_kid = keyring().active().kid
    call_command("keys", "rotate")
    new_kid = keyring().active().kid

    assert new_kid != old_kid and set(published_kids()) == {old_kid, new_kid}
    assert verify_id_token(before, portal)["aud"] == portal.client_id
    after = redeem(portal, get_code(browser, portal)).json()["id_token"]
    header = json.loads(__import__("base64").urlsafe_b64decode(after.split(".")[0] + "=="))
    assert header["kid"] == new_kid


def test_oi8_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(db, clock, settings):
    old_kid = keyring().active().kid
    call_command("keys", "rotate")
    clock.advance(timedelta(seconds=settings.PORTERO_OIDC_ID_TOKEN_SECONDS - 10))
    assert old_kid in published_kids()
    clock.advance(timedelta(minutes=6))
    assert old_kid not in published_kids()
    call_command("keys", "rotate")  # and the next rotation drops it from the file
    assert old_kid not in (settings.PORTERO_OIDC_KEYS_FILE.read_text())


def test_the_key_file_is_readable_by_its_owner_only(db, settings):
    keyring().active()
    assert settings.PORTERO_OIDC_KEYS_FILE.stat().st_mode & 0o077 == 0


def test_production_never_makes_up_a_key(tmp_path, settings):
    settings.PRODUCTION = True
    ring = KeyRing(tmp_path / "keys.json")
    with pytest.raises(ImproperlyConfigured, match="portero keys rotate"):
        ring.active()
    ring.rotate()
    assert ring.active().kid


def test_every_process_sees_a_rotation_without_a_restart(tmp_path, settings):
    path = tmp_path / "keys.json"
    server, operator = KeyRing(path), KeyRing(path)
    first = server.active().kid
    operator.rotate()
    assert server.active().kid != first


def test_processes_starting_together_agree_on_the_first_key(tmp_path, settings):
    path = tmp_path / "keys.json"
    first, second = KeyRing(path), KeyRing(path)
    second._write([{"kid": "other", "pem": "x", "created_at": "y", "retired_at": None}],
                  replace=False)  # as if another worker had created it a moment earlier
    first._write([{"kid": "mine", "pem": "x", "created_at": "y", "retired_at": None}],
                 replace=False)
    assert json.loads(path.read_text())["keys"][0]["kid"] == "other"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".oidc-keys-")]
