"""Forms for entering and managing second factors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portero.accounts.forms import PasswordField
from portero.factors import totp

APP = "app"
BACKUP = "backup"


class AppCodeForm(forms.Form):
    """The 6-digit code of an authenticator app."""

    method = forms.CharField(widget=forms.HiddenInput, initial=APP)
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=16,
        help_text=_("The 6 digits your app shows now, for example 123 456."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
    )

    def clean_code(self) -> str:
        raw = self.cleaned_data["code"]
        digits = "".join(ch for ch in raw if ch.isdigit() and ch.isascii())
        if len(digits) != totp.DIGITS or any(ch not in "0123456789 -" for ch in raw.strip()):
            raise forms.ValidationError(_("The code has 6 digits."))
        return digits


class BackupCodeForm(forms.Form):
    """One of the ten backup codes (letters and digits, dashes and spaces ignored)."""

    method = forms.CharField(widget=forms.HiddenInput, initial=BACKUP)
    code = forms.CharField(
        label=_("Backup code"),
        max_length=32,
        help_text=_("One of the backup codes you saved, for example abcde-23456. Each works once."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(
            ch for ch in self.cleaned_data["code"].lower() if ch.isascii() and ch.isalnum()
        )
        if len(code) != 10:
            raise forms.ValidationError(_("A backup code has 10 letters and digits."))
        return code


class PasskeyForm(forms.Form):
    """A new passkey's name; `credential` is the browser's answer, filled by passkeys.js."""

    name = forms.CharField(
        label=_("Name for this passkey"),
        max_length=60,
        help_text=_(
            "So that you can tell your passkeys apart, for example My phone or Office computer."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Enter a name for this passkey.")},
    )
    credential = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())


def code_form(
    data: dict[str, str] | None, *, prefix_method: str | None = None
) -> AppCodeForm | BackupCodeForm:
    """The form the posted `method` names (the app's by default)."""
    method = (data or {}).get("method") or prefix_method or APP
    form_class = BackupCodeForm if method == BACKUP else AppCodeForm
    return form_class(data)


class ConfirmPasswordForm(forms.Form):
    password = PasswordField(label=_("Your password"), autocomplete="current-password")
