"""One redaction for every log line: no recovery token, no forged line (LG2, LG3)."""

from __future__ import annotations

import logging

from portero.core.log_redaction import RedactFilter, redact
from portero.ops.gunicorn_logging import RedactingLogger

TOKEN = "Q" * 22 + "." + "z9_-" * 10 + "abc"


def test_lg2_a_token_is_replaced_wherever_it_appears():
    for text in (
        f"/restablecer/{TOKEN}/",
        f"/restablecer/{TOKEN}",
        f"x {TOKEN}/x/ y",
        f"/restablecer/{TOKEN.replace('.', '%2e')}/",
    ):
        assert "[token]" in redact(text) and TOKEN[:22] not in redact(text)


def test_lg3_control_characters_cannot_start_a_line_of_their_own():
    assert redact('/ingresar/\n10.6.6.6 "POST /mesa/" 302\x00') == (
        '/ingresar/\\x0a10.6.6.6 "POST /mesa/" 302\\x00'
    )
    assert redact(None) == "-"


def test_the_filter_redacts_messages_and_their_arguments(caplog):
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        (f"/restablecer/{TOKEN}/x/\r\nforged",),
        None,
    )
    assert RedactFilter().filter(record)
    assert record.getMessage() == "Not Found: /restablecer/[token]/x/\\x0d\\x0aforged"


def test_a_request_without_a_path_is_logged_not_raised():
    """gunicorn describes a request Django refused before any middleware with no path: the
    old redaction raised on None inside gunicorn's error handling and the worker died."""
    logger = RedactingLogger.__new__(RedactingLogger)
    atoms = logger.atoms(None, None, {}, None)  # nothing to describe at all
    assert atoms["U"] == "-" and atoms["anything"] == "-"
