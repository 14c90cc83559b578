"""`portero demo` runs a portal beside Portero: "Ingresar" there signs in through Portero."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from portero.demo.management.commands.demo import DEMO_PASSWORD, PORTAL_NAME
from tests.e2e.conftest import Browser, pipe_output, portero_process
from tests.processes import free_port, wait_until_serving


def test_demo_portal_signs_in_through_portero(tmp_path: Path):
    web, smtp, portal_port = free_port(), free_port(), free_port()
    base, portal = f"http://127.0.0.1:{web}", f"http://127.0.0.1:{portal_port}"
    env = {
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "PORTERO_BASE_URL": base,
        "PORTERO_DEMO_SMTP_PORT": str(smtp),
        "PORTERO_DEMO_PORTAL_PORT": str(portal_port),
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
    }
    with portero_process("demo", env=env) as demo:
        wait_until_serving(f"{base}/ingresar/", demo, pipe_output(demo))
        wait_until_serving(f"{portal}/", demo, pipe_output(demo))
        browser = Browser(portal)
        _, home = browser.get("/")
        assert '<a href="/auth/login/">Ingresar</a>' in home

        url, sign_in = browser.get("/auth/login/")  # to Portero's authorize, then its sign-in
        assert url.startswith(f"{base}/ingresar/?next=/o/authorize/")
        assert f"Ingrese para continuar a {PORTAL_NAME}." in sign_in
        authorize = parse_qs(urlsplit(parse_qs(urlsplit(url).query)["next"][0]).query)
        assert authorize["response_type"] == ["code"]
        assert authorize["scope"] == ["openid profile email"]
        assert authorize["code_challenge_method"] == ["S256"]
        assert authorize["redirect_uri"] == [f"{portal}/auth/callback/"]
        assert authorize["nonce"] and authorize["state"] and authorize["code_challenge"]

        browser.base = base
        url, home = browser.submit(
            url.removeprefix(base), {"username": "gongoragabriela", "password": DEMO_PASSWORD}
        )
        assert url == f"{portal}/"
        assert "Ingresó como <strong>Gabriela Góngora</strong>" in home
    assert demo.returncode == 0
    output = demo.stdout.read() if demo.stdout else ""
    assert "Traceback" not in output and "Demo stopped." in output
    assert output.index(f"Start here: {portal}/") < output.index(
        "Portero demo (SECOP II) is running."
    )
