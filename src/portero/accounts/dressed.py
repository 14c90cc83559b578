"""One word dressed up, priced as a cracker's rules find it (PW3, used by strength.py).

zxcvbn prices each piece of a password apart (at least 50 guesses each) and adds more than 10^4
guesses for each extra piece, so "mi" + word + year + "123" outscores a rare word. A cracker does
not guess pieces apart: a rule engine (hashcat, John the Ripper) takes each word of its lists and
dresses it up: a stem in front, the word repeated, capitals, a year, digits, a symbol. The guesses
it needs are the word's rank times the stem's times what each rule tries, and each rule tries a
handful to a hundred candidates.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zxcvbn.matching import (
    RANKED_DICTIONARIES,
    date_match,
    dictionary_match,
    repeat_match,
    sequence_match,
    spatial_match,
)
from zxcvbn.scoring import MIN_YEAR_SPACE, REFERENCE_YEAR, estimate_guesses, uppercase_variations

# --- Years ------------------------------------------------------------------------------------
# zxcvbn's own "recent_year" pattern stops at 2019; these are the years people put in passwords.
YEAR = re.compile(r"19\d\d|20[0-4]\d")


def year_matches(text: str) -> list[dict[str, Any]]:
    """Return zxcvbn "recent_year" matches for the years 1900-2049 in `text`."""
    return [
        {
            "pattern": "regex",
            "regex_name": "recent_year",
            "regex_match": found,
            "token": found.group(),
            "i": found.start(),
            "j": found.end() - 1,
        }
        for found in YEAR.finditer(text)
    ]


def _year_guesses(year: int) -> int:
    """Return zxcvbn's price of a year: the years between it and 2017, at least 20."""
    return max(abs(year - REFERENCE_YEAR), MIN_YEAR_SPACE)


# --- Words we do not list ---------------------------------------------------------------------
# Our lists hold the ~46,000 most common Spanish words, names and places; Spanish has hundreds of
# thousands more ("arepa" is in any dictionary), and an attacker's lists have them. Such a word
# comes after ours there: it is priced at the size of our lists, or at 26^length if that is less
# (any letters, even ones that read as no language). Only for a word that reads as Spanish (below):
# zxcvbn's bruteforce price of any other string stands, so random letters keep their strength.
UNLISTED_WORD_LETTERS = 12  # 95% of the listed common words are this long or shorter
# A letter model of the lists (each letter given the two before it, and where words end) tells a
# word that reads as Spanish from random letters. Measured: 94% of the listed words of 5-12 letters
# take at most 4.0 bits a letter; of 4,000 random strings of 5-12 letters, 2 do (0.05%).
WORDLIKE_BITS_PER_LETTER = 4.0
_START, _END = "^^", "$"


@dataclass(frozen=True)
class LetterModel:
    """How often each letter follows each two letters in the listed words (a trigram model)."""

    trigrams: Counter[str]  # "are": how often "e" follows "ar"
    contexts: Counter[str]  # "ar": how often "ar" is followed by anything

    @classmethod
    def of(cls, words: list[str]) -> LetterModel:
        """Return the model of `words` (folded; words not of a-z alone are left out)."""
        texts = [_START + word + _END for word in words if word.isascii() and word.isalpha()]
        trigrams = Counter(text[at - 2 : at + 1] for text in texts for at in range(2, len(text)))
        contexts: Counter[str] = Counter()
        for trigram, count in trigrams.items():
            contexts[trigram[:2]] += count
        return cls(trigrams, contexts)

    def bits_per_letter(self, word: str) -> float:
        """Return how surprising `word` is, in bits per letter (and its end); smoothed."""
        text, bits = _START + word + _END, 0.0
        for at in range(2, len(text)):
            seen, after = self.trigrams[text[at - 2 : at + 1]], self.contexts[text[at - 2 : at]]
            bits -= math.log2((seen + 0.1) / (after + 0.1 * 27))
        return bits / (len(word) + 1)


