"""The recovery journeys in a real browser, in Spanish and English, on a desktop and a phone.

Each test reads its e-mail from the SMTP server the tests run, as the user would from an inbox.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from portero.core import clock
from portero.recovery.models import PasswordReset, RecoveryRequest
from tests.browser.support import (
    NEW_PASSWORD,
    Profile,
    code_in,
    focused,
    import_playwright,
    link_in,
    mail_to,
    new_account,
    tab_to,
)
from tests.conftest import PASSWORD, SMTPSink
from tests.helpers import text_of

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)

SENT = re.compile(r"/recuperar/contrasena/enviado/$")
RESET = re.compile(r"/restablecer/$")
HOME = re.compile(r"/cuenta/$")


def _heading(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def ask_for_email(page: Any, profile: Profile, username: str, *, clicks: int = 1) -> None:
    """From the sign-in page, follow "Forgot your password?" and send the form."""
    t = profile.text
    page.goto("/ingresar/")
    page.get_by_role("link", name=t["forgot_password"]).click()
    page.get_by_label(t["username"], exact=True).fill(username)
    page.get_by_role("button", name=t["send"]).click(click_count=clicks)
    expect(page).to_have_url(SENT)
    expect(_heading(page)).to_have_text(t["check_email"])


def choose_password(page: Any, profile: Profile, password: str = NEW_PASSWORD) -> None:
    """On the change-password page, type the new password twice and send it."""
    t = profile.text
    expect(page).to_have_url(RESET)
    expect(_heading(page)).to_have_text(t["change_password"])
    page.get_by_label(t["new_password"], exact=True).fill(password)
    page.get_by_label(t["confirm_password"], exact=True).fill(password)
    page.get_by_role("button", name=t["change_password"]).click()
    expect(_heading(page)).to_have_text(t["changed"])


def sign_in(page: Any, profile: Profile, username: str, password: str) -> None:
    t = profile.text
    page.goto("/ingresar/")
    page.get_by_label(t["username"], exact=True).fill(username)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["sign_in"], exact=True).click()
    expect(page).to_have_url(HOME)
    expect(_heading(page)).to_have_text(t["my_account"])


def test_whole_recovery_journey_with_the_email_from_the_smtp_server(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    user = new_account(profile)
    ask_for_email(page, profile, user.username)
    message = mail_to(mail, user.email)[0]
    page.goto(link_in(message))
    expect(page).to_have_url(RESET)  # the token left the address bar (TK3)
    expect(page.get_by_label(profile.text["username"], exact=True)).to_have_value(user.username)
    page.get_by_label(profile.text["new_password"], exact=True).fill(NEW_PASSWORD)
    meter = page.locator("#id_new_password1_strength")
    expect(meter).to_have_attribute("aria-live", "polite")
    expect(meter).not_to_be_empty()  # the strength verdict, announced politely
    choose_password(page, profile)
    page.get_by_role("link", name=profile.text["sign_in"], exact=True).click()
    sign_in(page, profile, user.username, NEW_PASSWORD)


@pytest.mark.profiles("other-pair")
def test_used_and_unknown_links_each_get_their_own_page(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    user = new_account(profile)
    ask_for_email(page, profile, user.username)
    link = link_in(mail_to(mail, user.email)[0])
    page.goto(link)
    choose_password(page, profile)
    page.goto(link)
    expect(_heading(page)).to_have_text(t["used"])
    expect(page.get_by_role("link", name=t["sign_in"], exact=True).last).to_be_visible()
    page.goto(re.sub(r"/restablecer/[^/]+/$", "/restablecer/no-es-un-enlace/", link))
    expect(_heading(page)).to_have_text(t["invalid"])
    expect(page.get_by_role("link", name=t["new_email"])).to_be_visible()


@pytest.mark.profiles("pair")
def test_double_and_triple_click_send_one_request_each_and_every_link_works(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    """The SECOP II guide's traps ("click only once", "only the last e-mail works") are gone."""
    user = new_account(profile)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    ask_for_email(page, profile, user.username, clicks=2)
    ask_for_email(page, profile, user.username, clicks=3)
    assert len(posts) == 2, posts  # one request per press of the form, however many clicks
    first, second = mail_to(mail, user.email, count=2)
    assert RecoveryRequest.objects.filter(user=user).count() == 2
    page.goto(link_in(second))
    expect(_heading(page)).to_have_text(profile.text["change_password"])
    page.goto(link_in(first))
    choose_password(page, profile)


