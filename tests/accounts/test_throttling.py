"""LI2 and LI3: sign-in throttling per account and per client, invisible in the responses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from portero.accounts.models import SignInThrottle
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, link_in, set_password

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
WRONG = "esta no es la clave correcta"


def _try(password: str, username: str = "gongoragabriela", ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return Client(REMOTE_ADDR=ip).post("/ingresar/", {"username": username, "password": password})


def _page(response) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    return response.status_code, CSRF.sub(b"", response.content)


def test_li2_after_five_failures_even_the_right_password_waits_and_is_told_so(user, clock):
    for n in range(5):
        _try(WRONG, ip=f"203.0.113.{n}")
    refused = _try(PASSWORD, ip="203.0.113.99").content.decode()
    assert "Demasiados intentos fallidos con este nombre de usuario" in refused
    assert re.search(r"Espere 3[01] segundos", refused)  # not "wrong password", which made
    # people reset a password that was right
    clock.advance(timedelta(seconds=31))
    assert _try(PASSWORD, ip="203.0.113.99").status_code == 302


def test_li1_the_wait_is_the_same_for_a_name_no_account_has(user, clock):
    """The count is kept per typed username, account or not: the answer reveals nothing."""
    for name in ("gongoragabriela", "nadie.existe"):
        for n in range(5):
            _try(WRONG, username=name, ip=f"203.0.113.{n}")
    known = _page(_try(PASSWORD, ip="203.0.113.99"))
    unknown = _page(_try(PASSWORD, username="nadie.existe", ip="203.0.113.98"))
    # Each page shows its own typed name, and the two were tried a moment apart.
    seconds = re.compile(rb"Espere \d+ segundos")
    assert seconds.search(known[1])
    assert seconds.sub(b"", known[1]).replace(b"gongoragabriela", b"?") == seconds.sub(
        b"", unknown[1]
    ).replace(b"nadie.existe", b"?")
    for n in range(95):
        clock.advance(timedelta(minutes=16))
        for name in ("gongoragabriela", "nadie.existe"):
            _try(WRONG, username=name, ip=f"198.51.100.{n}")
    stopped = _page(_try(PASSWORD, ip="203.0.113.97"))
    other = _page(_try(PASSWORD, username="nadie.existe", ip="203.0.113.96"))
    assert stopped[1].replace(b"gongoragabriela", b"?") == other[1].replace(b"nadie.existe", b"?")
    assert "Elija una nueva contraseña".encode() in stopped[1]


def test_li3_too_many_failures_from_one_network_are_told_so(user, settings):
    for n in range(30):
        _try(WRONG, username=f"nombre.{n}", ip="203.0.113.50")
    refused = _try(PASSWORD, ip="203.0.113.50").content.decode()
    assert "Demasiados ingresos fallidos desde su red" in refused


def test_li2_the_delay_grows_with_each_failure(user, clock):
    for n in range(5):
        _try(WRONG, ip=f"203.0.113.{n}")
    clock.advance(timedelta(seconds=31))
    _try(WRONG)  # sixth failure: the next wait doubles to 60 s
    clock.advance(timedelta(seconds=45))
    assert _try(PASSWORD).status_code == 200
    clock.advance(timedelta(seconds=20))
    assert _try(PASSWORD).status_code == 302


def test_li2_a_success_resets_the_count(user, clock):
    for _ in range(4):
        _try(WRONG)
    assert _try(PASSWORD).status_code == 302
    assert not SignInThrottle.objects.exists()
    for _ in range(4):
        _try(WRONG)
    assert _try(PASSWORD).status_code == 302


def test_li2_hard_stop_at_100_failures_until_a_reset(
    user, client, mailbox, worker, clock, settings
):
    settings.PORTERO_RATE_LIMITS = {}  # one test client address: leave LI3 out of this one
    for _ in range(100):
        _try(WRONG)
        clock.advance(timedelta(minutes=16))
    clock.advance(timedelta(days=30))
    assert _try(PASSWORD).status_code == 200  # still stopped, however long one waits

    ask_reset(client, "gongoragabriela")  # a locked user can still recover
    worker.drain()
    assert (
        set_password(Client(), link_in(mailbox.messages[0]), NEW_PASSWORD)["Location"]
        == "/restablecer/listo/"
    )
    assert _try(NEW_PASSWORD).status_code == 302


def test_li2_unknown_usernames_are_counted_the_same_way(user):
    for _ in range(6):
        _try(WRONG, username="nadie.existe")
    assert SignInThrottle.objects.get().failures == 5  # the sixth was refused, not counted


def test_li3_thirty_failures_from_one_address_stop_that_address(user, clock):
    for number in range(30):
        _try(WRONG, username=f"usuario.{number}", ip="198.51.100.9")
    assert _try(PASSWORD, ip="198.51.100.9").status_code == 200  # spraying address stopped
    assert _try(PASSWORD, ip="198.51.100.10").status_code == 302  # others are not
    clock.advance(timedelta(minutes=21))
    assert _try(PASSWORD, ip="198.51.100.9").status_code == 302


def test_cp1_wrong_current_passwords_count_like_failed_sign_ins(user, clock):
    browser = Client(REMOTE_ADDR="203.0.113.50")
    browser.post("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    change = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    for _ in range(5):
        browser.post("/cuenta/contrasena/", {"current_password": WRONG, **change})
    # Now even the right current password is refused until the delay passes...
    assert (
        browser.post("/cuenta/contrasena/", {"current_password": PASSWORD, **change}).status_code
        == 200
    )
    # ...and signing in elsewhere waits too.
    assert _try(PASSWORD, ip="203.0.113.51").status_code == 200
    clock.advance(timedelta(seconds=31))
    assert (
        browser.post("/cuenta/contrasena/", {"current_password": PASSWORD, **change}).status_code
        == 302
    )
