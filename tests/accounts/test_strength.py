"""PW3: the strength estimate knows how Spanish speakers make passwords (accounts/strength.py).

The measured sets below are built here from words, names, places and clubs written for this test,
never read from the shipped lists: they measure what the lists and rules catch, not what they hold.
"""

from __future__ import annotations

import itertools
import random
import unicodedata

import pytest
from django.test import Client

from portero.accounts import dressed, strength, validators
from tests.accounts.test_password_policy import METER, _refusals

pytestmark = pytest.mark.django_db

# Reported as accepted, several as "fuerte" or "muy fuerte", before the estimate knew Spanish.
GUESSABLE = [
    "contraseña123456789",
    "micontraseña12345",
    "Colombia2026Colombia",
    "teamomucho123456789",
    "bogota123456789012",
    "medellin2024medellin",
    "millonarios123456",
    "soloparami12345678",
]

# --- How Spanish speakers make passwords: pieces written for this test -------------------------
WORDS = [
    "guitarra",
    "sirena",
    "unicornio",
    "girasol",
    "arcoíris",
    "dinosaurio",
    "pantera",
    "caramelo",
    "muñeca",
    "gaviota",
    "paloma",
    "canela",
    "esperanza",
    "libertad",
    "victoria",
    "aguacate",
    "arepa",
    "tamal",
    "sancocho",
    "vallenato",
    "cumbia",
    "pelota",
    "bicicleta",
    "escuela",
    "colegio",
    "ingeniero",
    "abogada",
    "enfermera",
    "caballo",
    "conejo",
    "lucero",
    "corazón",
    "mañana",
    "canción",
    "ratón",
    "pingüino",
    "dragón",
    "montaña",
    "jardín",
    "limón",
    "café",
]
NAMES = [
    "valentina",
    "alejandro",
    "santiago",
    "sebastián",
    "camila",
    "mariana",
    "daniela",
    "juliana",
    "andrés",
    "felipe",
    "natalia",
    "carolina",
    "gustavo",
    "fernando",
    "yesenia",
    "marisol",
    "fabiola",
    "héctor",
    "germán",
    "wilson",
    "nelson",
    "edwin",
    "jairo",
    "yolanda",
    "martínez",
    "rodríguez",
    "gómez",
    "hernández",
    "ramírez",
    "castro",
    "vargas",
    "rojas",
    "jiménez",
    "muñoz",
    "suárez",
]
PLACES = [
    "barranquilla",
    "bucaramanga",
    "manizales",
    "popayán",
    "villavicencio",
    "montería",
    "sincelejo",
    "ibagué",
    "pereira",
    "santa marta",
    "riohacha",
    "valledupar",
    "quibdó",
    "cúcuta",
    "girardot",
    "zipaquirá",
    "envigado",
    "itagüí",
    "sogamoso",
    "cartagena",
    "antioquia",
    "boyacá",
    "nariño",
    "caquetá",
    "chocó",
]
CLUBS = [
    "millonarios",
    "atlético nacional",
    "santa fe",
    "junior",
    "américa de cali",
    "deportivo cali",
    "once caldas",
    "deportes tolima",
    "independiente medellín",
    "cúcuta deportivo",
    "deportivo pasto",
    "jaguares",
    "unión magdalena",
    "águilas doradas",
]
YEARS = [
    "1985",
    "1990",
    "1994",
    "1998",
    "2000",
    "2004",
    "2010",
    "2015",
    "2020",
    "2024",
    "2026",
    "87",
    "92",
    "05",
]
DIGIT_RUNS = [
    "123",
    "1234",
    "12345",
    "123456",
    "123456789",
    "000",
    "111",
    "777",
    "007",
    "987654321",
    "2468",
    "321",
]
PREFIXES = ["", "", "mi", "teamo", "te amo ", "micontraseña", "mi contraseña "]


def _without_accents(text: str) -> str:
    return "".join(
        char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)
    )


def _dressed_up(base: str, rng: random.Random) -> list[str]:
    """Return ways a Spanish speaker dresses up `base`: a year, digits, repeats, a prefix."""
    word = base.replace(" ", "") if rng.random() < 0.7 else base
    prefix, year, digits = rng.choice(PREFIXES), rng.choice(YEARS), rng.choice(DIGIT_RUNS)
    return [
        f"{prefix}{word}{year}",
        f"{prefix}{word}{digits}",
        f"{word}{year}{word}",
        f"{prefix}{word}{word}{year}",
        f"{prefix}{word.capitalize()}{year}*",
        f"{prefix}{word}.{digits}",
        f"{word.upper()}{digits}",
        f"{prefix}{word}{year}{digits}",
    ]


