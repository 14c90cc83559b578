"""docs/deploy.md is run, not just read: its unit files, its settings, every `portero` command
line and the backup and restore steps (issue 15, "Deploy by the book")."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from tests.conftest import SMTPSink
from tests.pg_cluster import ThrowawayCluster, require_postgres_bin
from tests.processes import child_env

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
PORTERO = str(Path(sys.executable).parent / "portero")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(DOC.read_text()) if lang == language]


def _files(prefix: str) -> dict[str, str]:
    """Return the blocks whose first line names a file under `prefix`: {path: text}."""
    found = {}
    for language in ("ini", "nginx"):
        for body in _blocks(language):
            first, _, rest = body.partition("\n")
            if first.startswith(f"# {prefix}"):
                found[first[2:].strip()] = rest
    return found


def _command_lines() -> list[list[str]]:
    """Return every `portero ...` invocation in the shell blocks and the units' ExecStart."""
    lines = [line for body in _blocks("sh") for line in body.splitlines()]
    lines += [
        line.partition("=")[2]
        for text in _files("/etc/systemd/system/").values()
        for line in text.splitlines()
        if line.startswith("ExecStart=")
    ]
    found = []
    for line in lines:
        words = shlex.split(line, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):  # VAR=value prefixes
            words.pop(0)
        if words and Path(words[0]).name == "portero":
            found.append(words[1:])
    return found


def test_the_guide_has_units_for_serve_worker_bounces_and_the_audit_timer():
    units = _files("/etc/systemd/system/")
    assert set(units) == {
        f"/etc/systemd/system/portero-{name}"
        for name in (
            "serve.service",
            "worker.service",
            "bounces.service",
            "audit.service",
            "audit.timer",
        )
    }


def test_every_unit_file_passes_systemd_analyze_verify(tmp_path: Path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is missing")
    paths = []
    for name, text in _files("/etc/systemd/system/").items():
        path = tmp_path / Path(name).name
        path.write_text(text.replace("/opt/portero/venv/bin/portero", PORTERO))
        paths.append(str(path))
    done = subprocess.run(
        ["systemd-analyze", "verify", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_every_portero_command_line_is_accepted_by_its_command():
    commands = get_commands()
    lines = _command_lines()
    assert len(lines) >= 12
    for words in lines:
        name, args = words[0], words[1:]
        assert name in commands, f"no command `portero {name}`"
        parser = load_command_class(commands[name], name).create_parser("portero", name)
        parser.parse_args(args)  # CommandError on an unknown option, choice or argument


def _settings_file(tmp_path: Path) -> dict[str, str]:
    (text,) = _files("/etc/portero/portero.env").values()
    values = dict(line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    key = tmp_path / "audit-key"
    key.write_text(secrets.token_hex(32) + "\n")
    key.chmod(0o600)
    return {
        **values,
        "PORTERO_AUDIT_KEY_FILE": str(key),
        "PORTERO_VAR_DIR": str(tmp_path),
        "PORTERO_AUDIT_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.jsonl"),
        "PORTERO_OIDC_KEYS_FILE": str(tmp_path / "oidc-keys.json"),
    }


def test_the_settings_file_names_real_settings_and_starts(tmp_path: Path):
    source = (Path(__file__).resolve().parents[2] / "src/portero/config/settings.py").read_text()
    env = _settings_file(tmp_path)
    for name in env:
        assert f'"{name}"' in source, f"{name} is not a setting"
    proxy = re.search(r"proxy_pass http://([\d.]+):", DOC.read_text())
    assert proxy and env["PORTERO_TRUSTED_PROXIES"] == proxy.group(1)  # nginx is believed
    assert env["PORTERO_BIND"].startswith(proxy.group(1))
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    done = subprocess.run(
        [PORTERO, "check"],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_nginx_replaces_the_forwarded_headers_a_client_sent():
    (text,) = _files("/etc/nginx/").values()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text  # never appended to
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    assert "proxy_set_header Host $host;" in text and "return 301 https://" in text
    if shutil.which("nginx"):
        pytest.fail("nginx is installed: also run `nginx -t` on this file here")


def _bash(script: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_backup_then_restore_then_audit_verify_as_written(
    tmp_path: Path, smtp_server: tuple[SMTPSink, int]
):
    cluster = ThrowawayCluster(require_postgres_bin()).create()
    try:
        env = child_env(_settings_file(tmp_path))
        env.update(
            {
                "DATABASE_URL": cluster.url(),
                "ADMIN_URL": cluster.url("postgres"),
                "RESTORED_URL": cluster.url("portero_restored"),
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}",
                "REDIS_URL": "",
                "PATH": f"{Path(PORTERO).parent}{os.pathsep}{os.environ['PATH']}",
            }
        )
        # A deployment with a sealed, checkpointed audit trail.
        _bash(
            "portero migrate --no-input && portero createuser --username gongoragabriela "
            "--email gabriela@example.com --no-password && portero worker --once && "
            "portero audit checkpoint",
            env,
            tmp_path,
        )
        backup, restore = (b for b in _blocks("sh") if "pg_dump" in b or "pg_restore" in b)
        checkpoints = str(tmp_path / "audit-checkpoints.jsonl")
        _bash(backup, env, tmp_path)
        out = _bash(
            restore.replace("/var/lib/portero/audit-checkpoints.jsonl", checkpoints), env, tmp_path
        )
        assert "audit chain intact: 1 rows verified" in out and "checkpoint(s) compared" in out, out
    finally:
        cluster.destroy()