@dataclass(frozen=True)
class Vocabulary:
    """What the dressed-word reading knows besides zxcvbn's dictionaries."""

    stems: dict[str, int]  # prefixes ("mi", "teamo"), most used first: their rank
    letters: LetterModel
    unlisted_guesses: int  # how many words our lists hold


def _unlisted_guesses(word: str, vocabulary: Vocabulary) -> int | None:
    """Return the guesses for `word`, in no list, if it is short or reads as Spanish; else None."""
    if 26 ** len(word) <= vocabulary.unlisted_guesses:
        return 26 ** len(word)
    if (
        len(word) <= UNLISTED_WORD_LETTERS
        and vocabulary.letters.bits_per_letter(word) <= WORDLIKE_BITS_PER_LETTER
    ):
        return vocabulary.unlisted_guesses
    return None


# --- Decorations, as a cracker's rules add them -----------------------------------------------
# What each rule tries, multiplied when rules are stacked ("2024" + "*": 20 x 6):
# - a year, 1900-2049: zxcvbn's count, the years between it and 2017 (at least 20): rule sets
#   append the current years and birth years first;
# - two digits: a year written short ("92"), tried as the 4-digit ones are; at most 100, all pairs;
# - digit runs and keyboard patterns: zxcvbn's own price of the run as a whole ("123" 12,
#   "2468" 40, "321" 60, "777" 30, "123456" 1, first in its list of common passwords): rule
#   sets append the usual runs first;
# - one symbol: 6 if it is one of the six that make 94% of the one-symbol endings in the shipped
#   list of leaked passwords ("_", ".", "-", "!", "@", "*"; data/README.md), else 33 (any
#   printable one); any other digit 10 (a mask's ?d).
COMMON_SYMBOLS = "_.-!@*"
# zxcvbn's matchers of runs, as typed (its reversed and l33t readings are for words).
ZXCVBN_RUNS = (dictionary_match, spatial_match, repeat_match, sequence_match, date_match)


def _run_guesses(text: str) -> dict[tuple[int, int], Decimal]:
    """Return {(start, end): guesses} for the runs zxcvbn knows inside `text`.

    zxcvbn reports the longest sequences only ("0123" in "2010123"); their parts are runs too.
    """
    runs: dict[tuple[int, int], Decimal] = {}
    for match in (match for matcher in ZXCVBN_RUNS for match in matcher(text)):
        parts = [(match["i"], match["j"] + 1)]
        if match["pattern"] == "sequence":
            parts = [
                (start, end)
                for start in range(match["i"], match["j"] - 1)
                for end in range(start + 3, match["j"] + 2)
            ]
        for start, end in parts:
            part = {**match, "token": text[start:end], "guesses": None}
            guesses = estimate_guesses(part, part["token"])
            runs[start, end] = min(guesses, runs.get((start, end), guesses))
    return runs


def _piece_guesses(piece: str) -> int | None:
    if YEAR.fullmatch(piece):
        return _year_guesses(int(piece))
    if len(piece) == 2 and piece.isdigit():
        return min(_year_guesses(1900 + int(piece)), _year_guesses(2000 + int(piece)))
    if len(piece) == 1:
        return 10 if piece.isdigit() else len(COMMON_SYMBOLS) if piece in COMMON_SYMBOLS else 33
    return None


def decoration_guesses(text: str) -> Decimal:
    """Return the guesses for `text` as a cracker's rules add it ("2024" -> 20, "92*" -> 150).

    The cheapest way to cut it into pieces, each priced as above, multiplied.
    """
    runs = _run_guesses(text)
    best = [Decimal(1)] + [Decimal("Infinity")] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(end):
            for guesses in (_piece_guesses(text[start:end]), runs.get((start, end))):
                if guesses is not None:
                    best[end] = min(best[end], best[start] * guesses)
    return best[-1]


