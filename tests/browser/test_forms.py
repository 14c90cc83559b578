"""How the pages behave in the browser: error summary and focus, show/hide password, one submit
per press, language, the GOV.CO frame, and a check that the axe harness really reports."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.support import (
    NEW_PASSWORD,
    Profile,
    axe_violations,
    import_playwright,
    link_in,
    mail_to,
    new_account,
)
from tests.conftest import PASSWORD, SMTPSink

expect = import_playwright().expect
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.profiles("pair")
def test_errors_are_summarised_at_the_top_and_next_to_each_field(
    page: Any, profile: Profile
) -> None:
    t = profile.text
    page.goto("/recuperar/contrasena/")
    page.get_by_role("button", name=t["send"]).click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()  # focus moves to the summary
    expect(summary).to_have_attribute("role", "alert")
    expect(page).to_have_title(re.compile(r"^Error: "))
    field = page.get_by_label(t["username"], exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "id_username_helptext id_username_error")
    error = page.locator("#id_username_error")
    expect(error).to_be_visible()
    expect(summary.get_by_role("link")).to_contain_text(
        error.inner_text().replace("Error:", "").strip()
    )
    summary.get_by_role("link").click()
    expect(field).to_be_focused()  # the summary's link takes the user to the field


@pytest.mark.profiles("other-pair")
def test_password_errors_are_tied_to_their_fields(
    page: Any, profile: Profile, mail: SMTPSink
) -> None:
    t = profile.text
    user = new_account(profile)
    page.goto("/recuperar/contrasena/")
    page.get_by_label(t["username"], exact=True).fill(user.username)
    page.get_by_role("button", name=t["send"]).click()
    page.goto(link_in(mail_to(mail, user.email)[0]))
    page.get_by_label(t["new_password"], exact=True).fill(NEW_PASSWORD)
    page.get_by_label(t["confirm_password"], exact=True).fill(NEW_PASSWORD + " no")
    page.get_by_role("button", name=t["change_password"]).click()
    expect(page.locator(".error-summary")).to_be_focused()
    confirm = page.get_by_label(t["confirm_password"], exact=True)
    expect(confirm).to_have_attribute("aria-describedby", "id_new_password2_error")
    expect(page.locator("#id_new_password2_error")).to_contain_text(t["mismatch"])
    new = page.get_by_label(t["new_password"], exact=True)
    expect(new).to_have_attribute("aria-describedby", "password-policy")  # the rules, read first
    expect(new).to_have_value("")  # a password is never sent back in a page


@pytest.mark.profiles("pair")
def test_show_hide_password_toggle(page: Any, profile: Profile) -> None:
    t = profile.text
    user = new_account(profile)
    page.goto("/ingresar/")
    password = page.get_by_label(t["password"], exact=True)
    password.fill(PASSWORD)
    toggle = page.get_by_role("button", name=t["show"], exact=True)
    expect(toggle).to_have_attribute("aria-controls", "id_password")
    toggle.click()
    expect(password).to_have_attribute("type", "text")
    hide = page.get_by_role("button", name=t["hide"], exact=True)
    expect(hide).to_be_focused()
    expect(page.locator(".password-input [aria-live='polite']")).not_to_be_empty()
    hide.click()
    expect(password).to_have_attribute("type", "password")
    page.get_by_role("button", name=t["show"], exact=True).click()
    page.get_by_label(t["username"], exact=True).fill(user.username)
    page.get_by_role("button", name=t["sign_in"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/cuenta/$"))  # a shown password signs in the same


@pytest.mark.profiles("other-pair")
def test_submit_button_is_disabled_after_the_first_press(page: Any, profile: Profile) -> None:
    t = profile.text
    page.goto("/recuperar/contrasena/")
    # Count the submissions that get past the page's own handler, and keep the page here.
    page.evaluate("""() => {
        window.sent = 0;
        window.addEventListener("submit", (event) => {
            if (!event.defaultPrevented) { window.sent += 1; }
            event.preventDefault();
        });
    }""")
    field = page.get_by_label(t["username"], exact=True)
    field.fill("alguien")
    button = page.get_by_role("button", name=t["send"])
    button.click()
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-disabled", "true")
    field.press("Enter")  # pressing again while the first request is on its way
    button.dispatch_event("click")
    assert page.evaluate("() => window.sent") == 1


@pytest.mark.profiles("pair")
def test_language_switch_changes_the_page_language(page: Any, profile: Profile) -> None:
    t = profile.text
    page.goto("/recuperar/usuario/")
    expect(page.locator("html")).to_have_attribute("lang", t["lang"])
    switch = page.get_by_role("button", name=t["switch"])
    other = "en" if profile.language == "es-CO" else "es-CO"
    expect(switch).to_have_attribute("lang", other)
    switch.click()
    expect(page).to_have_url(re.compile(r"/recuperar/usuario/$"))  # the same page
    expect(page.locator("html")).to_have_attribute("lang", other)


@pytest.mark.profiles("other-pair")
def test_govco_bar_header_and_footer_links(page: Any, profile: Profile) -> None:
    t = profile.text
    page.goto("/ingresar/")
    expect(page.locator("header .govbar a")).to_have_attribute("href", "https://www.gov.co/")
    expect(page.get_by_role("banner").get_by_role("link", name="SECOP II")).to_be_visible()
    footer = page.get_by_role("contentinfo")
    expected = {
        t["terms"]: "https://portero.test/terminos",
        t["privacy"]: "https://portero.test/datos-personales",
        t["security"]: "https://portero.test/seguridad",
        t["helpdesk"]: "https://soporte.portero.test/",
    }
    for name, href in expected.items():
        expect(footer.get_by_role("link", name=name, exact=True)).to_have_attribute("href", href)
    # HB4: everything the page loads comes from Portero itself.
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(page.url.split("/ingresar/")[0]) for url in loaded), loaded


def test_the_axe_harness_reports_what_it_finds(new_context: Any) -> None:
    """Zero violations must mean something: a broken page is reported."""
    page = new_context(Profile("es-CO", "desktop")).new_page()
    page.goto("/ingresar/")
    page.evaluate("""() => {
        const input = document.createElement("input");
        document.querySelector("main").appendChild(input);  // an input without a label
    }""")
    assert "label" in {v["id"] for v in axe_violations(page)}
