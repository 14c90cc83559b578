"""Password rules of our own; Django's MinimumLengthValidator keeps the length (PW1).

PW3: a password is refused when it is on the shipped list of common and leaked passwords, when it
is built mainly from words an attacker of this account already knows, or when zxcvbn scores it
below PORTERO_PASSWORD_MIN_SCORE. PW4: it must differ from the current one.
"""

from __future__ import annotations

import gzip
import math
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from zxcvbn import zxcvbn
from zxcvbn.matching import L33T_TABLE, enumerate_l33t_subs, relevant_l33t_subtable

# --- The shipped list -------------------------------------------------------------------------
# 474,743 entries of 8+ characters, lower-cased; source, licence and derivation in data/README.md.
COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"


def _read_common_passwords() -> frozenset[str]:
    """Return every entry of the shipped list (about 0.1-0.4 s and 42 MiB)."""
    source = resources.files("portero.accounts") / "data" / COMMON_PASSWORDS_FILE
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return frozenset(text.read().splitlines())


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list, read on first use and kept for the life of the process."""
    return _read_common_passwords()


def is_common_password(password: str) -> bool:
    """Return whether the whole password, ignoring case and surrounding spaces, is listed."""
    lowered = unicodedata.normalize("NFC", password).lower()
    listed = common_passwords()
    return lowered in listed or lowered.strip() in listed


class CommonPasswordBlocklistValidator:
    """Refuse a password that is, as a whole, on the shipped list (PW3)."""

    def validate(self, password: str, user: Any = None) -> None:
        if is_common_password(password):
            raise ValidationError(
                _("This password is on a list of common or leaked passwords. Choose another one."),
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return _("It must not be a common or leaked password.")


# --- Context words ----------------------------------------------------------------------------
# Kinds of word, most specific first: a word found in several places is reported as the first.
CONTEXT_KINDS = ("username", "email", "name", "site")
CONTEXT_MESSAGES = {
    "username": gettext_noop(
        "This password is built mainly from your username, which is not secret. "
        "Add words of your own."
    ),
    "email": gettext_noop(
        "This password is built mainly from your e-mail address, which is not secret. "
        "Add words of your own."
    ),
    "name": gettext_noop(
        "This password is built mainly from your name, which is not secret. "
        "Add words of your own."
    ),
    "site": gettext_noop(
        "This password is built mainly from the site name, which is not secret. "
        "Add words of your own."
    ),
}
MIN_WORD_LENGTH = 4  # shorter pieces of names and addresses ("de", "gov", "II") are left alone


def fold(text: str) -> str:
    """Return `text` lower-cased, without accents and keeping only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


def _pieces(text: str) -> list[str]:
    """Return the words of `text` (split at anything but letters and digits), folded."""
    words = "".join(char if char.isalnum() else " " for char in text).split()
    return [folded for folded in map(fold, words) if len(folded) >= MIN_WORD_LENGTH]


def context_words(user: Any) -> dict[str, str]:
    """Return {folded word: kind} for what an attacker of this account already knows."""
    username = str(getattr(user, "username", "") or "")
    email = str(getattr(user, "email", "") or "")
    local, at, domain = email.rpartition("@")
    if not at:
        local, domain = email, ""
    found: dict[str, list[str]] = {
        "username": [fold(username), *_pieces(username)],
        "email": [fold(local), *_pieces(local), *_pieces(domain)],
        "name": _pieces(str(getattr(user, "full_name", "") or "")),
        "site": [fold(settings.PORTERO_SITE_NAME), *_pieces(settings.PORTERO_SITE_NAME)],
    }
    words: dict[str, str] = {}
    for kind in CONTEXT_KINDS:
        for word in found[kind]:
            if len(word) >= 3:
                words.setdefault(word, kind)
    return words


def context_kinds_in(password: str, user: Any) -> list[str]:
    """Return the kinds of context word `password` is built mainly from (empty: none)."""
    rest = fold(password)
    kinds: set[str] = set()
    for word, kind in sorted(context_words(user).items(), key=lambda item: -len(item[0])):
        if word in rest:
            kinds.add(kind)
            rest = rest.replace(word, " ")  # a space: no new word can form across the gap
    if len(rest.replace(" ", "")) >= settings.PORTERO_PASSWORD_MIN_LENGTH // 2:
        return []
    return [kind for kind in CONTEXT_KINDS if kind in kinds]


class ContextWordsValidator:
    """Refuse a password built mainly from the username, the e-mail address, the full name or the
    site name (PW3).

    Both sides are compared folded: without case, accents, spaces or symbols, so that
    "Gabriela.Góngora!" and "gabrielagongora" are the same. Every context word found in the
    password is removed (longest first); the password is refused when fewer than
    PORTERO_PASSWORD_MIN_LENGTH // 2 letters and digits of its own remain (7 by default).
    Mentioning a name inside a long passphrase is therefore allowed: the rest of the phrase carries
    the strength, and StrengthValidator, given the same words, discounts them.
    """

    def validate(self, password: str, user: Any = None) -> None:
        kinds = context_kinds_in(password, user)
        if kinds:
            raise ValidationError([
                ValidationError(_(CONTEXT_MESSAGES[kind]), code="password_context_word")
                for kind in kinds
            ])

    def get_help_text(self) -> str:
        return _("It must not be made mainly of your username, your e-mail address, your name "
                 "or the site name.")


