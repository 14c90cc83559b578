"""Forms for the forgotten password and username pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portero.accounts.forms import UsernameField
from portero.accounts.rules import EMAIL_MAX


class ForgotPasswordForm(forms.Form):
    username = UsernameField(
        help_text=_("The username you registered with, not your e-mail address."),
    )


class ForgotUsernameForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )


class CodeForm(forms.Form):
    """Username and the 8-digit code from the e-mail; spaces and dashes are fine."""

    error_messages = {
        "invalid_code": _(
            "This code is not valid or no longer works. Check that you typed the "
            "code of a recent e-mail, or ask for a new e-mail."
        ),
    }

    username = UsernameField()
    code = forms.CharField(
        label=_("Code from the e-mail"),
        max_length=32,
        help_text=_("The 8 digits in the e-mail, for example 1234 5678."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["code"] if ch.isdigit() and ch.isascii())
        if len(digits) != settings.PORTERO_CODE_DIGITS:
            raise forms.ValidationError(_("The code has 8 digits."))
        return digits
