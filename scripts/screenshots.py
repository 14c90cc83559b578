#!/usr/bin/env python3
"""Regenerate docs/screenshots/: every page, on a desktop and a phone, from a live `portero demo`.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts `portero demo` on free ports in a temporary folder (its own SQLite database and inbox),
walks the pages in Spanish with Debian's Chromium driven by Playwright (never a downloaded
browser), reads the recovery e-mails from the demo inbox, and writes <page>-<device>.png.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PORTERO_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "mobile": {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True},
}
USER = "gongoragabriela"
STAFF = "mesa.supervisora"
DEMO_PASSWORD = "secop-demo-clave-2026"  # noqa: S105  printed by `portero demo` itself
RESET_LINK = re.compile(r"http://\S+/restablecer/[^\s/]+/")
NEW_PASSWORDS = {
    "desktop": "un atardecer violeta sobre el río Magdalena",
    "mobile": "la lluvia de abril sobre los cerros orientales",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo(var_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Run `portero demo` until the block ends; yield its origin and environment (the demo
    portal's origin is PORTAL_URL in it)."""
    web, smtp, portal = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{web}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTERO_")},
        "PORTERO_ENV": "demo",
        "PORTERO_VAR_DIR": str(var_dir),
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{web}",
        "PORTERO_DEMO_SMTP_PORT": str(smtp),
        "PORTERO_DEMO_PORTAL_PORT": str(portal),
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        "PORTERO_RATE_LIMITS": "off",
    }
    env.pop("DATABASE_URL", None)
    env.pop("EMAIL_URL", None)
    log = (var_dir / "demo.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "portero.cli", "demo"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                for url in (f"{base}/ingresar/", f"http://127.0.0.1:{portal}/"):
                    urllib.request.urlopen(url, timeout=2).close()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((var_dir / "demo.log").read_text()) from None
                time.sleep(0.3)
        yield base, {**env, "PORTAL_URL": f"http://127.0.0.1:{portal}"}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        log.close()


def age_links(env: dict[str, str]) -> None:
    """Make the demo user's recovery links expired (the demo's clock cannot be moved)."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("PORTERO_")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "portero.config.settings"
    # Playwright's sync API keeps an asyncio loop marked as running in this thread; this one
    # query is plain synchronous code, so Django's guard against async callers does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django  # the settings read the demo's environment, so only now

    django.setup()
    from portero.core import clock
    from portero.recovery.models import PasswordReset

    PasswordReset.objects.filter(user__username=USER).update(
        expires_at=clock.now() - timedelta(seconds=1)
    )


class Shooter:
    def __init__(self, page: Page, device: str, out: Path) -> None:
        self.page, self.device, self.out = page, device, out

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.page.evaluate("document.fonts.ready")
        path = self.out / f"{name}-{self.device}.png"
        self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        print(f"  {path}")

    def submit(self, fields: dict[str, str], button: str) -> None:
        for label, value in fields.items():
            self.page.get_by_label(label, exact=True).fill(value)
        self.page.get_by_role("button", name=button, exact=True).click()


def inbox_keys(reader: Page) -> set[str]:
    reader.goto("/demo/correo/")
    return set(re.findall(r'href="/demo/correo/([^"/]+)/"', reader.content()))


def recovery_link(reader: Page, seen: set[str]) -> str:
    """Wait for a recovery e-mail that is not in `seen`; return its link."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for key in inbox_keys(reader) - seen:
            reader.goto(f"/demo/correo/{key}/")
            found = RESET_LINK.search(reader.locator(".mail-text").inner_text())
            if found:
                return found.group(0)
            seen.add(key)  # another notice (e.g. "password changed")
        time.sleep(0.3)
    raise SystemExit("no recovery e-mail reached the demo inbox")


def walk(page: Page, reader: Page, device: str, out: Path, env: dict[str, str]) -> None:
    s = Shooter(page, device, out)
    page.goto("/ingresar/")
    s.shot("sign-in")
    s.submit({"Nombre de usuario": USER}, "Ingresar")
    s.shot("sign-in-error")
    page.goto("/recuperar/contrasena/")
    s.shot("forgot-password")
    s.submit({}, "Enviar correo")
    s.shot("forgot-password-error")
    seen = inbox_keys(reader)
    s.submit({"Nombre de usuario": USER}, "Enviar correo")
    s.shot("check-your-email")
    link = recovery_link(reader, seen)
    page.goto("/restablecer/codigo/")
    s.shot("code")
    s.submit({"Nombre de usuario": USER, "Código del correo": "1234"}, "Continuar")
    s.shot("code-error")
    page.goto("/recuperar/usuario/")
    s.shot("forgot-username")
    s.submit({"Correo electrónico": "no-es-un-correo"}, "Enviar correo")
    s.shot("forgot-username-error")
    s.submit({"Correo electrónico": "gabriela.gongora@example.com"}, "Enviar correo")
    s.shot("username-sent")
    page.goto(link)
    page.get_by_label("Nueva contraseña", exact=True).fill("corta")
    page.locator(".strength-meter__text").filter(has_text=re.compile(".")).wait_for()
    s.shot("change-password")
    new = NEW_PASSWORDS[device]
    s.submit({"Nueva contraseña": new, "Confirmar contraseña": new + "!"}, "Cambiar contraseña")
    s.shot("change-password-error")
    s.submit({"Nueva contraseña": new, "Confirmar contraseña": new}, "Cambiar contraseña")
    s.shot("password-changed")
    page.goto(link)
    s.shot("link-used")
    page.goto("/restablecer/no-es-un-enlace/")
    s.shot("link-invalid")
    seen = inbox_keys(reader)
    page.goto("/recuperar/contrasena/")
    s.submit({"Nombre de usuario": USER}, "Enviar correo")
    expired = recovery_link(reader, seen)
    age_links(env)
    page.goto(expired)
    s.shot("link-expired")
    page.goto("/no-existe/")
    s.shot("not-found")
    page.goto("/ingresar/")
    s.submit({"Nombre de usuario": USER, "Contraseña": new}, "Ingresar")
    s.shot("my-account")
    reader_shots = Shooter(reader, device, out)
    reader.goto("/demo/correo/")
    reader_shots.shot("demo-inbox")


def walk_portal(page: Page, device: str, out: Path, env: dict[str, str]) -> None:
    """From the demo portal to Portero and back, then the applications in "Mi cuenta"."""
    s = Shooter(page, device, out)
    page.goto(env["PORTAL_URL"] + "/")
    s.shot("portal")
    page.get_by_role("link", name="Ingresar").or_(
        page.get_by_role("button", name="Ingresar")
    ).first.click()
    page.wait_for_url("**/ingresar/**")
    s.shot("sign-in-from-portal")
    s.submit({"Nombre de usuario": USER, "Contraseña": NEW_PASSWORDS[device]}, "Ingresar")
    page.wait_for_url(env["PAGE_PORTAL_GLOB"])
    s.shot("portal-signed-in")
    page.goto("/cuenta/aplicaciones/")
    s.shot("applications")


def walk_factors(page: Page, device: str, out: Path) -> None:
    """Two-step verification as the demo's supervisor sets it up (the console asks for it),
    then the sign-in's second step. The app is removed at the end, for the next device."""
    import pyotp

    s = Shooter(page, device, out)
    page.goto("/ingresar/")
    s.submit({"Nombre de usuario": STAFF, "Contraseña": DEMO_PASSWORD}, "Ingresar")
    page.goto("/mesa/")  # no factor yet: the console sends its staff to set one up
    page.wait_for_url("**/cuenta/seguridad/")
    s.shot("two-step-verification")
    page.get_by_role("link", name="Configurar una aplicación de autenticación").click()
    s.shot("authenticator-app")
    app = pyotp.TOTP(page.locator("#secret").inner_text().replace(" ", ""))
    s.submit({"Código de su aplicación de autenticación": app.now()}, "Activar")
    page.wait_for_url("**/cuenta/seguridad/codigos/")
    s.shot("backup-codes")
    page.goto("/cuenta/")
    page.get_by_role("button", name="Cerrar sesión").click()
    page.goto("/ingresar/")
    s.submit({"Nombre de usuario": STAFF, "Contraseña": DEMO_PASSWORD}, "Ingresar")
    page.wait_for_url("**/ingresar/verificacion/")
    s.shot("second-step")
    s.submit({"Código de su aplicación de autenticación": app.at(time.time() + 30)}, "Continuar")
    page.goto("/cuenta/seguridad/")
    page.get_by_role("button", name="Quitar la aplicación de autenticación").click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is not at {CHROMIUM}: apt-get install chromium")
    with (
        tempfile.TemporaryDirectory(prefix="portero-shots-") as tmp,
        demo(Path(tmp)) as (base, env),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        for device, options in DEVICES.items():
            print(f"{device}:")
            context = browser.new_context(base_url=base, locale="es-CO", **options)
            reader = browser.new_context(base_url=base, locale="es-CO", **options).new_page()
            walk(context.new_page(), reader, device, args.out, env)
            context.close()
            portal = browser.new_context(base_url=base, locale="es-CO", **options)
            walk_portal(
                portal.new_page(),
                device,
                args.out,
                {**env, "PAGE_PORTAL_GLOB": env["PORTAL_URL"] + "/**"},
            )
            portal.close()
            factors = browser.new_context(base_url=base, locale="es-CO", **options)
            walk_factors(factors.new_page(), device, args.out)
            factors.close()
            reader.context.close()
        browser.close()


if __name__ == "__main__":
    main()