@pytest.mark.profiles("other-pair")
def test_link_opened_in_a_second_browser_on_another_device(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    laptop, phone = new_context(profile).new_page(), new_context(profile).new_page()
    user = new_account(profile)
    ask_for_email(laptop, profile, user.username)
    phone.goto(link_in(mail_to(mail, user.email)[0]))
    choose_password(phone, profile)
    sign_in(laptop, profile, user.username, NEW_PASSWORD)


@pytest.mark.profiles("pair")
def test_one_time_code_from_the_email_leads_to_the_change_password_page(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    laptop = new_context(profile).new_page()
    user = new_account(profile)
    ask_for_email(laptop, profile, user.username)
    code = code_in(mail_to(mail, user.email)[0])  # read on the phone, typed on the laptop
    laptop.get_by_role("link", name=t["have_code"]).click()
    expect(laptop).to_have_url(re.compile(r"/restablecer/codigo/$"))
    expect(_heading(laptop)).to_have_text(t["have_code"])
    laptop.get_by_label(t["username"], exact=True).fill(user.username)
    laptop.get_by_label(t["code"], exact=True).fill("0000 0000")
    laptop.get_by_role("button", name=t["continue"]).click()
    expect(laptop.locator(".error-summary")).to_be_focused()
    laptop.get_by_label(t["code"], exact=True).fill(code)
    laptop.get_by_role("button", name=t["continue"]).click()
    choose_password(laptop, profile)
    sign_in(laptop, profile, user.username, NEW_PASSWORD)


@pytest.mark.profiles("other-pair")
def test_username_reminder_lists_every_username_of_the_address(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    first = new_account(profile)
    second = new_account(profile, email=first.email)
    page.goto("/ingresar/")
    page.get_by_role("link", name=t["forgot_username"]).click()
    page.get_by_label(t["email"], exact=True).fill(first.email)
    page.get_by_role("button", name=t["send"]).click()
    expect(page).to_have_url(re.compile(r"/recuperar/usuario/enviado/$"))
    expect(_heading(page)).to_have_text(t["check_email"])
    text = text_of(mail_to(mail, first.email, recovery=False)[0])
    assert first.username in text and second.username in text
    sign_in(page, profile, second.username, PASSWORD)


@pytest.mark.profiles("pair")
def test_expired_link_says_so_and_sends_a_new_email_in_one_click(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    user = new_account(profile)
    ask_for_email(page, profile, user.username)
    old = mail_to(mail, user.email)[0]
    # The server runs in its own process with its own clock: age the link instead (TK4).
    PasswordReset.objects.filter(user=user).update(expires_at=clock.now() - timedelta(seconds=1))
    page.goto(link_in(old))
    expect(_heading(page)).to_have_text(t["expired"])
    page.get_by_role("button", name=t["new_email"]).click()
    expect(page).to_have_url(SENT)
    fresh = mail_to(mail, user.email, count=2)[1]
    page.goto(link_in(fresh))
    choose_password(page, profile)


@pytest.mark.profiles("other-pair")
def test_keyboard_only_journey(page: Any, profile: Profile, mail: SMTPSink) -> None:
    """Tab and Enter only, no mouse: skip link, forms, the link, signing in; focus always shows."""
    t = profile.text
    user = new_account(profile)
    page.goto("/ingresar/")
    tab_to(page, {"text": t["skip"]}, limit=1)  # the first stop
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    tab_to(page, {"href": "/recuperar/contrasena/"})
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/recuperar/contrasena/$"))
    tab_to(page, {"id": "id_username"})
    page.keyboard.type(user.username)
    tab_to(page, {"tag": "button", "text": t["send"]})
    page.keyboard.press("Enter")
    expect(page).to_have_url(SENT)
    page.goto(link_in(mail_to(mail, user.email)[0]))  # typed or pasted into the address bar
    tab_to(page, {"id": "id_new_password1"})
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, {"id": "id_new_password2"})
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(_heading(page)).to_have_text(t["changed"])
    tab_to(page, {"tag": "a", "text": t["sign_in"]})
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ingresar/$"))
    tab_to(page, {"id": "id_username"})
    page.keyboard.type(user.username)
    tab_to(page, {"id": "id_password"})
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(HOME)


@pytest.mark.profiles("pair")
def test_journey_with_javascript_disabled(
    new_context: Any, profile: Profile, mail: SMTPSink
) -> None:
    """Progressive enhancement: without script every step still works, errors included."""
    t = profile.text
    page = new_context(profile, javascript=False).new_page()
    user = new_account(profile)
    page.goto("/ingresar/")
    expect(page.locator("[data-password-toggle]")).to_be_hidden()
    ask_for_email(page, profile, user.username, clicks=2)
    page.goto(link_in(mail_to(mail, user.email)[0]))
    page.get_by_label(t["new_password"], exact=True).fill(NEW_PASSWORD)
    page.get_by_label(t["confirm_password"], exact=True).fill(NEW_PASSWORD + " y algo más")
    page.get_by_role("button", name=t["change_password"]).click()
    expect(page.locator(".error-summary")).to_contain_text(t["mismatch"])
    expect(page.locator(".strength-meter")).to_have_count(0)  # the meter needs script
    choose_password(page, profile)
    sign_in(page, profile, user.username, NEW_PASSWORD)
