"""Helpers for the browser tests: profiles, the words on the pages, e-mail, axe-core, keyboard."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from portero.accounts.models import User
from portero.accounts.services import user_create
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import text_of

CHROMIUM = os.environ.get("PORTERO_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() in {"true", "1"}

NEW_PASSWORD = "un atardecer violeta sobre el río Magdalena"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}

# What the pages say, per language.
TEXT: dict[str, dict[str, str]] = {
    "es-CO": {
        "sign_in": "Ingresar",
        "forgot_password": "¿Olvidó su contraseña?",
        "forgot_username": "¿Olvidó su usuario?",
        "send": "Enviar correo",
        "check_email": "Revise su correo electrónico",
        "username": "Nombre de usuario",
        "password": "Contraseña",
        "current_password": "Contraseña actual",
        "new_password": "Nueva contraseña",
        "confirm_password": "Confirmar contraseña",
        "change_password": "Cambiar contraseña",
        "changed": "Su contraseña fue cambiada",
        "my_account": "Mi cuenta",
        "email": "Correo electrónico",
        "have_code": "¿Tiene un código?",
        "code": "Código del correo",
        "continue": "Continuar",
        "expired": "Este enlace ha expirado",
        "used": "Este enlace ya fue usado",
        "invalid": "Este enlace no es válido",
        "new_email": "Enviarme un nuevo correo",
        "summary": "Por favor, revise lo siguiente",
        "not_found": "Página no encontrada",
        "mismatch": "Las dos contraseñas no coinciden.",
        "skip": "Saltar al contenido",
        "switch": "English",
        "lang": "es-CO",
        "show": "Mostrar contraseña",
        "hide": "Ocultar contraseña",
        "terms": "Términos y condiciones",
        "helpdesk": "Mesa de Servicio",
        "privacy": "Política de tratamiento de datos personales",
        "security": "Seguridad y privacidad",
        "app_code": "Código de su aplicación de autenticación",
        "backup_code": "Código de respaldo",
        "your_password": "Su contraseña",
        "confirm": "Confirmar",
        "two_step": "Verificación en dos pasos",
        "set_up_app": "Configurar una aplicación de autenticación",
        "turn_on": "Activar",
        "saved": "Ya los guardé",
        "sign_out": "Cerrar sesión",
        "no_phone": "No tengo mi teléfono: usar un código de respaldo",
        "wrong_code": "Este código no es correcto o ya fue usado",
    },
    "en": {
        "sign_in": "Sign in",
        "forgot_password": "Forgot your password?",
        "forgot_username": "Forgot your username?",
        "send": "Send e-mail",
        "check_email": "Check your e-mail",
        "username": "Username",
        "password": "Password",
        "current_password": "Current password",
        "new_password": "New password",
        "confirm_password": "Confirm password",
        "change_password": "Change password",
        "changed": "Your password was changed",
        "my_account": "My account",
        "email": "E-mail address",
        "have_code": "Do you have a code?",
        "code": "Code from the e-mail",
        "continue": "Continue",
        "expired": "This link has expired",
        "used": "This link was already used",
        "invalid": "This link is not valid",
        "new_email": "Send me a new e-mail",
        "summary": "Please check the following",
        "not_found": "Page not found",
        "mismatch": "The two passwords do not match.",
        "skip": "Skip to content",
        "switch": "Español",
        "lang": "en",
        "show": "Show password",
        "hide": "Hide password",
        "terms": "Terms and conditions",
        "helpdesk": "Service Desk",  # PORTERO_HELPDESK_NAME_EN's default
        "privacy": "Personal data processing policy",
        "security": "Security and privacy",
        "app_code": "Code from your authenticator app",
        "backup_code": "Backup code",
        "your_password": "Your password",
        "confirm": "Confirm",
        "two_step": "Two-step verification",
        "set_up_app": "Set up an authenticator app",
        "turn_on": "Turn on",
        "saved": "I saved them",
        "sign_out": "Sign out",
        "no_phone": "I don't have my phone: use a backup code",
        "wrong_code": "This code is not correct, or it was already used",
    },
}


@dataclass(frozen=True)
class Profile:
    """A browser language and a screen."""

    language: str  # "es-CO" or "en"
    device: str  # "desktop" or "mobile"

    def __str__(self) -> str:
        return f"{self.language[:2]}-{self.device}"

    @property
    def text(self) -> dict[str, str]:
        return TEXT[self.language]

    @property
    def account_language(self) -> str:
        return "en" if self.language == "en" else "es-co"

    def context_options(self) -> dict[str, Any]:
        if self.device == "mobile":
            return {
                "locale": self.language,
                "viewport": PHONE,
                "is_mobile": True,
                "has_touch": True,
                "device_scale_factor": 2,
            }
        return {"locale": self.language, "viewport": DESKTOP}


@dataclass
class SiteInfo:
    """The running server: its origin, the SMTP sink its worker delivers to, its logs."""

    base: str
    sink: SMTPSink
    logs: tuple[Path, ...] = field(default=())
    processes: tuple[Any, ...] = field(default=())


# --- Accounts and e-mail -------------------------------------------------------------------


def new_account(
    profile: Profile, *, username: str = "", email: str = "", password: str | None = PASSWORD
) -> User:
    """Create an account in the profile's language, with an address no other test uses."""
    tag = uuid.uuid4().hex[:10]
    return user_create(
        username=username or f"proveedor.{tag}",
        email=email or f"contacto.{tag}@example.com",
        full_name="Proveedora de Prueba S.A.S.",
        language=profile.account_language,
        password=password,
    )