# --- Strength (zxcvbn) ------------------------------------------------------------------------
# zxcvbn's feedback, in its own English words, marked so that makemessages collects them for the
# catalog. Anything it says that is not in this table is not shown.
ZXCVBN_FEEDBACK = frozenset({
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
})
# What the meter says for each score, before the reasons.
SCORE_LABELS = (
    gettext_noop("Strength: very weak."),
    gettext_noop("Strength: weak."),
    gettext_noop("Strength: fair."),
    gettext_noop("Strength: strong."),
    gettext_noop("Strength: very strong."),
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
# zxcvbn keeps the user inputs of the current call in a module-level dictionary.
_ZXCVBN_LOCK = threading.Lock()


def zxcvbn_sample(password: str) -> str:
    """Return the prefix of `password` that zxcvbn can score within the work budget."""
    prefix = password[:ZXCVBN_MAX_CHARS]
    readings = len(enumerate_l33t_subs(relevant_l33t_subtable(prefix, L33T_TABLE)))
    return prefix[: math.isqrt(ZXCVBN_WORK_BUDGET // (2 + readings))]


def _zxcvbn_inputs(user: Any) -> list[str]:
    """Return the context words as zxcvbn's user inputs, with and without accents."""
    typed = [str(getattr(user, name, "") or "") for name in ("username", "email", "full_name")]
    typed.append(settings.PORTERO_SITE_NAME)
    words = [word.lower() for value in typed for word in value.replace("@", " ").split()]
    return sorted({*words, *context_words(user)})


@dataclass(frozen=True)
class Strength:
    score: int  # zxcvbn's 0 (guessable in < 10^3 tries) to 4 (>= 10^10 tries)
    feedback: list[str] = field(default_factory=list)  # translated warning and suggestions


def password_strength(password: str, user: Any = None) -> Strength:
    """Return zxcvbn's score for `password` and its feedback, translated."""
    sample = zxcvbn_sample(password)
    with _ZXCVBN_LOCK:
        result = zxcvbn(sample, user_inputs=_zxcvbn_inputs(user), max_length=ZXCVBN_MAX_CHARS)
    said = [result["feedback"]["warning"], *result["feedback"]["suggestions"]]
    return Strength(int(result["score"]), [_(text) for text in said if text in ZXCVBN_FEEDBACK])


def _refused_by_cheaper_rules(password: str, user: Any) -> bool:
    return (len(password) < settings.PORTERO_PASSWORD_MIN_LENGTH or is_common_password(password)
            or bool(context_kinds_in(password, user)))


class StrengthValidator:
    """Refuse a password zxcvbn scores below PORTERO_PASSWORD_MIN_SCORE (PW3).

    zxcvbn runs only on passwords the cheaper rules accept (length, the list, context words): each
    refusal then gives one clear reason, and no time is spent on input already refused. It sees
    at most the first 100 characters (see ZXCVBN_WORK_BUDGET for why).
    """

    def validate(self, password: str, user: Any = None) -> None:
        limit = settings.PORTERO_PASSWORD_MAX_LENGTH
        if len(password) > limit:  # forms refuse this earlier; other callers get the same rule
            raise ValidationError(
                _("This is longer than any password we accept (%(limit_value)d characters)."),
                code="password_too_long", params={"limit_value": limit},
            )
        if _refused_by_cheaper_rules(password, user):
            return
        strength = password_strength(password, user)
        if strength.score < settings.PORTERO_PASSWORD_MIN_SCORE:
            raise ValidationError(
                " ".join([_("This password would be easy to guess."), *strength.feedback]),
                code="password_too_weak",
            )

    def get_help_text(self) -> str:
        return _("It must not be easy to guess.")


# --- Current password -------------------------------------------------------------------------
class DifferentFromCurrentValidator:
    """Refuse the account's current password as its new one (PW4)."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is not None and user.has_usable_password() and user.check_password(password):
            raise ValidationError(
                _("The new password must be different from the current one."),
                code="password_unchanged",
            )

    def get_help_text(self) -> str:
        return _("It must be different from your current password.")


# --- The strength meter -----------------------------------------------------------------------
@dataclass(frozen=True)
class Assessment:
    score: int
    ok: bool
    label: str
    messages: list[str]


def password_assessment(password: str, user: Any = None) -> Assessment:
    """Return the policy's verdict on `password` for the strength meter.

    Every configured rule applies except the comparison with the current password: that one hashes
    (slow) and would let whoever holds a session test guesses of it without any throttle.
    """
    reasons: list[str] = []
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, DifferentFromCurrentValidator | StrengthValidator):
            continue
        try:
            validator.validate(password, user)
        except ValidationError as error:
            reasons.extend(error.messages)
    if reasons:  # refused already: known to attackers or too short, whatever zxcvbn says
        return Assessment(0, False, _(SCORE_LABELS[0]), reasons)
    strength = password_strength(password, user)
    ok = strength.score >= settings.PORTERO_PASSWORD_MIN_SCORE
    messages = [] if ok else [_("This password would be easy to guess."), *strength.feedback]
    return Assessment(strength.score, ok, _(SCORE_LABELS[strength.score]), messages)
