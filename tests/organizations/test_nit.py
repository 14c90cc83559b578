"""NIT check digits by DIAN's algorithm: valid and invalid examples, typed in every usual way."""

from __future__ import annotations

import pytest

from portero.organizations.nit import (
    InvalidNit,
    check_digit,
    nit_compact,
    nit_display,
    nit_normalize,
)

# Published NITs of public bodies and companies, with their check digits.
KNOWN = [
    ("800197268", 4),  # DIAN
    ("900514813", 2),  # Colombia Compra Eficiente
    ("899999090", 2),  # Ministerio de Hacienda y Crédito Público
    ("890903938", 8),  # Bancolombia
    ("899999068", 1),  # Ecopetrol
    ("860034313", 7),  # Banco Davivienda
]


@pytest.mark.parametrize(("number", "digit"), KNOWN)
def test_check_digit_of_published_nits(number: str, digit: int):
    assert check_digit(number) == digit


@pytest.mark.parametrize(
    "typed", ["800.197.268-4", "800197268-4", "8001972684", " 800197268 - 4 ", "800.197.2684"]
)
def test_dots_and_dash_are_optional(typed: str):
    assert nit_normalize(typed) == "8001972684"


@pytest.mark.parametrize(
    "typed",
    [
        "800.197.268-5",  # wrong check digit
        "8001972685",  # the same, without punctuation
        "800.197.268",  # no check digit
        "80.0197.268-4",  # dots in the wrong places
        "1234-0",  # too short
        "1234567890123456-1",  # too long
        "NIT 800197268-4",
        "",
        "800197268-44",
        "٨٠٠١٩٧٢٦٨-٤",
    ],
)
def test_invalid_nits_are_refused(typed: str):
    with pytest.raises(InvalidNit):
        nit_normalize(typed)


def test_a_check_digit_of_0_and_1_comes_straight_from_the_remainder():
    # Remainders 0 and 1 are the digit itself; the others are 11 minus the remainder.
    numbers = {check_digit(str(n)) for n in range(800000000, 800000200)}
    assert numbers <= set(range(10)) and {0, 1} <= numbers


def test_stored_form_is_shown_with_dots_and_dash_and_given_to_portals_compact():
    assert nit_display("9001234567") == "900.123.456-7"
    assert nit_display("123456785") == "12.345.678-5"
    assert nit_compact("9001234567") == "900123456-7"
