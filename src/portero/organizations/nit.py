"""NIT (Número de Identificación Tributaria) with its check digit, by DIAN's algorithm.

Stored as digits only, the check digit last ("9001234567"); shown as "900.123.456-7".
"""

from __future__ import annotations

import re

# DIAN's weights, applied from the rightmost digit of the number leftwards (Orden
# Administrativa 4 de 1989): the check digit is the weighted sum modulo 11, or 11 minus it.
WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
NUMBER_MIN, NUMBER_MAX = 5, len(WEIGHTS)  # digits before the check digit
_TYPED = re.compile(r"^\s*(\d{1,3}(?:\.\d{3})+|\d+)\s*-?\s*(\d)\s*$", re.ASCII)


class InvalidNit(ValueError):
    """The text is not a NIT with a correct check digit; the message says why (English)."""


def check_digit(number: str) -> int:
    """Return the check digit of `number` (digits only, without the check digit)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(reversed(number), WEIGHTS, strict=False)
    )
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def nit_normalize(typed: str) -> str:
    """Return the stored form of a typed NIT ("900.123.456-7" -> "9001234567").

    Dots and the dash are optional; the check digit is required and must be right.
    """
    match = _TYPED.match(typed)
    if not match:
        raise InvalidNit("a NIT is its number and check digit, e.g. 900.123.456-7")
    # Without a dash the last digit is the check digit ("9001234567").
    number, digit = match.group(1).replace(".", ""), int(match.group(2))
    if not NUMBER_MIN <= len(number) <= NUMBER_MAX:
        raise InvalidNit(
            f"the number has {NUMBER_MIN} to {NUMBER_MAX} digits before the check digit"
        )
    if check_digit(number) != digit:
        raise InvalidNit("the check digit does not match the number")
    return f"{number}{digit}"


def nit_display(stored: str) -> str:
    """Return the usual written form of a stored NIT: "9001234567" -> "900.123.456-7"."""
    number, digit = stored[:-1], stored[-1:]
    return f"{int(number):,}".replace(",", ".") + f"-{digit}" if number else stored


def nit_compact(stored: str) -> str:
    """Return the form portals get: number, dash, check digit ("900123456-7")."""
    return f"{stored[:-1]}-{stored[-1:]}"