# --- The readings -----------------------------------------------------------------------------
def _rank(word: str) -> int | None:
    ranks = [ranked[word] for ranked in RANKED_DICTIONARIES.values() if word in ranked]
    return min(ranks, default=None)


@dataclass(frozen=True)
class Reading:
    guesses: int  # stem rank x word rank (or price, unlisted) x times repeated
    split: int  # where the stem ends and the word begins (0: no stem)
    edges: frozenset[int]  # where the stem and each repeat of the word start, and the end


def _word_readings(letters: str, vocabulary: Vocabulary, spaces: set[int]) -> list[Reading]:
    """Return each reading of `letters` as [stem] + one word k times."""
    readings = []
    for split in range(len(letters)):
        stem_rank = 1 if split == 0 else vocabulary.stems.get(letters[:split])
        rest = letters[split:]
        for times in range(1, len(rest) + 1) if stem_rank else ():
            word = rest[: len(rest) // times]
            if not stem_rank or len(rest) % times or word * times != rest:
                continue
            edges = frozenset({0, *range(split, len(letters) + 1, len(word))})
            # A listed word may hold spaces ("te amo"), an unlisted one is one run of letters.
            rank = _rank(word) or (
                _unlisted_guesses(word, vocabulary)
                if {at for at in spaces if at > split} <= edges
                else None
            )
            if rank:
                readings.append(Reading(stem_rank * rank * times, split, edges))
    return readings


def _case_guesses(typed: str, reading: Reading) -> int:
    """Return how many case variants of `reading` come before `typed`'s, as zxcvbn counts them.

    x2 for the stem and x2 for the word when it starts with a capital (at each repeat) or is all
    in capitals (rules "c", "u"); capitals anywhere else, zxcvbn's count of their placements.
    """
    guesses = 1
    for start, piece in ((0, typed[: reading.split]), (reading.split, typed[reading.split :])):
        capitals = {start + at for at, char in enumerate(piece) if char.isupper()}
        if capitals and (piece.isupper() or capitals <= reading.edges):
            guesses *= 2
        elif capitals:
            return int(uppercase_variations({"token": typed}))
    return guesses


def _split_decorations(sample: str) -> tuple[str, list[tuple[int, str]], set[int]]:
    """Return `sample`'s letters (a-z, as typed), its decorations (where among the letters,
    what) and where its spaces stand among the letters."""
    typed, spaces = "", set()
    decorations: list[tuple[int, str]] = []
    for char in sample:
        if len(char.lower()) == 1 and "a" <= char.lower() <= "z":
            typed += char
        elif char == " ":
            spaces.add(len(typed))
        elif decorations and decorations[-1][0] == len(typed):
            decorations[-1] = (len(typed), decorations[-1][1] + char)
        else:
            decorations.append((len(typed), char))
    return typed, decorations, spaces


def dressed_word_match(sample: str, vocabulary: Vocabulary) -> dict[str, Any] | None:
    """Return a zxcvbn match for all of `sample` read as one word dressed up, or None."""
    typed, decorations, spaces = _split_decorations(sample)
    letters = typed.lower()
    readings = [
        reading
        for reading in _word_readings(letters, vocabulary, spaces)
        if all(where in reading.edges for where, _ in decorations)
    ]
    if not readings:
        return None
    spaced = 2 if spaces else 1  # with or without spaces between the pieces
    priced = [(where, decoration_guesses(text)) for where, text in decorations]
    best: Decimal | None = None
    for reading in readings:
        total = Decimal(reading.guesses * spaced * _case_guesses(typed, reading))
        for where, guesses in priced:  # at the end, where most people put them, or at an edge
            total *= (1 if where == len(letters) else len(reading.edges)) * guesses
        best = total if best is None else min(best, total)
    return {
        "pattern": "dressed_word",
        "token": sample,
        "i": 0,
        "j": len(sample) - 1,
        "guesses": best,
    }
