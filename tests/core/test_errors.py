"""HB3: our own generic error pages, in Spanish, with no internals."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import include, path

pytestmark = pytest.mark.django_db


def _boom(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("SELECT secret FROM internals -- stack detail")


def _database_gone(request):  # type: ignore[no-untyped-def]
    from django.db import OperationalError

    raise OperationalError(
        'connection to server at "10.0.0.5", port 5432 failed: Connection refused'
    )


urlpatterns = [
    path("boom/", _boom),
    path("db/", _database_gone),
    path("", include("portero.config.urls")),
]
handler500 = "portero.core.errors.server_error"


def _generic(html: str) -> None:
    for leak in ("Traceback", "SELECT", "Django", "Python", "stack detail", "Version"):
        assert leak not in html
    assert 'lang="es-CO"' in html


def test_hb3_404_is_ours_and_in_spanish():
    response = Client().get("/no-existe/")
    assert response.status_code == 404
    assert "Página no encontrada" in response.content.decode()
    _generic(response.content.decode())


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_hb3_unsupported_methods_get_405_with_our_page(method):
    response = getattr(Client(), method)("/recuperar/contrasena/")
    assert response.status_code == 405
    assert "GET" in response["Allow"] and "PUT" not in response["Allow"]
    _generic(response.content.decode())


def test_hb3_trace_gets_405():
    response = Client().generic("TRACE", "/ingresar/")
    assert response.status_code == 405


@override_settings(ROOT_URLCONF=__name__)
def test_hb3_500_is_generic():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Algo salió mal" in html
    _generic(html)


def test_hb3_csrf_failure_explains_in_plain_words():
    response = Client(enforce_csrf_checks=True).post("/ingresar/", {"username": "a"})
    assert response.status_code == 403
    html = response.content.decode()
    _generic(html)
    assert "CSRF" not in html and "formulario" in html.lower()


def test_hb2_unknown_host_is_refused_with_a_400():
    response = Client(HTTP_HOST="evil.test").get("/ingresar/")
    assert response.status_code == 400
    _generic(response.content.decode())


def test_hb1_security_headers_on_pages():
    response = Client().get("/ingresar/")
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"


def test_language_switch_to_english_and_back():
    browser = Client()
    assert "Ingresar" in browser.get("/ingresar/").content.decode()
    browser.post("/idioma/", {"language": "en", "next": "/ingresar/"})
    english = browser.get("/ingresar/").content.decode()
    assert "Sign in" in english and 'lang="en"' in english
    browser.post("/idioma/", {"language": "es-co", "next": "/ingresar/"})
    assert "Ingresar" in browser.get("/ingresar/").content.decode()


def test_accept_language_english_is_honoured():
    html = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get("/ingresar/").content.decode()
    assert "Forgot your password?" in html


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ingresar/",
        "/recuperar/contrasena/",
        "/cuenta/",
        "/mesa/",
        "/o/authorize/",
        "/salud/vivo",
        "/idioma/",
    ],
)
def test_hb3_put_delete_patch_without_a_csrf_token_get_405_not_403(method, path):
    """Issue 15, defect 8: as a browser does it (CSRF enforced, no token), not 403."""
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405, response.status_code
    assert "PUT" not in response["Allow"] and "GET" in response["Allow"]
    _generic(response.content.decode())


def test_hb3_a_post_without_a_csrf_token_is_still_refused_with_403():
    response = Client(enforce_csrf_checks=True).post("/recuperar/contrasena/", {"username": "a"})
    assert response.status_code == 403


def test_hb3_every_page_says_which_methods_it_takes():
    """The 405 guard must know every view's methods; a new view without them would fall back
    to the CSRF check's 403."""
    from django.urls import URLPattern, URLResolver, get_resolver

    from portero.core.errors import view_methods

    def patterns(resolver: URLResolver, prefix: str = ""):  # type: ignore[no-untyped-def]
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from patterns(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.callback

    unknown = [
        route
        for route, view in patterns(get_resolver())
        if view_methods(view) is None and not getattr(view, "csrf_exempt", False)
    ]
    assert unknown == []


@override_settings(ROOT_URLCONF=__name__)
def test_hb3_database_down_gets_a_spanish_503_with_retry_after_never_a_500():
    """Issue 15: while the database is unreachable, a page says so (503) and when to retry."""
    response = Client(raise_request_exception=False).get("/db/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    html = response.content.decode()
    assert "El servicio no está disponible en este momento" in html
    assert "Intente de nuevo en unos minutos" in html
    _generic(html)
    assert "10.0.0.5" not in html and "Connection refused" not in html


def test_a_503_is_logged_as_one_line_without_its_traceback():
    import logging
    import sys

    from portero.core.log_redaction import RedactFilter

    try:
        raise RuntimeError("connection refused")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Service Unavailable: %s",
        ("/ingresar/",),
        exc_info,
    )
    record.status_code = 503
    RedactFilter().filter(record)
    assert record.exc_info is None and record.getMessage() == "Service Unavailable: /ingresar/"