def spanish_style_passwords() -> list[str]:
    rng = random.Random(1581)
    made: list[str] = []
    for base in itertools.chain(WORDS, NAMES, PLACES, CLUBS):
        for password in _dressed_up(base, rng):
            made.append(password if rng.random() < 0.5 else _without_accents(password))
    return [password for password in dict.fromkeys(made) if len(password) >= 15]


# Words for passphrases, as a person picking random words might.
PASSPHRASE_WORDS = [
    "ventana",
    "tortuga",
    "cobre",
    "lluvia",
    "escalera",
    "pizarra",
    "ballena",
    "cuaderno",
    "tijeras",
    "relámpago",
    "almohada",
    "bosque",
    "cebolla",
    "tambor",
    "espejo",
    "nube",
    "ladrillo",
    "pájaro",
    "cometa",
    "maleta",
    "puente",
    "hormiga",
    "vela",
    "tornillo",
    "cereza",
    "brújula",
    "candado",
    "pulpo",
    "granja",
    "sombrero",
    "trompeta",
    "volcán",
    "cuchara",
    "semilla",
    "farol",
    "alfombra",
    "mochila",
    "tiza",
    "camello",
    "olla",
    "acordeón",
    "barco",
    "ciruela",
    "manguera",
    "reloj",
    "ardilla",
    "botella",
    "cactus",
    "delfín",
    "estufa",
    "fresa",
    "gallina",
    "helado",
    "iglesia",
    "jirafa",
    "lámpara",
    "manzana",
    "nariz",
    "oveja",
    "pantalón",
    "queso",
    "rodilla",
    "sandía",
    "teclado",
    "uva",
    "vaca",
    "yuca",
    "zapato",
    "abanico",
    "bufanda",
    "cangrejo",
    "dedal",
    "embudo",
    "foca",
    "gorro",
    "hilo",
    "imán",
    "juguete",
    "lana",
    "mango",
    "nuez",
    "ombligo",
    "papaya",
    "rana",
    "sartén",
    "tenedor",
    "uña",
    "violín",
    "zanahoria",
    "carbón",
    "arena",
    "martillo",
    "plátano",
    "tinta",
    "cuerda",
    "anillo",
    "cesta",
]


def four_word_passphrases(count: int = 150) -> list[str]:
    rng = random.Random(2026)
    return [" ".join(rng.sample(PASSPHRASE_WORDS, 4)) for _ in range(count)]


# --- Tests ------------------------------------------------------------------------------------
def test_pw3_spanish_passwords_anyone_would_guess_are_refused(client: Client):
    for password in GUESSABLE:
        assert len(password) >= 15
        assert _refusals(password) == ["password_too_weak"], password
        meter = client.post(METER, {"password": password}).json()
        assert meter["ok"] is False and meter["score"] < 3, password


# Each of the four pieces priced as a rule engine tries it, these still take more than 10^8
# guesses: a spaced stem (x2) and a rare word (rank 14,471 and 34,836), then a year and a digit run
# ("1990" 27 x "321" 60, "2020" 20 x "2468" 40): 2.8 x 10^8 and 1.7 x 10^8. Refusing them would
# take pricing a rule below what the rules that make it try.
ABOVE_THE_LINE = {"mi contraseña unicornio1990321", "te amo girasol20202468"}


def test_pw3_spanish_style_passwords_of_15_or_more_characters_are_refused():
    passwords = spanish_style_passwords()
    assert len(passwords) >= 500 and min(map(len, passwords)) >= 15
    assert set(passwords) >= ABOVE_THE_LINE
    accepted = [password for password in passwords if not _refusals(password)]
    # Measured: 624 of 626 refused (22 before the estimate knew Spanish, 598 before it priced
    # stacked rules and words no list has).
    assert set(accepted) <= ABOVE_THE_LINE, accepted


def test_pw3_a_word_no_list_has_dressed_up_is_refused():
    strength._teach_zxcvbn()  # the lists learnt, so that "in none of them" means something
    for word in ("mondongo", "champeta", "guanabana", "marimonda"):  # in none of the lists
        assert dressed._rank(word) is None, word
        for password in (
            f"teamo{word.capitalize()}2024*",
            f"micontraseña{word}123",
            f"{word}2010{word}",
            f"te amo {word}{word}",
        ):
            assert _refusals(password) == ["password_too_weak"], password


