"""Forms for the forgotten password and username pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portero.accounts.forms import UsernameField


class ForgotPasswordForm(forms.Form):
    username = UsernameField(
        help_text=_("The username you registered with, not your e-mail address."),
    )


class ForgotUsernameForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
