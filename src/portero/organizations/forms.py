"""Forms of "Mis organizaciones": they validate; the flows act."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portero.accounts.importing import text_problem
from portero.organizations.models import OrganizationKind, Role
from portero.organizations.nit import InvalidNit, nit_normalize
from portero.organizations.services import REASON_MAX

NAME_MAX = 200


def _plain_text(value: str) -> str:
    """Refuse control characters, bidirectional controls and formula starts, as imports do."""
    if text_problem(value):
        raise forms.ValidationError(_("Remove the special characters from this text."))
    return value


class RegisterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of organization"), choices=OrganizationKind.choices, widget=forms.RadioSelect
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    nit = forms.CharField(
        label=_("NIT"),
        max_length=20,
        help_text=_("With its check digit, e.g. 900.123.456-7. Dots and the dash are optional."),
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    city = forms.CharField(
        label=_("City"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )

    def clean_name(self) -> str:
        return _plain_text(" ".join(self.cleaned_data["name"].split()))

    def clean_city(self) -> str:
        return _plain_text(" ".join(self.cleaned_data["city"].split()))

    def clean_nit(self) -> str:
        try:
            return nit_normalize(self.cleaned_data["nit"])
        except InvalidNit:
            raise forms.ValidationError(
                _("Enter a valid NIT with its check digit, e.g. 900.123.456-7."), code="invalid"
            ) from None


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("NIT or name of the organization"),
        min_length=3,
        max_length=100,
        help_text=_("The exact NIT with its check digit, or at least three letters of the name."),
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}
        ),
    )


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(a, a) for a in ("accept", "reject", "cancel", "revert_rejection")]
    )
    reason = forms.CharField(
        label=_("Reason (optional; the person will read it)"), max_length=REASON_MAX, required=False
    )

    def clean_reason(self) -> str:
        return _plain_text(self.cleaned_data["reason"].strip())


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ChooseForm(forms.Form):
    membership = forms.IntegerField(min_value=1, max_value=2**53)
