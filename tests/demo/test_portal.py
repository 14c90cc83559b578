"""The demo portal is an outside site, and `portero demo` registers it once."""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password
from oauth2_provider.models import Application

import portero.demo.portal
from portero.demo.management.commands.demo import (
    PORTAL_NAME,
    portal_client_ensure,
    portal_command,
)

PORTAL_DIR = Path(portero.demo.portal.__file__).parent


def _imported_modules(source: Path) -> list[tuple[str, int]]:
    """Return (module, relative level) of every import statement in `source`."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def test_the_portal_imports_nothing_of_portero_but_itself():
    """It knows Portero only over HTTP, as any outside portal would."""
    sources = sorted(PORTAL_DIR.rglob("*.py"))
    assert len(sources) >= 6  # settings, urls, views, wsgi, models, oidc...
    outside = [
        f"{source.relative_to(PORTAL_DIR)}: {module} (level {level})"
        for source in sources
        for module, level in _imported_modules(source)
        if level > 1
        or (
            level == 0
            and module.split(".")[0] == "portero"
            and not module.startswith("portero.demo.portal")
        )
    ]
    assert outside == []


@pytest.mark.django_db
def test_the_portal_is_registered_once_and_its_credentials_kept_for_the_owner_only(tmp_path):
    path = tmp_path / "demo-portal.json"
    first = portal_client_ensure(path=path, port=8001)
    assert portal_client_ensure(path=path, port=8001) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    application = Application.objects.get(name=PORTAL_NAME)
    assert application.client_id == first.client_id
    assert application.redirect_uris == "http://127.0.0.1:8001/auth/callback/"
    assert application.post_logout_redirect_uris == "http://127.0.0.1:8001/"
    assert (
        application.portero_profile.backchannel_logout_uri
        == "http://127.0.0.1:8001/auth/backchannel-logout/"
    )
    assert check_password(first.client_secret, application.client_secret)


@pytest.mark.django_db
def test_a_lost_credentials_file_rotates_the_secret_of_the_same_client(tmp_path):
    path = tmp_path / "demo-portal.json"
    first = portal_client_ensure(path=path, port=8001)
    path.unlink()
    second = portal_client_ensure(path=path, port=8001)
    assert second.client_id == first.client_id
    secret = Application.objects.get(client_id=first.client_id).client_secret
    assert check_password(second.client_secret, secret)
    assert not check_password(first.client_secret, secret)  # the lost one no longer works


@pytest.mark.django_db
def test_another_port_registers_the_portal_again_with_its_addresses(tmp_path):
    path = tmp_path / "demo-portal.json"
    first = portal_client_ensure(path=path, port=8001)
    second = portal_client_ensure(path=path, port=9001)
    assert second.client_id != first.client_id
    assert list(
        Application.objects.filter(name=PORTAL_NAME).values_list("redirect_uris", flat=True)
    ) == ["http://127.0.0.1:9001/auth/callback/"]


def test_the_portal_runs_in_one_gunicorn_process_on_loopback():
    command = portal_command(8001)
    assert command[1:3] == ["-m", "gunicorn"]
    assert command[command.index("--bind") + 1] == "127.0.0.1:8001"
    assert command[command.index("--workers") + 1] == "1"
    assert command[-1] == "portero.demo.portal.wsgi:application"
