"""Journeys with a second factor: the sign-in's second step, a step-up a portal asks for, the
proof a reset needs before a new password (MF3), and the fresh proof before changes (MF5).

Who is asking comes as a `ClientInfo` the view builds; the request is passed for this
browser's session (the challenge, what was proven, the sign-in), never for a response.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from portero.accounts import flows as account_flows
from portero.accounts.models import User
from portero.audit.events import EventType
from portero.audit.services import event_record
from portero.core import clock
from portero.core.client import ClientInfo
from portero.factors import passkeys, services
from portero.factors.models import Passkey
from portero.factors.passkeys import PasskeyCheck
from portero.factors.services import Check

# RFC 8176: a code from an app or a backup code (a one-time lookup secret) is "otp"; with the
# password before it the sign-in used two factors ("mfa").
AMR_CODE = ["otp", "mfa"]
STEP_UP = "portero_step_up"  # where to go once a signed-in session has given its factor
STEP_UP_MINUTES = 10
RESET_PROVEN = "portero_reset_factor"  # the reset (selector) this browser gave a factor for


def second_step_code(request: HttpRequest, *, client: ClientInfo, user: User, code: str) -> Check:
    """The sign-in's second step with a code; signs in on success."""
    check = services.code_check(user=user, code=code, client=client, purpose="sign_in")
    if check.method:
        account_flows.complete_sign_in(request, client=client, user=user, amr=["pwd", *AMR_CODE])
    return check


def step_up_begin(request: HttpRequest, *, destination: str) -> None:
    """A signed-in session must give its factor before `destination` (a portal's acr_values,
    the help-desk console)."""
    request.session[STEP_UP] = {"destination": destination, "at": clock.now().timestamp()}


def step_up_destination(request: HttpRequest) -> str | None:
    pending = request.session.get(STEP_UP)
    if not isinstance(pending, dict):
        return None
    age = clock.now().timestamp() - float(pending.get("at", 0))
    url = str(pending.get("destination", ""))
    return url if 0 <= age <= STEP_UP_MINUTES * 60 and url.startswith("/") else None


def step_up_code(request: HttpRequest, *, client: ClientInfo, user: User, code: str) -> Check:
    """Add a second factor to this session (no new session: its name to portals stays)."""
    check = services.code_check(user=user, code=code, client=client, purpose="step_up")
    if check.method:
        step_up_done(request, user=user, amr=AMR_CODE, client=client)
    return check


@transaction.atomic
def step_up_done(request: HttpRequest, *, user: User, amr: list[str], client: ClientInfo) -> None:
    had = list(request.session.get(account_flows.AMR, ["pwd"]))
    request.session[account_flows.AMR] = had + [value for value in amr if value not in had]
    account_flows.proof_record(request)
    request.session.save()
    event_record(EventType.STEP_UP_OK, user=user, client=client, amr=amr)


def session_has_second_factor(request: HttpRequest) -> bool:
    return "mfa" in request.session.get(account_flows.AMR, [])


def reset_code(
    request: HttpRequest, *, client: ClientInfo, user: User, selector: str, code: str
) -> Check:
    """The reset page's factor (MF3): proven for this reset, in this browser only."""
    check = services.code_check(user=user, code=code, client=client, purpose="reset")
    if check.method:
        request.session[RESET_PROVEN] = selector
    return check


def reset_proven(request: HttpRequest, *, selector: str) -> bool:
    return bool(selector) and request.session.get(RESET_PROVEN) == selector


# --- The same journeys with a passkey's answer (factors.passkeys) instead of a code ---------


def sign_in_passkey(request: HttpRequest, *, client: ClientInfo, response: str) -> PasskeyCheck:
    """Usernameless sign-in (the button, or the browser's autofill): a passkey verified on its
    device is both factors on its own."""
    check = passkeys.passkey_check(request, client=client, purpose="sign_in", response=response)
    if check.user is not None:
        account_flows.complete_sign_in(
            request, client=client, user=check.user, amr=passkeys.AMR_PASSKEY
        )
    return check


def second_step_passkey(
    request: HttpRequest, *, client: ClientInfo, user: User, response: str
) -> PasskeyCheck:
    """The sign-in's second step with a passkey, after the password; signs in on success."""
    check = passkeys.passkey_check(
        request, client=client, purpose="second_step", response=response, user=user
    )
    if check.passkey:
        account_flows.complete_sign_in(
            request, client=client, user=user, amr=["pwd", *passkeys.AMR_PASSKEY]
        )
    return check


def step_up_passkey(
    request: HttpRequest, *, client: ClientInfo, user: User, response: str
) -> PasskeyCheck:
    check = passkeys.passkey_check(
        request, client=client, purpose="second_step", response=response, user=user
    )
    if check.passkey:
        step_up_done(request, user=user, amr=passkeys.AMR_PASSKEY, client=client)
    return check


def reset_passkey(
    request: HttpRequest, *, client: ClientInfo, user: User, selector: str, response: str
) -> PasskeyCheck:
    """The reset page's factor (MF3) given with a passkey: proven for this reset only."""
    check = passkeys.passkey_check(
        request, client=client, purpose="reset", response=response, user=user
    )
    if check.passkey:
        request.session[RESET_PROVEN] = selector
    return check


def proof_passkey(
    request: HttpRequest, *, client: ClientInfo, user: User, response: str
) -> PasskeyCheck:
    check = passkeys.passkey_check(
        request, client=client, purpose="proof", response=response, user=user
    )
    if check.passkey:
        account_flows.proof_record(request)
    return check


def passkey_register(
    request: HttpRequest, *, client: ClientInfo, user: User, name: str, response: str
) -> Passkey:
    """Keep the passkey the browser just made (raises PasskeyError if the answer proves
    nothing). Made with user verification, it also counts as this session's second factor."""
    new = passkeys.registration_verify(request, user=user, response=response)
    try:
        passkey = services.passkey_add(
            user=user,
            name=name,
            credential_id=new.credential_id,
            credential=new.credential,
            sign_count=new.sign_count,
            client=client,
        )
    except IntegrityError as error:  # the same credential id twice: never from a real device
        raise passkeys.PasskeyError("credential already registered") from error
    step_up_done(request, user=user, amr=passkeys.AMR_PASSKEY, client=client)
    return passkey


def proof_password(request: HttpRequest, *, client: ClientInfo, user: User, password: str) -> bool:
    """MF5's fresh proof with the password; a wrong one counts like a failed sign-in."""
    if account_flows.reauth_refused(user=user, client=client):
        return False
    if not user.check_password(password):
        account_flows.reauth_failed(user=user, client=client)
        return False
    account_flows.proof_record(request)
    return True


def proof_code(request: HttpRequest, *, client: ClientInfo, user: User, code: str) -> Check:
    check = services.code_check(user=user, code=code, client=client, purpose="proof")
    if check.method:
        account_flows.proof_record(request)
    return check
