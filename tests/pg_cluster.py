"""A throw-away PostgreSQL cluster that a test starts, stops and starts again.

Never the machine's shared server: its own data directory, a free port on 127.0.0.1, trust
authentication, fsync off. PostgreSQL refuses to run as root, so when the tests do, the
cluster runs as `nobody` (through runuser).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port


def postgres_bin_dir() -> Path | None:
    """Return Debian's newest PostgreSQL server binaries, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    return Path(found[-1]).parent if found else None


def require_postgres_bin() -> Path:
    """Return the binaries' directory; skip without them (fail with CI=true)."""
    found = postgres_bin_dir()
    if found is None:
        message = (
            "PostgreSQL server binaries are missing: apt-get install postgresql "
            "(initdb and pg_ctl under /usr/lib/postgresql/*/bin)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class ThrowawayCluster:
    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="portero-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "portero") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            command = ["runuser", "-u", "nobody", "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60, check=False, cwd=self.root
        )
        if done.returncode:
            log = self.root / "server.log"
            raise AssertionError(
                f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}"
                f"{log.read_text() if log.exists() else ''}"
            )

    def create(self) -> ThrowawayCluster:
        self.root.chmod(0o755)
        self.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
            shutil.chown(self.data, "nobody")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE portero")
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        """Stop at once, as a crash or a restart does: every connection is cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        for _ in range(3):
            try:
                shutil.rmtree(self.root)
                return
            except OSError:
                time.sleep(0.5)
