"""Password rules of our own; Django's MinimumLengthValidator keeps the length (PW1).

PW3: a password is refused when it is on the shipped list of common and leaked passwords, when it
is built mainly from words an attacker of this account already knows, or when it scores below
PORTERO_PASSWORD_MIN_SCORE (strength.py: zxcvbn, taught Spanish). PW4: it must differ from the
current one. Each rule lives in one validator; AUTH_PASSWORD_VALIDATORS lists them, cheapest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portero.accounts.strength import Strength, estimate, strip_accents

# --- The shipped list -------------------------------------------------------------------------
# 474,743 entries of 8+ characters, lower-cased; source, licence and derivation in data/README.md.
COMMON_PASSWORDS_PATH = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"


class CommonPasswordBlocklistValidator(password_validation.CommonPasswordValidator):
    """Refuse a password that is, as a whole, on the shipped list, ignoring case and surrounding
    spaces (PW3).

    Django's validator with our list and words. It reads the list when it is made: on first use,
    once per process (Django keeps the configured validators).
    """

    def __init__(self, password_list_path: Path | str = COMMON_PASSWORDS_PATH) -> None:
        super().__init__(password_list_path)

    def get_error_message(self) -> str:
        return _("This password is on a list of common or leaked passwords. Choose another one.")

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
        "This password is built mainly from your name, which is not secret. Add words of your own."
    ),
    "site": gettext_noop(
        "This password is built mainly from the site name, which is not secret. "
        "Add words of your own."
    ),
}
MIN_WORD_LENGTH = 4  # shorter pieces of names and addresses ("de", "gov", "II") are left alone


def fold(text: str) -> str:
    """Return `text` lower-cased, without accents and keeping only letters and digits."""
    return "".join(char for char in strip_accents(text.casefold()) if char.isalnum())


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
            raise ValidationError(
                [
                    ValidationError(_(CONTEXT_MESSAGES[kind]), code="password_context_word")
                    for kind in kinds
                ]
            )

    def get_help_text(self) -> str:
        return _(
            "It must not be made mainly of your username, your e-mail address, your name "
            "or the site name."
        )


# --- Strength --------------------------------------------------------------------------------
def _known_words(user: Any) -> list[str]:
    """Return the context words as zxcvbn's user inputs, with and without accents."""
    typed = [str(getattr(user, name, "") or "") for name in ("username", "email", "full_name")]
    typed.append(settings.PORTERO_SITE_NAME)
    words = [word.lower() for value in typed for word in value.replace("@", " ").split()]
    return sorted({*words, *context_words(user)})


def password_strength(password: str, user: Any = None) -> Strength:
    """Return the score of `password` for this user (0-4) and its feedback, translated."""
    return estimate(password, _known_words(user))


def rules_before_strength() -> list[Any]:
    """Return the configured validators listed before StrengthValidator (the cheaper rules),
    never the comparison with the current password, wherever the settings list it: the meter
    runs these, and that comparison there would be an oracle for the current password."""
    rules = []
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, StrengthValidator):
            break
        if not isinstance(validator, DifferentFromCurrentValidator):
            rules.append(validator)
    return rules


def refusals(password: str, user: Any, rules: list[Any]) -> list[str]:
    """Return the reasons `rules` give for refusing `password` (empty: none)."""
    reasons: list[str] = []
    for validator in rules:
        try:
            validator.validate(password, user)
        except ValidationError as error:
            reasons.extend(error.messages)
    return reasons


def _scored(password: str, user: Any) -> tuple[Strength, list[str]]:
    """Return the score of `password` and, below PORTERO_PASSWORD_MIN_SCORE, why it is refused
    (empty when it passes): the validator and the meter say the same."""
    strength = password_strength(password, user)
    if strength.score >= settings.PORTERO_PASSWORD_MIN_SCORE:
        return strength, []
    return strength, [_("This password would be easy to guess."), *strength.feedback]


class StrengthValidator:
    """Refuse a password scored below PORTERO_PASSWORD_MIN_SCORE (PW3).

    The score is computed only for passwords the validators configured before this one accept
    (length, the list, context words): each refusal then gives one clear reason, and no time is
    spent on input already refused. It covers at most the first 100 characters (see
    strength.ZXCVBN_WORK_BUDGET for why).
    """

    def validate(self, password: str, user: Any = None) -> None:
        if refusals(password, user, rules_before_strength()):
            return
        _, weak = _scored(password, user)
        if weak:
            raise ValidationError(" ".join(weak), code="password_too_weak")

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
# What the meter says for each score, before the reasons.
SCORE_LABELS = (
    gettext_noop("Strength: very weak."),
    gettext_noop("Strength: weak."),
    gettext_noop("Strength: fair."),
    gettext_noop("Strength: strong."),
    gettext_noop("Strength: very strong."),
)


@dataclass(frozen=True)
class Assessment:
    score: int
    ok: bool
    label: str
    messages: list[str]


def password_assessment(password: str, user: Any = None) -> Assessment:
    """Return the policy's verdict on `password` for the strength meter.

    The rules configured before StrengthValidator, then the score; never the comparison with the
    current password, configured after it: that one hashes (slow) and would let whoever holds a
    session test guesses of it without any throttle.
    """
    reasons = refusals(password, user, rules_before_strength())
    if reasons:  # refused already: known to attackers or too short, whatever the score
        return Assessment(0, False, _(SCORE_LABELS[0]), reasons)
    strength, weak = _scored(password, user)
    return Assessment(strength.score, not weak, _(SCORE_LABELS[strength.score]), weak)
