"""The demo's accounts, and the command line's answer to a missing setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from portero.demo.management.commands.demo import DEMO_AGENT, demo_users_create
from portero.helpdesk.roles import Role, role_of
from tests.processes import child_env


@pytest.mark.django_db
def test_the_demo_has_a_mesa_de_servicio_supervisor_to_try_the_console():
    assert DEMO_AGENT[0] in demo_users_create()
    from portero.accounts.models import User

    assert role_of(User.objects.get(username=DEMO_AGENT[0])) == Role.SUPERVISOR
    assert demo_users_create() == []  # once


def test_a_missing_setting_is_one_clear_line_not_a_traceback(tmp_path):
    env = child_env({"PORTERO_VAR_DIR": str(tmp_path)})
    env.pop("PORTERO_ENV", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "portero.cli",
            "createuser",
            "--username",
            "x",
            "--email",
            "x@example.com",
            "--role",
            "agent",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.fspath(tmp_path),
        timeout=60,
    )
    assert done.returncode == 1
    assert "configuration error: PORTERO_BASE_URL is required in production" in done.stderr
    assert "PORTERO_ENV=demo" in done.stderr and "Traceback" not in done.stderr
