"""PW3: common and leaked passwords, context words, strength (zxcvbn) and the strength meter."""

from __future__ import annotations

import ast
import inspect
import io
import json
import logging
import re
import sys

import pytest
import zxcvbn.feedback
from django.contrib.auth import password_validation
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import translation

from portero.accounts import strength, validators
from portero.accounts.models import User
from portero.demo.management.commands.demo import DEMO_PASSWORD, DEMO_USERS
from tests.accounts.test_passwords import _choose
from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.helpers import ask_reset, link_in

pytestmark = pytest.mark.django_db

LISTED = "500daysofsummer"  # an entry of the shipped list with 15 characters
GOOD = "Mi perro Tobi ladra a las ardillas del parque"
WEAK_REPEAT = "a" * 24  # long enough, not listed, but zxcvbn scores it 0
WEAK_SEQUENCE = "abcdefghijklmnopqrst"
METER = "/contrasena/evaluar/"
LISTED_REASON = "This password is on a list of common or leaked passwords. Choose another one."


def _refusals(password: str, user: User | None = None) -> list[str]:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        return [item.code for item in error.error_list]  # type: ignore[misc]
    return []


def _es(message: str) -> str:
    """Return `message` as the Spanish catalog has it (English until the catalog is merged)."""
    with translation.override("es-co"):
        return translation.gettext(message)


def _signed_in(password: str = PASSWORD) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="es-CO")
    response = browser.post("/ingresar/", {"username": "gongoragabriela", "password": password})
    assert response.status_code == 302
    return browser


@pytest.fixture
def reset_page(client, user, mailbox, worker) -> Client:  # type: ignore[no-untyped-def]
    """A browser holding an opened recovery link for the user (as in test_passwords)."""
    ask_reset(client, "gongoragabriela")
    worker.drain()
    browser = Client()
    browser.get(link_in(mailbox.messages[0]))
    return browser


