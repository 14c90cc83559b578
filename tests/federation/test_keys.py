"""Signing keys: published, rotated without breaking tokens in flight (OI4, OI8)."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

from portero.federation.keys import JWKS_MAX_AGE, KeyRing, keyring
from tests.federation.conftest import get_code, redeem, verify_id_token

pytestmark = pytest.mark.django_db


def published_kids() -> list[str]:
    return [key["kid"] for key in Client().get("/o/jwks/").json()["keys"]]


def test_oi4_the_jwks_publishes_only_public_rsa_keys(db):
    keys = Client().get("/o/jwks/").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


def kid_of(token: str) -> str:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]


def test_oi8_a_new_key_is_published_before_it_signs_and_old_tokens_keep_verifying(
    portal, browser, clock
):
    before = redeem(portal, get_code(browser, portal)).json()["id_token"]
    old_kid = keyring().active().kid
    call_command("keys", "rotate")
    new_kid = keyring()._load()[0].kid
    assert new_kid != old_kid and set(published_kids()) == {old_kid, new_kid}

    during = redeem(portal, get_code(browser, portal)).json()["id_token"]
    assert kid_of(during) == old_kid  # portals' cached key sets may not have the new key yet
    clock.advance(JWKS_MAX_AGE + timedelta(seconds=1))
    after = redeem(portal, get_code(browser, portal)).json()["id_token"]
    assert kid_of(after) == new_kid
    assert verify_id_token(before, portal)["aud"] == portal.client_id
    assert set(published_kids()) == {old_kid, new_kid}


def test_oi8_an_exposed_key_is_replaced_at_once(portal, browser):
    old_kid = keyring().active().kid
    call_command("keys", "rotate", "--now")
    token = redeem(portal, get_code(browser, portal)).json()["id_token"]
    assert kid_of(token) != old_kid


def test_oi8_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(db, clock, settings):
    old_kid = keyring().active().kid
    call_command("keys", "rotate")
    clock.advance(JWKS_MAX_AGE)  # the old key signs until here
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
    new = operator.rotate().kid
    assert new in {key.kid for key in server.published()} and new != first


def test_processes_starting_together_agree_on_the_first_key(tmp_path, settings):
    path = tmp_path / "keys.json"
    rings = [KeyRing(path) for _ in range(6)]  # as many web workers at their first request
    start, kids = threading.Barrier(len(rings)), []

    def first_request(ring: KeyRing) -> None:
        start.wait()
        kids.append(ring.active().kid)

    threads = [threading.Thread(target=first_request, args=(ring,)) for ring in rings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(kids)) == 1 and len(kids) == len(rings)
    assert json.loads(path.read_text())["keys"][0]["kid"] == kids[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".oidc-keys-")]


def test_portals_may_cache_the_keys_and_discovery_but_no_page(user, browser):
    for url in ("/o/jwks/", "/.well-known/openid-configuration"):
        assert Client().get(url)["Cache-Control"] == "public, max-age=300", url
    assert browser.get("/cuenta/")["Cache-Control"] == "no-store"
