"""FR2, FU3: silent rate limits on the recovery forms, in the database or in Redis."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
import redis
from django.test import Client

from portero.core import ratelimit
from portero.core.models import RateCounter
from portero.recovery.models import RecoveryRequest, RequestOutcome
from tests.config.test_settings import _run

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
# A database number of its own, and another for each of scripts/test's two side-by-side runs.
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{15 if os.environ.get('DATABASE_URL') else 13}"


@pytest.fixture(params=["database", "redis"])
def counters(request, settings):  # type: ignore[no-untyped-def]
    """Run the test once with database counters and once with Redis (which must be running)."""
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_TEST_URL)
        client.flushdb()  # a database number of its own, so nothing else is touched
        settings.REDIS_URL = REDIS_TEST_URL
        yield request.param
        client.flushdb()
    else:
        settings.REDIS_URL = ""
        yield request.param


def _ask(username: str, ip: str = "203.0.113.7") -> tuple[int, str, bytes]:
    browser = Client(REMOTE_ADDR=ip)
    posted = browser.post("/recuperar/contrasena/", {"username": username})
    page = browser.get(posted["Location"])
    return posted.status_code, posted["Location"], CSRF.sub(b"", page.content)


def test_fr2_twenty_requests_give_at_most_the_limit_of_emails_and_identical_answers(
    counters, user, mailbox, worker
):
    answers = {_ask("gongoragabriela") for _ in range(20)}
    worker.drain()
    assert len(answers) == 1  # every response identical, limited or not
    assert len(mailbox.messages) == 5
    outcomes = list(RecoveryRequest.objects.values_list("outcome", flat=True))
    assert outcomes.count(RequestOutcome.THROTTLED) == 15


def test_fr2_the_limit_applies_to_unknown_usernames_too(counters, user):
    for _ in range(7):
        _ask("nadie.existe")
    throttled = RecoveryRequest.objects.filter(outcome=RequestOutcome.THROTTLED).count()
    assert throttled == 2


def test_fr2_daily_limit_outlasts_the_hourly_one(counters, user, mailbox, worker, clock):
    sent = 0
    for _ in range(4):
        for _ in range(5):
            _ask("GongoraGabriela")  # case does not dodge the limit
        worker.drain()
        clock.advance(timedelta(hours=2))
    sent = len(mailbox.messages)
    assert sent == 10


def test_fr2_per_address_limit_across_many_usernames(counters, user):
    for number in range(35):
        _ask(f"usuario.{number}", ip="198.51.100.9")
    assert RecoveryRequest.objects.filter(outcome=RequestOutcome.THROTTLED).count() == 5
    _ask("otro.usuario", ip="198.51.100.10")  # another address is not affected
    assert RecoveryRequest.objects.latest("pk").outcome == RequestOutcome.PENDING


def test_fr2_counters_hold_no_raw_identifier(user, settings):
    settings.REDIS_URL = ""
    _ask("gongoragabriela", ip="192.0.2.44")
    keys = " ".join(RateCounter.objects.values_list("key", flat=True))
    assert keys and "gongoragabriela" not in keys and "192.0.2.44" not in keys
    throttled = RecoveryRequest.objects.get()
    assert "gongoragabriela" not in throttled.identifier_digest


def test_fr2_redis_keys_hold_no_raw_identifier(user, settings):
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    settings.REDIS_URL = REDIS_TEST_URL
    _ask("gongoragabriela", ip="192.0.2.44")
    keys = b" ".join(client.keys("*")).decode()
    assert keys.count("portero:rl:") == 3  # one counter per rule of the action
    assert "gongoragabriela" not in keys and "192.0.2.44" not in keys
    client.flushdb()


def test_fu3_username_reminders_are_limited_per_address(counters, user, mailbox, worker):
    for _ in range(8):
        Client().post("/recuperar/usuario/", {"email": "Gabriela@Example.com"})
    worker.drain()
    assert len(mailbox.messages) == 5


def test_sliding_window_does_not_reset_at_the_hour(counters, user, clock):
    now = clock.now()
    # Move to 10 minutes before the end of an hourly window, spend the limit, cross the boundary.
    clock.advance(timedelta(seconds=3600 - now.timestamp() % 3600 - 600))
    for _ in range(5):
        _ask("gongoragabriela")
    clock.advance(timedelta(minutes=15))
    _ask("gongoragabriela")
    assert RecoveryRequest.objects.latest("pk").outcome == RequestOutcome.THROTTLED


def test_rules_come_from_one_table_with_reasons(settings):
    names = set(settings.PORTERO_RATE_LIMITS)
    assert {
        "reset_per_account_hour",
        "reset_per_ip_hour",
        "sign_in_failures_per_ip",
        "code_guesses_per_account_hour",
    } <= names
    assert all(rule["reason"] for rule in settings.PORTERO_RATE_LIMITS.values())
    assert [r.name for r in ratelimit.rules_for("password_reset")] == [
        "reset_per_account_hour",
        "reset_per_account_day",
        "reset_per_ip_hour",
    ]


def test_limits_can_be_changed_or_switched_off_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "r = s.PORTERO_RATE_LIMITS; print(r['reset_per_account_hour']['limit'], "
        "'reset_per_ip_hour' in r)"
    )
    changed = _run(
        ["-c", code],
        PORTERO_RATE_LIMIT_RESET_PER_ACCOUNT_HOUR="3/30m",
        PORTERO_RATE_LIMIT_RESET_PER_IP_HOUR="off",
    )
    assert changed.stdout.split() == ["3", "False"], changed.stderr
    everything_off = _run(
        [
            "-c",
            "import django; django.setup(); from django.conf import "
            "settings as s; print(len(s.PORTERO_RATE_LIMITS))",
        ],
        PORTERO_RATE_LIMITS="off",
    )
    assert everything_off.stdout.strip() == "0"
    bad = _run(["-c", code], PORTERO_RATE_LIMIT_RESET_PER_ACCOUNT_HOUR="five")
    assert "PORTERO_RATE_LIMIT_RESET_PER_ACCOUNT_HOUR" in bad.stderr
