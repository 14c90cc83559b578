"""How many guesses a password would take (PW3): zxcvbn, taught Spanish.

zxcvbn knows English words only. Here it also knows Spanish words, first names and surnames
(zxcvbn-ts), Colombian places and football clubs and common Spanish-speaker password stems (all in
data/, sources in data/README.md); it compares without accents ("contrasena" is "contraseña"),
takes 2020-2049 for years as it does 1900-2019, and prices a password that is one word dressed up
("micontraseña2026", "medellin2024medellin", "teamoArepa2024*") as a cracker's rules would find it
(dressed.py).
"""

from __future__ import annotations

import gzip
import json
import math
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from zxcvbn.feedback import get_feedback
from zxcvbn.matching import (
    L33T_TABLE,
    RANKED_DICTIONARIES,
    add_frequency_lists,
    build_ranked_dict,
    enumerate_l33t_subs,
    omnimatch,
    relevant_l33t_subtable,
)
from zxcvbn.scoring import most_guessable_match_sequence
from zxcvbn.time_estimates import guesses_to_score

from portero.accounts.dressed import LetterModel, Vocabulary, dressed_word_match, year_matches

# --- The Spanish lists ------------------------------------------------------------------------
DATA = resources.files("portero.accounts") / "data"
# zxcvbn-ts's es-es common words, first names and surnames, folded (data/README.md).
SPANISH_WORDS_FILE = "spanish-words.json.gz"
# Portero's own lists, one entry a line, most guessed first; the file name is the dictionary's.
OWN_LISTS = ("places-co", "football-co", "passwords-es")
STEMS = "passwords-es"  # its entries may also stand in front of a word ("mi", "teamo")


