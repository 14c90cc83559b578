"""Two-step verification in a real browser (MF1, MF3, FC5): set up an authenticator app from
"Mi cuenta" reading its secret off the page, sign in with the password and a code, recover the
password by e-mail where the reset asks for the factor, and a backup code that works once."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest

from tests.browser.support import (
    NEW_PASSWORD,
    Profile,
    import_playwright,
    link_in,
    mail_to,
    new_account,
)
from tests.conftest import PASSWORD, SMTPSink

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)

HOME = re.compile(r"/cuenta/$")
SECOND_STEP = re.compile(r"/ingresar/verificacion/")


def _password_step(page: Any, profile: Profile, username: str, password: str) -> None:
    t = profile.text
    page.goto("/ingresar/")
    page.get_by_label(t["username"], exact=True).fill(username)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["sign_in"], exact=True).click()


@pytest.mark.profiles("pair")
def test_authenticator_app_sign_in_and_a_reset_that_asks_for_the_factor(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    user = new_account(profile)
    _password_step(page, profile, user.username, PASSWORD)
    expect(page).to_have_url(HOME)

    # Set up the app as a person would: the secret read off the page, typed into "the app".
    page.get_by_role("link", name=t["two_step"]).click()
    page.get_by_role("link", name=t["set_up_app"]).click()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#secret").inner_text().replace(" ", "")
    app = pyotp.TOTP(secret)
    page.get_by_label(t["app_code"], exact=True).fill(app.now())
    page.get_by_role("button", name=t["turn_on"]).click()
    codes = [c.strip() for c in page.locator(".backup-codes code").all_inner_texts()]
    assert len(codes) == 10
    page.get_by_role("link", name=t["saved"]).click()
    page.goto("/cuenta/")
    page.get_by_role("button", name=t["sign_out"]).click()

    # The password alone now leads to the second step; the app's next code signs in (the one
    # used to set it up never works again).
    _password_step(page, profile, user.username, PASSWORD)
    expect(page).to_have_url(SECOND_STEP)
    page.get_by_label(t["app_code"], exact=True).fill(app.at(time.time() + 30))
    page.get_by_role("button", name=t["continue"]).click()
    expect(page).to_have_url(HOME)
    page.get_by_role("button", name=t["sign_out"]).click()

    # "¿Olvidó su contraseña?": the link alone does not reach the new password (MF3).
    page.goto("/recuperar/contrasena/")
    page.get_by_label(t["username"], exact=True).fill(user.username)
    page.get_by_role("button", name=t["send"]).click()
    page.goto(link_in(mail_to(mail, user.email)[0]))
    expect(page.get_by_label(t["new_password"], exact=True)).to_have_count(0)
    page.get_by_label(t["app_code"], exact=True).fill("000000")
    page.get_by_role("button", name=t["continue"]).click()
    expect(page.locator(".error-summary")).to_contain_text(t["wrong_code"])
    page.get_by_role("link", name=t["no_phone"]).click()
    page.get_by_label(t["backup_code"], exact=True).fill(codes[0])
    page.get_by_role("button", name=t["continue"]).click()
    page.get_by_label(t["new_password"], exact=True).fill(NEW_PASSWORD)
    page.get_by_label(t["confirm_password"], exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name=t["change_password"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t["changed"])

    # The backup code worked once: the second time it is refused, another one signs in.
    _password_step(page, profile, user.username, NEW_PASSWORD)
    page.get_by_role("link", name=t["no_phone"]).click()
    page.get_by_label(t["backup_code"], exact=True).fill(codes[0])
    page.get_by_role("button", name=t["continue"]).click()
    expect(page.locator(".error-summary")).to_contain_text(t["wrong_code"])
    page.get_by_label(t["backup_code"], exact=True).fill(codes[1])
    page.get_by_role("button", name=t["continue"]).click()
    expect(page).to_have_url(HOME)
