"""`portero client ...` and `portero keys ...`, as an operator types them (OI5)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import Application

from portero.federation.models import ClientProfile

pytestmark = pytest.mark.django_db


def portero(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_client_add_prints_the_credentials_once_as_json():
    out = portero(
        "client",
        "add",
        "--name",
        "Portal de contratación",
        "--redirect-uri",
        "https://portal.example/cb",
        "--redirect-uri",
        "https://portal.example/cb2",
        "--post-logout-redirect-uri",
        "https://portal.example/",
        "--backchannel-logout-uri",
        "https://portal.example/logout",
    )
    data = json.loads(out)
    assert set(data) == {"client_id", "client_secret"}
    app = Application.objects.get(client_id=data["client_id"])
    assert app.redirect_uris.split() == ["https://portal.example/cb", "https://portal.example/cb2"]
    assert app.skip_authorization and app.client_type == "confidential"
    assert ClientProfile.objects.get(application=app).backchannel_logout_uri.endswith("/logout")
    assert data["client_secret"] not in portero("client", "list")


def test_client_add_public_prints_no_secret_and_consent_is_remembered():
    data = json.loads(
        portero(
            "client",
            "add",
            "--name",
            "App",
            "--public",
            "--consent",
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
        )
    )
    assert set(data) == {"client_id"}
    listed = json.loads(portero("client", "list"))
    assert listed[0]["public"] and listed[0]["consent"]


def test_client_rotate_secret_prints_a_new_one_and_remove_removes():
    first = json.loads(
        portero("client", "add", "--name", "P", "--redirect-uri", "https://p.example/cb")
    )
    second = json.loads(portero("client", "rotate-secret", first["client_id"]))
    assert second["client_id"] == first["client_id"]
    assert second["client_secret"] != first["client_secret"]
    portero("client", "remove", first["client_id"])
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["client", "add", "--name", "P", "--redirect-uri", "http://p.example/cb"],
        ["client", "add", "--name", "P", "--redirect-uri", "https://p.example/cb#x"],
        ["client", "add", "--name", " ", "--redirect-uri", "https://p.example/cb"],
        ["client", "remove", "nobody"],
        ["client", "rotate-secret", "nobody"],
    ],
)
def test_client_commands_refuse_bad_input_with_a_message(args):
    with pytest.raises(CommandError):
        portero(*args)


def test_keys_rotate_and_list():
    assert len(portero("keys", "list").splitlines()) == 1  # development makes the first key
    portero("keys", "rotate")
    keys = [json.loads(line) for line in portero("keys", "list").splitlines()]
    assert len(keys) == 2 and sum(key["active"] for key in keys) == 1
    assert not keys[0]["active"]  # the new key signs once portals have had time to see it