RESET_LINK = re.compile(r"https?://\S+/restablecer/[^\s/]+/")


def mail_to(
    sink: SMTPSink, address: str, count: int = 1, *, recovery: bool = True, seconds: float = 20
) -> list[EmailMessage]:
    """Wait until `count` messages to `address` reached the SMTP server; return them.

    With `recovery`, only messages with a recovery link count (not "password changed" notices or
    username reminders sent to the same address).
    """
    deadline = time.monotonic() + seconds
    while True:
        with sink.lock:
            found = [
                m
                for m, (_, to) in zip(sink.messages, sink.envelopes, strict=True)
                if address in to and (not recovery or RESET_LINK.search(text_of(m)))
            ]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} of {count} e-mails to {address} arrived"
            return found
        time.sleep(0.1)


def link_in(message: EmailMessage) -> str:
    """Return the recovery link (a full URL) from the message's text part."""
    found = RESET_LINK.search(text_of(message))
    assert found, "no recovery link in the e-mail"
    return found.group(0)


def code_in(message: EmailMessage) -> str:
    """Return the one-time code ("1234 5678") from the message's text part."""
    found = re.search(r"\b\d{4} \d{4}\b", text_of(message))
    assert found, "no one-time code in the e-mail"
    return found.group(0)


# --- axe-core ------------------------------------------------------------------------------

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                           resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))
  }));
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core inside the page (injected past CSP by the driver); return its violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(_RUN_AXE, WCAG_TAGS)  # type: ignore[no-any-return]


def describe_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {n['target']}: {n['summary']}" for n in v["nodes"])
    return "\n".join(lines)


def horizontal_overflow(page: Any) -> int:
    """Return how many CSS pixels the page is wider than its window (0 when it fits)."""
    return page.evaluate(  # type: ignore[no-any-return]
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


# --- Keyboard ------------------------------------------------------------------------------

_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {tag: "body"};
  const s = getComputedStyle(e);
  const outlined = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
                   && s.outlineColor !== "rgba(0, 0, 0, 0)";
  return {tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute("name") || "",
          type: e.getAttribute("type") || "", href: e.getAttribute("href") || "",
          text: (e.innerText || e.value || "").trim(),
          label: e.getAttribute("aria-label") || "",
          visible: outlined || s.boxShadow !== "none"};
}"""


def focused(page: Any) -> dict[str, Any]:
    """Describe the element that has focus, and whether its focus indicator shows."""
    return page.evaluate(_FOCUSED)  # type: ignore[no-any-return]


def tab_to(page: Any, wanted: dict[str, str], limit: int = 40) -> dict[str, Any]:
    """Press Tab until the focused element has every key/value of `wanted`.

    Every stop on the way must show its focus (WCAG 2.4.7).
    """
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        assert info["tag"] == "body" or info["visible"], f"focus not visible on {info}"
        if all(str(info.get(k, "")) == v for k, v in wanted.items()):
            return info
    raise AssertionError(f"no element like {wanted} within {limit} Tab presses")


def import_playwright() -> Any:
    """Return playwright.sync_api; skip the module without it locally, fail under CI."""
    try:
        import playwright.sync_api as api
    except ImportError:
        if IN_CI:
            raise
        pytest.skip(
            "Playwright for Python is not installed (pip install -e '.[test]')",
            allow_module_level=True,
        )
    return api
