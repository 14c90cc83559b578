"""Forms validate; flows act."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portero.accounts.hashers import normalize_password
from portero.accounts.models import Language, User
from portero.accounts.rules import USERNAME_MAX


class PasswordField(forms.CharField):
    """A password input: never stripped, NFC-normalised, over-long input refused before any
    hashing (PW1, PW2)."""

    def __init__(self, *, autocomplete: str, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        kwargs.setdefault("max_length", settings.PORTERO_PASSWORD_MAX_LENGTH)
        kwargs.setdefault("widget", forms.PasswordInput(attrs={"autocomplete": autocomplete}))
        super().__init__(**kwargs)
        self.error_messages["max_length"] = _(
            "This is longer than any password we accept (%(limit_value)d characters)."
        )

    def to_python(self, value: Any) -> str:
        return normalize_password(super().to_python(value) or "")


class UsernameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", USERNAME_MAX)
        kwargs.setdefault("label", _("Username"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
            ),
        )
        super().__init__(**kwargs)


class SignInForm(forms.Form):
    # "webauthn": the browser may offer the site's passkeys in this field's autofill
    # (conditional mediation, factors/passkeys.js); without a passkey it is a username field.
    username = UsernameField(
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username webauthn",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        )
    )
    password = PasswordField(label=_("Password"), autocomplete="current-password")


class NewPasswordForm(forms.Form):
    """Choose a new password for `user`, typed twice, checked against the policy."""

    new_password1 = PasswordField(label=_("New password"), autocomplete="new-password")
    new_password2 = PasswordField(label=_("Confirm password"), autocomplete="new-password")

    def __init__(self, user: User, *args: Any, first_time: bool = False, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        if first_time:  # activating an account: there is no old password for this to be "new"
            self.fields["new_password1"].label = _("Password")
        attrs = self.fields["new_password1"].widget.attrs
        attrs["aria-describedby"] = "password-policy"
        # password-meter.js asks this endpoint while the user types; without script nothing changes.
        attrs["data-strength-meter"] = reverse("accounts:password_strength")

    def clean_new_password1(self) -> str:
        password: str = self.cleaned_data["new_password1"]
        password_validation.validate_password(password, self.user)
        return password

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second is not None and first != second:
            self.add_error("new_password2", _("The two passwords do not match."))
        return cleaned


class PasswordStrengthForm(forms.Form):
    """What the strength meter sends: the password being typed and, on the reset page, the
    username shown there (context only; no account is looked up)."""

    password = PasswordField(required=False, autocomplete="new-password")
    username = forms.CharField(required=False, max_length=USERNAME_MAX, strip=True)


class ChangePasswordForm(NewPasswordForm):
    """Like NewPasswordForm, after proving the current password (CP1)."""

    current_password = PasswordField(label=_("Current password"), autocomplete="current-password")
    field_order = ["current_password", "new_password1", "new_password2"]

    def __init__(self, user: User, *args: Any, throttled: bool = False, **kwargs: Any) -> None:
        self.throttled = throttled  # too many failures: refuse without checking (LI2, CP1)
        super().__init__(user, *args, **kwargs)

    def clean_current_password(self) -> str:
        password: str = self.cleaned_data["current_password"]
        if self.throttled or not self.user.check_password(password):
            raise forms.ValidationError(_("The current password is not correct."))
        return password

    def clean_new_password1(self) -> str:
        # Without a proven current password the new one is not judged: "must be different from
        # the current one" would confirm a guess, throttled or not (CP1, LI2).
        if "current_password" not in self.cleaned_data:
            return str(self.cleaned_data["new_password1"])
        return super().clean_new_password1()


class NotificationsForm(forms.Form):
    notify_new_device = forms.BooleanField(
        label=_("E-mail me when my account is used from a new device"),
        required=False,
    )


class LanguageForm(forms.Form):
    # Each language in its own words, as on the header's switch.
    language = forms.ChoiceField(
        label=_("Language for pages and e-mails"),
        widget=forms.RadioSelect,
        choices=[(Language.SPANISH, "Español"), (Language.ENGLISH, "English")],
    )