@pytest.fixture
def zxcvbn_calls(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Record every input the validators hand to zxcvbn."""
    calls: list[str] = []
    real = strength.score_sample

    def recording(sample: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(sample)
        return real(sample, *args, **kwargs)

    monkeypatch.setattr(strength, "score_sample", recording)
    return calls


# --- The shipped list ---------------------------------------------------------------------------
def _blocklist() -> validators.CommonPasswordBlocklistValidator:
    return next(
        rule
        for rule in password_validation.get_default_password_validators()
        if isinstance(rule, validators.CommonPasswordBlocklistValidator)
    )


def test_pw3_shipped_list_has_at_least_100000_entries_and_is_loaded_once(monkeypatch):
    reads: list[object] = []
    real = validators.CommonPasswordBlocklistValidator.__init__

    def reading(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(validators.CommonPasswordBlocklistValidator, "__init__", reading)
    password_validation.get_default_password_validators.cache_clear()
    try:
        assert reads == []  # lazily: nothing read before the first check
        for password in (GOOD, LISTED, GOOD):
            _refusals(password)
        validators.password_assessment(GOOD)
        assert len(reads) == 1 and _blocklist() is reads[0]
        assert len(_blocklist().passwords) >= 100_000
    finally:
        password_validation.get_default_password_validators.cache_clear()


def test_pw3_list_comparison_is_whole_password_ignoring_case_and_surrounding_spaces():
    assert LISTED in _blocklist().passwords
    for variant in (LISTED, "500DaysOfSummer", "  500daysofsummer\t", "500DAYSOFSUMMER "):
        assert "password_too_common" in _refusals(variant), variant
    # Whole-password comparison: a listed entry inside a longer phrase is not refused for that.
    assert "password_too_common" not in _refusals(f"mis {LISTED} en la costa")


def test_pw3_list_validator_is_djangos_with_our_list_and_words(tmp_path):
    assert issubclass(
        validators.CommonPasswordBlocklistValidator, password_validation.CommonPasswordValidator
    )
    own_list = tmp_path / "list.txt"
    own_list.write_text("una clave de otra lista\n", encoding="utf-8")
    configured = validators.CommonPasswordBlocklistValidator(password_list_path=own_list)
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        configured.validate("Una Clave De Otra Lista ")
    assert refused.value.messages == [LISTED_REASON]
    with translation.override("en"):
        assert configured.get_help_text() == "It must not be a common or leaked password."
    configured.validate(LISTED)  # only the configured list counts


def test_pw3_common_password_from_shipped_list_is_refused(reset_page, user):
    assert LISTED in _blocklist().passwords and len(LISTED) >= 15
    response = _choose(reset_page, "500DaysOfSummer")
    assert response.status_code == 200
    page = response.content.decode()
    assert _es(LISTED_REASON) in page
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_pw3_common_password_reason_is_shown_in_spanish(reset_page, user):
    page = _choose(reset_page, LISTED).content.decode()
    assert "lista de contraseñas comunes o filtradas" in page  # needs the merged catalog


def test_pw3_change_password_page_refuses_a_listed_password(user):
    browser = _signed_in()
    response = browser.post(
        "/cuenta/contrasena/",
        {
            "current_password": PASSWORD,
            "new_password1": LISTED,
            "new_password2": LISTED,
        },
    )
    assert response.status_code == 200
    assert _es(LISTED_REASON) in response.content.decode()
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_pw3_createuser_refuses_a_listed_password(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{LISTED}\n"))
    with pytest.raises(CommandError) as refused:
        call_command(
            "createuser",
            "--username",
            "operador.dos",
            "--email",
            "op2@example.com",
            stdout=io.StringIO(),
        )
    assert str(refused.value) in {LISTED_REASON, _es(LISTED_REASON)}
    assert not User.objects.filter(username="operador.dos").exists()


# --- Context words ------------------------------------------------------------------------------
def test_pw3_context_words_are_found_case_and_accent_insensitively(user):
    cases = {
        "gongoragabriela2026": ["username"],
        "GongoraGabriela!!2026": ["username"],
        "gabriela@example.com": ["email"],
        "GÓNGORA gongora Góngora 12": ["name"],
        "SECOP II secop ii 2026": ["site"],
        "secopsecopsecop2026": ["site"],
    }
    for password, kinds in cases.items():
        assert validators.context_kinds_in(password, user) == kinds, password
        assert "password_context_word" in _refusals(password, user), password


def test_pw3_long_passphrase_mentioning_a_context_word_is_accepted(user):
    for password in (
        "Gabriela sube al Monserrate cada domingo",
        "secop-demo-clave-2026",
        "el portal SECOP II abre a las siete de la mañana",
    ):
        assert validators.context_kinds_in(password, user) == [], password
        assert _refusals(password, user) == [], password


@pytest.mark.parametrize(
    "password,kind,spanish",
    [
        ("gongoragabriela2026", "username", "se basa principalmente en su nombre de usuario"),
        ("Gabriela@Example.com", "email", "se basa principalmente en su dirección de correo"),
        ("SECOP II SECOP II 2026", "site", "se basa principalmente en el nombre del sitio"),
        ("Góngora Góngora 1985", "name", "se basa principalmente en su nombre, que"),
    ],
)
def test_pw3_context_word_refusal_says_which_word(reset_page, user, password, kind, spanish):
    response = _choose(reset_page, password)
    assert response.status_code == 200
    page = response.content.decode()
    assert _es(validators.CONTEXT_MESSAGES[kind]) in page
    assert spanish in page  # needs the merged catalog
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


# --- Strength -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "password,spanish",
    [
        (WEAK_REPEAT, "Las repeticiones como &quot;aaa&quot; son fáciles de adivinar."),
        (WEAK_SEQUENCE, "Las secuencias como &quot;abc&quot; o &quot;6543&quot; son fáciles"),
    ],
)
def test_pw3_weak_long_password_is_refused_with_spanish_feedback(
    reset_page, user, password, spanish
):
    assert len(password) >= 15 and password not in _blocklist().passwords
    assert validators.password_strength(password).score < 3
    response = _choose(reset_page, password)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Esta contraseña sería fácil de adivinar." in page  # needs the merged catalog
    assert spanish in page
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_pw3_weak_password_is_refused_for_its_strength(user):
    assert _refusals(WEAK_REPEAT, user) == ["password_too_weak"]
    assert _refusals(WEAK_SEQUENCE, user) == ["password_too_weak"]


def test_pw3_good_passphrase_passes(reset_page, user):
    assert validators.password_strength(GOOD, user).score >= 3
    assert _choose(reset_page, GOOD)["Location"] == "/restablecer/listo/"
    assert User.objects.get(pk=user.pk).check_password(GOOD)


def test_pw3_minimum_score_is_a_setting(user):
    password = "bogota cali 2026"  # two places and a year: scored exactly 3
    assert validators.password_strength(password, user).score == 3
    assert _refusals(password, user) == []
    with override_settings(PORTERO_PASSWORD_MIN_SCORE=4):
        assert _refusals(password, user) == ["password_too_weak"]


def test_pw3_strength_validator_repeats_no_other_rule(user):
    # Configured alone, it scores what the length and context rules would have refused: it
    # defers to the rules configured before it, and has no copy of them.
    alone = [{"NAME": "portero.accounts.validators.StrengthValidator"}]
    with override_settings(AUTH_PASSWORD_VALIDATORS=alone):
        assert _refusals("abc123", user) == ["password_too_weak"]
        assert _refusals("gongoragabriela2026", user) == ["password_too_weak"]


def test_pw3_zxcvbn_is_not_run_on_input_already_refused(reset_page, user, zxcvbn_calls):
    for password in (LISTED, "gongoragabriela2026", "corta pero mala"[:14]):
        assert _refusals(password, user), password
    assert _choose(reset_page, "x" * 1025).status_code == 200  # the form refuses it first
    assert zxcvbn_calls == []
    _refusals(GOOD, user)
    assert zxcvbn_calls == [GOOD]


def test_pw3_zxcvbn_sees_at_most_100_characters_within_its_work_budget(user, zxcvbn_calls):
    phrase = ("palabras largas de una frase " * 40)[:1024]
    l33t = "".join(sorted({char for subs in strength.L33T_TABLE.values() for char in subs}))
    adversarial = (l33t * 52)[:1024]  # 736 l33t readings: zxcvbn takes ~3.5 s on 100 of them
    for password in (phrase, adversarial):
        _refusals(password, user)
    seen_phrase, seen_adversarial = zxcvbn_calls
    assert seen_phrase == phrase[:100]
    assert adversarial.startswith(seen_adversarial) and 10 <= len(seen_adversarial) < 100
    readings = len(
        strength.enumerate_l33t_subs(
            strength.relevant_l33t_subtable(adversarial[:100], strength.L33T_TABLE)
        )
    )
    assert (2 + readings) * len(seen_adversarial) ** 2 <= strength.ZXCVBN_WORK_BUDGET


def test_pw3_zxcvbn_feedback_table_covers_everything_zxcvbn_can_say():
    tree = ast.parse(inspect.getsource(zxcvbn.feedback))
    said = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(said) >= 25
    assert said <= strength.ZXCVBN_FEEDBACK


def test_pw3_every_new_message_has_a_spanish_translation():
    """Fails until pw3_translations.po.tmp is merged into the catalog."""
    messages = [
        *strength.ZXCVBN_FEEDBACK,
        *validators.CONTEXT_MESSAGES.values(),
        *validators.SCORE_LABELS,
        "This password would be easy to guess.",
        LISTED_REASON,
    ]
    missing = [message for message in messages if _es(message) == message]
    assert missing == []


# --- Existing passwords -------------------------------------------------------------------------
def test_pw3_demo_and_test_passwords_meet_the_policy(user):
    assert _refusals(PASSWORD, None) == [] and _refusals(NEW_PASSWORD, user) == []
    for username, email, full_name, has_password in DEMO_USERS:
        if has_password:
            account = User(username=username, email=email, full_name=full_name)
            assert _refusals(DEMO_PASSWORD, account) == [], username


# --- The strength meter -------------------------------------------------------------------------
def _meter(browser: Client, password: str, **extra: str):  # type: ignore[no-untyped-def]
    return browser.post(METER, {"password": password, **extra})


def test_pw3_meter_returns_score_verdict_and_reasons(client, user):
    good = _meter(client, GOOD)
    assert good.status_code == 200 and good["Content-Type"] == "application/json"
    body = good.json()
    assert body["score"] >= 3 and body["ok"] is True and body["messages"] == []
    weak = _meter(client, WEAK_REPEAT).json()
    assert weak["score"] == 0 and weak["ok"] is False
    assert weak["messages"][0] == _es("This password would be easy to guess.")
    assert _es('Repeats like "aaa" are easy to guess.') in weak["messages"]
    listed = _meter(client, LISTED).json()
    assert listed == {
        "score": 0,
        "ok": False,
        "label": _es("Strength: very weak."),
        "messages": [_es(LISTED_REASON)],
    }


def test_pw3_meter_messages_are_in_spanish(client, user):
    body = _meter(client, WEAK_REPEAT).json()  # needs the merged catalog
    assert body["label"] == "Seguridad: muy débil."
    assert body["messages"][:2] == [
        "Esta contraseña sería fácil de adivinar.",
        'Las repeticiones como "aaa" son fáciles de adivinar.',
    ]


def test_pw3_meter_uses_the_username_shown_on_the_reset_page(client, user):
    assert _meter(client, "gongoragabriela2026").json()["ok"] is True
    body = _meter(client, "gongoragabriela2026", username="gongoragabriela").json()
    assert body["ok"] is False
    assert body["messages"] == [_es(validators.CONTEXT_MESSAGES["username"])]


def test_pw3_meter_uses_the_signed_in_users_own_context(user):
    browser = _signed_in()
    body = _meter(browser, "gabriela@example.com", username="someone.else").json()
    assert body["ok"] is False
    assert body["messages"] == [_es(validators.CONTEXT_MESSAGES["email"])]


def test_pw3_meter_never_compares_with_the_current_password(user, monkeypatch):
    browser = _signed_in()
    monkeypatch.setattr(
        User,
        "check_password",
        lambda self, raw: pytest.fail("the meter checked the current password"),
    )
    body = _meter(browser, PASSWORD).json()
    assert body["ok"] is True  # the form, not the meter, says it must differ (PW4)


def test_pw3_meter_never_compares_with_the_current_password_whatever_the_order(
    user, monkeypatch, settings
):
    """Listed first in the settings, the comparison is still not one of the meter's rules."""
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "portero.accounts.validators.DifferentFromCurrentValidator"},
        *[
            rule
            for rule in settings.AUTH_PASSWORD_VALIDATORS
            if not rule["NAME"].endswith("DifferentFromCurrentValidator")
        ],
    ]
    password_validation.get_default_password_validators.cache_clear()
    browser = _signed_in()
    monkeypatch.setattr(
        User,
        "check_password",
        lambda self, raw: pytest.fail("the meter checked the current password"),
    )
    try:
        assert _meter(browser, PASSWORD).json()["ok"] is True
    finally:
        password_validation.get_default_password_validators.cache_clear()


