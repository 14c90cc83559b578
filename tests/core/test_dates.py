"""Dates as people read them: Colombia time, the language's own format, one helper."""

from __future__ import annotations

import mailbox as maildir_module
from datetime import UTC, datetime

import pytest
from django.core.mail import EmailMessage
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from portero.accounts.services import user_create, user_set_password
from portero.core.client import ClientInfo
from portero.core.dates import format_datetime
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import html_of, text_of

# 07:38 UTC is 2:38 a. m. in Bogotá (UTC-5, no daylight saving).
MOMENT = datetime(2026, 11, 30, 7, 38, tzinfo=UTC)
SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


def test_spanish_dates_have_de_a_lower_case_month_and_a_m():
    with translation.override("es-co"):
        assert format_datetime(MOMENT) == "30 de noviembre de 2026, 2:38 a. m."
        assert format_datetime(MOMENT, "date") == "30 de noviembre de 2026"
        assert format_datetime(MOMENT, "time") == "2:38 a. m."
        assert format_datetime(MOMENT.replace(hour=20), "time") == "3:38 p. m."
        assert format_datetime(MOMENT, "short") == "30/11/2026 2:38 a. m."


@pytest.mark.parametrize("month", range(1, 13))
def test_every_spanish_month_is_written_in_lower_case(month):
    with translation.override("es-co"):
        written = format_datetime(datetime(2026, month, 15, 17, tzinfo=UTC), "date")
    assert written == f"15 de {SPANISH_MONTHS[month - 1]} de 2026"


def test_english_dates_use_the_english_format():
    with translation.override("en"):
        assert format_datetime(MOMENT) == "November 30, 2026, 2:38 a.m."
        assert format_datetime(MOMENT, "short") == "11/30/2026 2:38 a.m."


def test_a_naive_time_is_taken_as_utc_and_shown_in_bogota():
    with translation.override("es-co"):
        assert format_datetime(MOMENT.replace(tzinfo=None), "time") == "2:38 a. m."


def test_nothing_or_an_unknown_style_gives_an_empty_string_not_an_error():
    assert format_datetime(None) == ""
    assert format_datetime(MOMENT, "no-such-style") == ""
    assert Template("{% load dates %}{{ v|bogota }}").render(Context({"v": "30/11"})) == ""


def test_the_filter_is_the_helper_in_bogota_whatever_the_active_time_zone(settings):
    from django.utils import timezone

    template = Template('{% load dates %}{{ v|bogota:"time" }}')
    with translation.override("es-co"), timezone.override("UTC"):
        assert template.render(Context({"v": MOMENT})) == "2:38 a. m."


def _moved_to(clock, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    clock.advance(moment - clock.now())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es-co", "30 de noviembre de 2026, 2:38 a. m."),
        ("en", "November 30, 2026, 2:38 a.m."),
    ],
)
def test_emails_write_the_date_in_their_language(clock, mailbox, worker, language, expected):
    user = user_create(
        username="gongoragabriela",
        email="gabriela@example.com",
        password=PASSWORD,
        language=language,
    )
    _moved_to(clock, MOMENT)
    user_set_password(user=user, password=NEW_PASSWORD, client=ClientInfo.system(), via="cli")
    worker.drain()
    [notice] = mailbox.messages
    assert expected in text_of(notice) and expected in html_of(notice)
    assert "Noviembre" not in text_of(notice)


@pytest.mark.django_db
def test_the_demo_inbox_shows_bogota_time(settings, tmp_path):
    settings.DEMO, settings.PORTERO_DEMO_MAILDIR = True, tmp_path / "maildir"
    box = maildir_module.Maildir(tmp_path / "maildir", create=True)
    message = EmailMessage("Prueba", "Hola", "registro@secop.gov.co", ["gabriela@example.com"])
    message.extra_headers["Date"] = "Mon, 30 Nov 2026 07:38:00 -0000"  # Django's form: UTC
    box.add(message.message().as_bytes())
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    inbox = browser.get("/demo/correo/").content.decode()
    assert "30/11/2026" in inbox and "2:38 a. m." in inbox and "7:38" not in inbox
    [key] = list(box.keys())
    page = browser.get(f"/demo/correo/{key}/").content.decode()
    assert "30 de noviembre de 2026, 2:38 a. m." in page


def test_every_style_the_templates_ask_for_exists():
    """An unknown style writes nothing (never a 500 for a page), so a typo must fail here."""
    import re
    from pathlib import Path

    from portero.core.dates import FORMATS

    root = Path(__file__).resolve().parents[2] / "src" / "portero"
    asked = {
        style
        for path in [*root.rglob("*.html"), *root.rglob("*.txt")]
        for style in re.findall(r'\|bogota:"([^"]*)"', path.read_text(encoding="utf-8"))
    }
    assert asked and asked <= set(FORMATS), asked - set(FORMATS)
