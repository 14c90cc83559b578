"""Console forms: a search box, an action with its reason, a bulk retry."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portero.accounts.importing import text_problem
from portero.accounts.rules import EMAIL_MAX
from portero.factors.assisted import CANCEL_REASON_MAX
from portero.factors.assisted import REASON_MAX as ASSISTED_REASON_MAX
from portero.helpdesk.memberships import MEMBERSHIP_ACTIONS
from portero.helpdesk.selectors import SEARCH_MIN, emails_needing_attention
from portero.helpdesk.services import ACCOUNT_ACTIONS
from portero.organizations.services import REASON_MAX


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Username, e-mail or name"),
        min_length=SEARCH_MIN,
        max_length=EMAIL_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class ActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(a.name, a.label) for a in ACCOUNT_ACTIONS.values()], widget=forms.HiddenInput
    )
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason or ticket number"), max_length=200)


class MessageChoiceField(forms.ModelMultipleChoiceField):
    """Message numbers, refused before any query when no row could have them (SQLite raises
    on integers past 64 bits, PostgreSQL on other oddities)."""

    def _check_values(self, value: Any) -> Any:
        for number in value or []:
            text = str(number)
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": text},
                )
        return super()._check_values(value)  # type: ignore[misc]  # not in the stubs


class ResendForm(forms.Form):
    # Checked against the messages still needing attention, in one query, when the form is.
    emails = MessageChoiceField(
        label=_("Messages to send again"),
        queryset=emails_needing_attention(),
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(label=_("Reason or ticket number"), max_length=200)


class MembershipActionForm(forms.Form):
    """A supervisor's decision on a membership (helpdesk/memberships.py)."""

    action = forms.ChoiceField(
        choices=[(a.name, a.label) for a in MEMBERSHIP_ACTIONS.values()], widget=forms.HiddenInput
    )
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason or ticket number"), max_length=REASON_MAX)

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if text_problem(reason):  # the member reads it in the e-mail
            raise forms.ValidationError(_("Remove the special characters from this text."))
        return reason


class AssistedStartForm(forms.Form):
    """A supervisor's written reason for an assisted recovery (MF4)."""

    reason = forms.CharField(
        label=_("Reason: how you checked the person's identity, and the ticket number"),
        max_length=ASSISTED_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "aria-describedby": "assisted-hint"}),
    )


class AssistedCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason or ticket number"), max_length=CANCEL_REASON_MAX)
