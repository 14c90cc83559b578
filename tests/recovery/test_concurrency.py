"""TK6: of many simultaneous submissions with one link, exactly one succeeds.

Runs with real commits and one database connection per thread, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from portero.core.client import ClientInfo
from portero.recovery.flows.password_reset import (
    complete_password_reset,
    request_password_reset,
)
from portero.recovery.models import PasswordReset
from portero.recovery.processing import recovery_requests_process

pytestmark = pytest.mark.django_db(transaction=True)

SUBMISSIONS = 8


def test_tk6_concurrent_submissions_with_one_link_exactly_one_succeeds(user):
    request_password_reset(username="gongoragabriela", client=ClientInfo.system())
    recovery_requests_process()
    selector = PasswordReset.objects.get().selector
    barrier = threading.Barrier(SUBMISSIONS)
    results: list[bool] = []
    errors: list[BaseException] = []

    def submit(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            check = complete_password_reset(
                selector=selector,
                password=f"contraseña nueva número {number:02d}",
                client=ClientInfo.system(),
            )
            results.append(check.completed)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == SUBMISSIONS
    assert results.count(True) == 1
    user.refresh_from_db()
    matches = [
        n for n in range(SUBMISSIONS) if user.check_password(f"contraseña nueva número {n:02d}")
    ]
    assert len(matches) == 1
    assert PasswordReset.objects.get().used_at is not None
