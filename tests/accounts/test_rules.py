"""accounts.rules owns the account fields' limits and how typed names compare: one
source for each field rule."""

from __future__ import annotations

import pytest

from portero.accounts import rules
from portero.accounts.forms import SignInForm
from portero.accounts.models import User
from portero.accounts.throttle import throttle_key
from portero.recovery.forms import ForgotUsernameForm


def test_the_model_columns_take_their_limits_from_the_rules():
    assert User._meta.get_field("username").max_length == rules.USERNAME_MAX
    assert User._meta.get_field("email").max_length == rules.EMAIL_MAX
    assert User._meta.get_field("full_name").max_length == rules.FULL_NAME_MAX


def test_the_forms_accept_exactly_what_the_columns_hold():
    assert SignInForm().fields["username"].max_length == rules.USERNAME_MAX
    assert ForgotUsernameForm().fields["email"].max_length == rules.EMAIL_MAX


@pytest.mark.parametrize("typed", ["Gongora.Gabriela", "  gongora.gabriela ", "GONGORA.GABRIELA\t"])
def test_a_username_typed_in_any_case_or_with_spaces_is_the_same_account(typed, db):
    User.objects.create_user("gongora.gabriela", "g@example.com", "una frase larga y secreta")
    assert User.objects.get_by_natural_key(typed).username == "gongora.gabriela"
    # The sign-in pause counts one account whatever the case the name is typed in.
    assert throttle_key(typed) == throttle_key("gongora.gabriela")


def test_an_address_is_verified_whatever_its_case(db):
    user = User.objects.create_user("ana", "Ana@Example.com", None)
    user.verified_email = "ana@example.COM"
    assert user.email_verified
