"""LI4, HB1, HB4: how credentials travel, and what every page tells the browser."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.config.test_settings import _run
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/ingresar/",
    "/recuperar/contrasena/",
    "/recuperar/contrasena/enviado/",
    "/recuperar/usuario/",
    "/recuperar/usuario/enviado/",
    "/restablecer/codigo/",
    "/restablecer/",
    "/restablecer/listo/",
    "/no-existe/",
]


def test_li4_credentials_in_the_query_string_never_sign_in(user):
    browser = Client()
    response = browser.get("/ingresar/", {"username": "gongoragabriela", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in browser.session


def test_li4_sign_in_form_needs_its_csrf_token(user):
    response = Client(enforce_csrf_checks=True).post(
        "/ingresar/", {"username": "gongoragabriela", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_li4_password_field_is_never_echoed_back(user):
    html = (
        Client()
        .post("/ingresar/", {"username": "gongoragabriela", "password": "clave equivocada larga"})
        .content.decode()
    )
    assert "clave equivocada larga" not in html
    assert 'value="gongoragabriela"' in html  # the username is kept for the next try


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.test/",
        "//evil.test/x",
        "/\\evil.test",
        "javascript:alert(1)",
        "http:/evil.test",
    ],
)
def test_li4_next_redirects_only_to_paths_on_this_site(user, target):
    response = Client().post(
        f"/ingresar/?next={target}", {"username": "gongoragabriela", "password": PASSWORD}
    )
    assert response["Location"] == "/cuenta/"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_hb1_security_headers_on_every_page(path):
    response = Client().get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "same-origin"


def test_hb1_hsts_is_sent_when_the_base_url_is_https():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS)"
    )
    assert int(_run(["-c", code]).stdout.strip()) >= 31536000
    plain = _run(["-c", code], PORTERO_ENV="development", PORTERO_BASE_URL="http://127.0.0.1:8000")
    assert plain.stdout.strip() == "0"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_hb4_no_third_party_origin_on_any_page(path):
    html = Client().get(path).content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    loaded = [s for s in sources if not s.startswith(("/", "#"))]
    # Only the configured help-desk and legal links, and the GOV.CO bar's link to the state
    # portal, may point elsewhere; nothing is loaded from anywhere but Portero.
    assert all(
        s.startswith(
            ("https://soporte.portero.test", "https://portero.test/", "https://www.gov.co/")
        )
        for s in loaded
    ), loaded
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)


def test_hb1_no_inline_script_anywhere():
    for path in PUBLIC_PAGES:
        html = Client().get(path).content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert " onclick=" not in html and " onload=" not in html
