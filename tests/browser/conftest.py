"""Real-browser tests: `portero serve` and `portero worker` as processes, Debian's Chromium driven
by Playwright, the e-mail read from the test's own SMTP server (tests/conftest.py).

One server, one worker and one browser for the whole session; every test gets fresh browser
contexts (no cookies shared) and fresh accounts in the test database, which the server uses too
(hence `django_db(transaction=True)`: what a test writes must be committed for the server to see).

Locally, a missing Chromium or Playwright skips these tests with the reason; with CI=true it
fails them: CI must run them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from portero.mail.models import EmailStatus, OutboundEmail
from portero.recovery.models import RecoveryRequest
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, IN_CI, Profile, SiteInfo
from tests.conftest import SMTPSink
from tests.processes import PorteroProcess, database_url, free_port, wait_until_serving

ALL_PROFILES = [
    Profile("es-CO", "desktop"),
    Profile("es-CO", "mobile"),
    Profile("en", "desktop"),
    Profile("en", "mobile"),
]
# Two profiles that still cover both languages and both screens, for the scenarios marked
# @pytest.mark.profiles("pair"). PORTERO_BROWSER_PROFILES=all runs every scenario in all four.
PAIRS = {
    "pair": [Profile("es-CO", "desktop"), Profile("en", "mobile")],
    "other-pair": [Profile("es-CO", "mobile"), Profile("en", "desktop")],
    "all": ALL_PROFILES,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "profiles(name): run a browser test in the profiles 'pair', 'other-pair' or "
        "'all' (the default; PORTERO_BROWSER_PROFILES=all makes every test use all four)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that takes `profile` in the profiles its marker names."""
    if "profile" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("profiles")
    name = marker.args[0] if marker else "all"
    if os.environ.get("PORTERO_BROWSER_PROFILES", "").lower() == "all":
        name = "all"
    metafunc.parametrize("profile", PAIRS[name], ids=str)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}. With CI=true the browser tests must run, not skip.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")  # stopped before other packages run: no stray worker
def site(
    django_db_setup: None,
    smtp_server: tuple[SMTPSink, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SiteInfo]:
    """Run `portero serve` and `portero worker` against the test database and SMTP server.

    PORTERO_ENV=demo rather than development: the pages are the production ones (our own 404,
    no debug pages) while the base URL may stay plain http on loopback.
    """
    sink, smtp_port = smtp_server
    port, var_dir = free_port(), tmp_path_factory.mktemp("portero-browser")
    base = f"http://127.0.0.1:{port}"
    env = {
        "PORTERO_ENV": "demo",
        "PORTERO_VAR_DIR": str(var_dir),
        "PORTERO_SECRET_KEY": settings.SECRET_KEY,
        "PORTERO_BASE_URL": base,
        "PORTERO_BIND": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTERO_WORKER_POLL_SECONDS": "0.2",
        # Every journey comes from 127.0.0.1: the limits are tested elsewhere.
        "PORTERO_RATE_LIMITS": "off",
        "PORTERO_SITE_NAME": "SECOP II",
        "PORTERO_HELPDESK_NAME": "Mesa de Servicio",
        "PORTERO_HELPDESK_URL": "https://soporte.portero.test/",
        "PORTERO_TERMS_URL": "https://portero.test/terminos",
        "PORTERO_PRIVACY_URL": "https://portero.test/datos-personales",
        "PORTERO_SECURITY_URL": "https://portero.test/seguridad",
    }
    server = PorteroProcess(("serve",), env, var_dir / "serve.log")
    worker = PorteroProcess(("worker",), env, var_dir / "worker.log")
    server.start()
    worker.start()
    try:
        assert server.popen is not None
        wait_until_serving(f"{base}/ingresar/", server.popen, server.output)
        yield SiteInfo(
            base=base,
            sink=sink,
            logs=(server.log, worker.log),
            processes=(server.popen, worker.popen),
        )
    finally:
        worker.stop()
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's, never a downloaded one) for the whole session."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    # Playwright's sync API keeps an asyncio loop marked as running in this thread, so Django's
    # guard would refuse the tests' own ORM calls (and pytest-django's flush) as "async". Nothing
    # here is async: the guard is switched off only while the browser exists.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(browser: Any, site: SiteInfo) -> Iterator[Callable[..., Any]]:
    """Open browser contexts (separate cookie jars: separate devices); all closed afterwards."""
    contexts: list[Any] = []

    def open_context(profile: Profile, *, javascript: bool = True, **options: Any) -> Any:
        context = browser.new_context(
            base_url=site.base,
            java_script_enabled=javascript,
            **profile.context_options(),
            **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., Any], profile: Profile) -> Any:
    """A page in a fresh context for the test's profile."""
    return new_context(profile).new_page()


@pytest.fixture
def mail(site: SiteInfo) -> SMTPSink:
    """The SMTP sink, emptied (tests also tell their messages apart by recipient)."""
    site.sink.clear()
    return site.sink


def _worker_idle() -> bool:
    """Return True when no recovery request or e-mail is waiting for the worker or in its hands."""
    busy = OutboundEmail.objects.filter(status__in=[EmailStatus.QUEUED, EmailStatus.SENDING])
    waiting = RecoveryRequest.objects.filter(processed_at__isnull=True)
    return not busy.exists() and not waiting.exists()


@pytest.fixture(autouse=True)
def _site_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Around each browser test: the server and worker must be alive; afterwards, let the worker
    finish what the test left (the "password changed" notice, say) before the database is
    emptied under it, and show the processes' logs if the test failed."""
    if "site" not in request.fixturenames:
        yield
        return
    info: SiteInfo = request.getfixturevalue("site")
    for process, log in zip(info.processes, info.logs, strict=True):
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"{log.stem} exited ({process.returncode}):\n"
                f"{log.read_text(errors='replace')[-3000:]}",
                pytrace=False,
            )
    yield
    deadline = time.monotonic() + 15
    while not _worker_idle() and time.monotonic() < deadline:
        time.sleep(0.1)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for log in info.logs:
            print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-3000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