def test_pw3_meter_requires_post(client):
    assert client.get(METER, {"password": GOOD}).status_code == 405


def test_pw3_meter_requires_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(METER, {"password": GOOD}).status_code == 403
    page = browser.get("/ingresar/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    answered = browser.post(METER, {"password": GOOD, "csrfmiddlewaretoken": token.group(1)})
    assert answered.status_code == 200 and answered.json()["ok"] is True


def test_pw3_meter_refuses_over_1024_characters_without_evaluating(
    client, monkeypatch, zxcvbn_calls
):
    monkeypatch.setattr(
        validators.CommonPasswordBlocklistValidator,
        "validate",
        lambda *args: pytest.fail("the list was consulted"),
    )
    response = _meter(client, "a" * 1025)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and "1024" in " ".join(body["messages"])
    assert zxcvbn_calls == []


def test_pw3_meter_response_is_never_cached(client):
    for response in (_meter(client, GOOD), _meter(client, "a" * 1025)):
        assert response["Cache-Control"] == "no-store"


def test_pw3_meter_never_logs_the_password(client, user, caplog):
    secret = "Nadie debe ver esta frase jamas 4711"
    with caplog.at_level(logging.DEBUG):
        _meter(client, secret)
        _meter(client, secret + "x" * 1024)
        client.get(METER, {"password": secret})
    assert "Nadie debe ver" not in caplog.text
    assert all(
        "Nadie debe ver" not in json.dumps(getattr(r, "args", None), default=str)
        for r in caplog.records
    )


def test_pw3_meter_is_rate_limited_when_a_rule_is_configured(client, settings):
    settings.PORTERO_RATE_LIMITS = {
        **settings.PORTERO_RATE_LIMITS,
        "meter_per_ip_test": {"action": "password_meter", "scope": "ip", "limit": 2, "period": 60},
    }
    assert [_meter(client, GOOD).status_code for _ in range(3)] == [200, 200, 429]


def test_pw3_strength_meter_is_offered_on_the_reset_and_change_pages(reset_page, user):
    pages = [reset_page.get("/restablecer/"), _signed_in().get("/cuenta/contrasena/")]
    for response in pages:
        html = response.content.decode()
        assert f'data-strength-meter="{METER}"' in html
        assert html.count("data-strength-meter") == 1  # only the first new-password field
        assert '<script src="/static/portero/password-meter.js" defer></script>' in html
        assert "<script>" not in html  # no inline script (CSP script-src 'self')
    script = finders.find("portero/password-meter.js")
    assert script
    with open(script, encoding="utf-8") as file:
        source = file.read()
    assert 'aria-live", "polite"' in source and "csrfmiddlewaretoken" in source
    assert "innerHTML" not in source and "http" not in source  # no markup injection, no origin