def test_pw3_stacked_rules_are_priced_as_a_rule_engine_tries_them():
    price = dressed.decoration_guesses
    assert price("2024") == 20 and price("92") == 25  # a year, or one written short
    assert price("*") == 6 and price("~") == 33  # a usual symbol, any other one
    assert price("2010123") == 20 * 12 and price("92*") == 25 * 6  # stacked: multiplied
    assert price("20202468") == 20 * 40  # a run that zxcvbn reads as part of a longer one
    for password in (
        "teamoArcoiris92*",
        "te amo Dinosaurio87*",
        "mi contraseña Aguacate2004*",
        "mi contrasena caramelo2010123",
        "micontrasenacanela2024321",
    ):
        assert _refusals(password) == ["password_too_weak"], password


# Passwords nobody would guess: they must stay accepted, whatever the dressed-word reading sees.
STRONG = [
    "Xk9#mQ2$vL7!pR4&",  # 16 random printable characters
    "q7Rt2vXz9LmB4wKp",  # 16 random letters and digits
    "xkqzvbtnmwplrjhd",  # 16 random lower-case letters: too long to be one word
    "qzxjvkwptrh2024!",  # random letters, dressed up: they read as no language
    "tortuga lluvia cobre ballena 2026",  # four words and a year
    "gato azul come mango 47",
]


def test_pw3_strong_passwords_stay_accepted():
    for password in STRONG:
        assert _refusals(password) == [], password
        assert validators.password_strength(password).score == 4, password


def test_pw3_random_four_word_spanish_passphrases_are_all_accepted():
    passphrases = four_word_passphrases()
    assert len(set(passphrases)) == len(passphrases) >= 150
    refused = {password: _refusals(password) for password in passphrases}
    assert {password: codes for password, codes in refused.items() if codes} == {}


def test_pw3_meter_and_server_agree(client: Client):
    sample = [*GUESSABLE, *spanish_style_passwords()[::25], *four_word_passphrases(10)]
    for password in sample:
        meter = client.post(METER, {"password": password}).json()
        assert meter["ok"] is (not _refusals(password)), password
        assert meter == validators.password_assessment(password).__dict__


def test_pw3_accents_are_folded_on_the_lists_and_the_password():
    lists = strength.read_spanish_lists()
    assert {
        "commonWords-es-es",
        "firstnames-es-es",
        "lastnames-es-es",
        "places-co",
        "football-co",
        "passwords-es",
    } <= set(lists)
    for words in lists.values():
        assert all(word == _without_accents(word).lower() for word in words)
    assert "medellin" in lists["places-co"] and "contrasena" in lists["passwords-es"]
    assert strength.strip_accents("Contraseña MEDELLÍN pingüino") == "Contrasena MEDELLIN pinguino"
    typed = ["Medellín2024Medellín", "Medellin2024Medellin", "medellín2024medellin"]
    assert {validators.password_strength(password).score for password in typed} == {0}


def test_pw3_years_up_to_2049_count_as_years():
    for year in ("1994", "2019", "2026", "2049"):
        assert strength.score_sample(year, [])["guesses"] <= 50, year  # not 10^4 digits
    assert strength.score_sample("2087", [])["guesses"] >= 1000


def test_pw3_a_repeated_word_is_recognised_around_digits():
    assert validators.password_strength("tortuga2026tortuga").score < 3
    assert validators.password_strength("tortuga2026ventana").score >= 3  # two words: no repeat


def test_pw3_dressed_up_word_says_why(client: Client):
    body = client.post(METER, {"password": "MiContraseña2026*"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["ok"] is False
    assert body["messages"][:2] == [
        "This password would be easy to guess.",
        str(strength.DRESSED_WORD_WARNING),
    ]


def test_pw3_spanish_lists_are_read_once_per_process(monkeypatch):
    reads: list[int] = []
    real = strength.read_spanish_lists
    monkeypatch.setattr(strength, "read_spanish_lists", lambda: reads.append(1) or real())
    strength._teach_zxcvbn.cache_clear()
    try:
        for password in (*GUESSABLE, *four_word_passphrases(3)):
            validators.password_strength(password)
        assert reads == [1]
    finally:
        strength._teach_zxcvbn.cache_clear()