def strip_accents(text: str) -> str:
    """Return `text` without accents or other combining marks ("Ñandú" -> "Nandu")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _read_own_list(name: str) -> list[str]:
    lines = (DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [strip_accents(line.strip()).lower() for line in lines if line and line[0] != "#"]


def read_spanish_lists() -> dict[str, list[str]]:
    """Return every shipped Spanish list, {name: entries, most guessed first}, folded."""
    with (DATA / SPANISH_WORDS_FILE).open("rb") as raw:
        lists: dict[str, list[str]] = json.loads(gzip.decompress(raw.read()))
    return {**lists, **{name: _read_own_list(name) for name in OWN_LISTS}}


@cache
def _teach_zxcvbn() -> Vocabulary:
    """Add the Spanish lists to zxcvbn's dictionaries, once per process; return what the
    dressed-word reading needs besides them."""
    lists = read_spanish_lists()
    add_frequency_lists(lists)
    words = [word for entries in lists.values() for word in entries]
    return Vocabulary(
        stems=build_ranked_dict(lists[STEMS]),
        letters=LetterModel.of(words),
        unlisted_guesses=len(words),
    )


DRESSED_WORD_WARNING = gettext_noop(
    "A common word dressed up with a prefix, repeats, years or digits is easy to guess."
)


# --- The estimate -----------------------------------------------------------------------------
# zxcvbn's feedback, in its own English words, and ours, marked so that makemessages collects them
# for the catalog. Anything it says that is not in this table is not shown.
ZXCVBN_FEEDBACK = frozenset(
    {
        gettext_noop("Use a few words, avoid common phrases."),
        gettext_noop("No need for symbols, digits, or uppercase letters."),
        gettext_noop("Add another word or two. Uncommon words are better."),
        gettext_noop("Straight rows of keys are easy to guess."),
        gettext_noop("Short keyboard patterns are easy to guess."),
        gettext_noop("Use a longer keyboard pattern with more turns."),
        gettext_noop('Repeats like "aaa" are easy to guess.'),
        gettext_noop('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
        gettext_noop("Avoid repeated words and characters."),
        gettext_noop('Sequences like "abc" or "6543" are easy to guess.'),
        gettext_noop("Avoid sequences."),
        gettext_noop("Recent years are easy to guess."),
        gettext_noop("Avoid recent years."),
        gettext_noop("Avoid years that are associated with you."),
        gettext_noop("Dates are often easy to guess."),
        gettext_noop("Avoid dates and years that are associated with you."),
        gettext_noop("This is a top-10 common password."),
        gettext_noop("This is a top-100 common password."),
        gettext_noop("This is a very common password."),
        gettext_noop("This is similar to a commonly used password."),
        gettext_noop("A word by itself is easy to guess."),
        gettext_noop("Names and surnames by themselves are easy to guess."),
        gettext_noop("Common names and surnames are easy to guess."),
        gettext_noop("Capitalization doesn't help very much."),
        gettext_noop("All-uppercase is almost as easy to guess as all-lowercase."),
        gettext_noop("Reversed words aren't much harder to guess."),
        gettext_noop("Predictable substitutions like '@' instead of 'a' don't help very much."),
        DRESSED_WORD_WARNING,
    }
)
# zxcvbn looks up every substring of its input in each dictionary: as typed, reversed and once per
# l33t reading ("4" as "a", "1" as "i" or "l", ...), so its work grows as (2 + readings) x length².
# A phrase of letters and a year has one reading: 100 characters take ~20 ms, 1,024 take ~3 s.
# 400 random printable characters take over a minute, and even 100 characters drawn from
# "!$%(+0123456789<@[{|" (736 readings) take ~3.5 s. So zxcvbn sees the first 100 characters, fewer
# when their readings would exceed the budget (~50-130 ms here): 11 in the worst case. What follows
# the prefix is not counted: a password whose first 100 characters are guessable is refused.
ZXCVBN_MAX_CHARS = 100
ZXCVBN_WORK_BUDGET = 100_000
# zxcvbn keeps the words of the current call (user inputs) in its module-level dictionaries.
_ZXCVBN_LOCK = threading.Lock()


def zxcvbn_sample(password: str) -> str:
    """Return the prefix of `password`, without accents, that zxcvbn can score within budget."""
    prefix = strip_accents(password)[:ZXCVBN_MAX_CHARS]
    readings = len(enumerate_l33t_subs(relevant_l33t_subtable(prefix, L33T_TABLE)))
    return prefix[: math.isqrt(ZXCVBN_WORK_BUDGET // (2 + readings))]


def score_sample(sample: str, known_words: list[str]) -> dict[str, Any]:
    """Return zxcvbn's best reading of `sample`: {"guesses", "sequence"}.

    Unlike zxcvbn() this adds no 10^4 guesses per extra piece: with it, any three pieces scored 3
    whatever they were ("medellin" + "2024" + "medellin").
    """
    if not sample:  # zxcvbn's scoring needs at least one character
        return {"guesses": 1, "sequence": []}
    with _ZXCVBN_LOCK:
        vocabulary = _teach_zxcvbn()
        RANKED_DICTIONARIES["user_inputs"] = build_ranked_dict(known_words)
        matches = omnimatch(sample) + year_matches(sample)
        dressed = dressed_word_match(sample, vocabulary)
    return most_guessable_match_sequence(
        sample, matches + ([dressed] if dressed else []), _exclude_additive=True
    )


@dataclass(frozen=True)
class Strength:
    score: int  # zxcvbn's 0 (guessable in < 10^3 tries) to 4 (>= 10^10 tries)
    feedback: list[str] = field(default_factory=list)  # translated warning and suggestions


def estimate(password: str, known_words: list[str]) -> Strength:
    """Return the score of `password` (0-4) and what to do about it, translated.

    `known_words` are what an attacker of this account already knows (username, e-mail, ...).
    """
    result = score_sample(zxcvbn_sample(password), [word.lower() for word in known_words])
    score = guesses_to_score(result["guesses"])
    said = get_feedback(score, result["sequence"])
    if score < 3 and [match["pattern"] for match in result["sequence"]] == ["dressed_word"]:
        said["warning"] = DRESSED_WORD_WARNING
    texts = [said["warning"], *said["suggestions"]]
    return Strength(score, [_(text) for text in texts if text in ZXCVBN_FEEDBACK])
