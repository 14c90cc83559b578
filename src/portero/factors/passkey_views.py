"""HTTP adapters for passkeys: "Mi cuenta > Verificación en dos pasos" (add, remove), the
options a page's script asks for, and the forms a passkey's answer is posted with (sign-in
without a username, the second step or a step-up, "Confirme que es usted").

Every page works as a form post: the script (static/portero/passkeys.js) asks the browser for
the passkey, puts its answer in the form's `credential` field and sends the form. Without
script the password path and codes remain.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portero.accounts import flows as account_flows
from portero.accounts import steps
from portero.accounts.models import User
from portero.core.client import ClientInfo
from portero.factors import flows, passkeys, services
from portero.factors.forms import PasskeyForm
from portero.factors.passkeys import PasskeyCheck, PasskeyError
from portero.factors.selectors import factors_of
from portero.factors.services import Check
from portero.factors.views import BACKUP_CODES_SHOWN, fresh_proof_required, refusal


def _json(body: dict[str, object], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"  # a challenge is for this request only
    return response


def _signed_in(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _next_path(request: HttpRequest) -> str | None:
    """Return the posted `next` if it is a path on this site (LI4)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts=None, require_https=request.is_secure()
    ):
        return target
    return None


def passkey_refusal(check: PasskeyCheck) -> str:
    """Say that the passkey did not work, never whether an account or passkey exists (MF2)."""
    if check.throttled:
        return refusal(Check(throttled=True))
    return _("That passkey could not be used. Try again, or use another way to confirm it is you.")


# --- Options for the page's script ---------------------------------------------------------


@require_POST
def options(request: HttpRequest) -> JsonResponse:
    """Options for `navigator.credentials.get`, for the posted `purpose` (see passkeys)."""
    purpose = request.POST.get("purpose", "")
    if not passkeys.available() or purpose not in passkeys.PURPOSES:
        return _json({"error": "unavailable"}, status=400)
    user: User | None = None
    if purpose == "second_step":
        pending = account_flows.second_step_user(request)
        user = _signed_in(request) or (pending[0] if pending else None)
    elif purpose == "proof":
        user = _signed_in(request)
    if purpose in ("second_step", "proof") and user is None:
        return _json({"error": "signed_out"}, status=403)
    # Sign-in without a username, and a reset (its account is checked when the answer comes
    # back): any passkey of this site may answer.
    return _json(passkeys.authentication_options(request, purpose=purpose, user=user))


@require_POST
def add_options(request: HttpRequest) -> JsonResponse:
    """Options for `navigator.credentials.create`: a new passkey for the signed-in account,
    within MF5's fresh proof."""
    user = _signed_in(request)
    if user is None or not account_flows.proof_is_fresh(request):
        return _json({"error": "proof_needed"}, status=403)
    if not passkeys.available():
        return _json({"error": "unavailable"}, status=400)
    return _json(passkeys.registration_options(request, user=user))


# --- Mi cuenta -------------------------------------------------------------------------------


@fresh_proof_required
@require_http_methods(["GET", "HEAD", "POST"])
def add(request: HttpRequest) -> HttpResponse:
    """Add a passkey: a name, then the browser makes it (MF1, MF5)."""
    user = _signed_in(request)
    assert user is not None
    form = PasskeyForm(request.POST if request.method == "POST" else None)
    if passkeys.available() and form.is_valid():
        response = form.cleaned_data["credential"]
        try:
            if not response:  # the script did not run: no browser made a passkey
                raise PasskeyError("no credential")
            flows.passkey_register(
                request,
                client=ClientInfo.from_request(request),
                user=user,
                name=form.cleaned_data["name"],
                response=response,
            )
        except PasskeyError:
            form.add_error(
                None,
                _(
                    "The passkey was not created. Try again, in a current "
                    "browser with JavaScript turned on, and confirm with your "
                    "fingerprint, face, PIN or screen lock when it asks."
                ),
            )
        else:
            messages.success(
                request,
                _(
                    "Your passkey is ready. From now on you can sign in "
                    "with it, without your password."
                ),
            )
            if not factors_of(user).backup_codes_issued:
                request.session[BACKUP_CODES_SHOWN] = services.backup_codes_new(
                    user=user, client=ClientInfo.from_request(request)
                )
                return redirect("factors:backup_codes")
            return redirect("factors:security")
    return render(request, "factors/passkey_add.html", {"form": form})


@fresh_proof_required
@require_POST
def remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    user = _signed_in(request)
    assert user is not None
    if services.passkey_remove(
        user=user, passkey_id=passkey_id, client=ClientInfo.from_request(request)
    ):
        messages.success(
            request, _("The passkey was removed from your account. We sent you an e-mail about it.")
        )
    return redirect("factors:security")


# --- A passkey's answer, posted -----------------------------------------------------------


def _credential(request: HttpRequest) -> str:
    return request.POST.get("credential", "")


@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in with a passkey alone (the sign-in page's button or the browser's autofill)."""
    target = _next_path(request)
    if passkeys.available():
        check = flows.sign_in_passkey(
            request, client=ClientInfo.from_request(request), response=_credential(request)
        )
        if check.user is not None:
            return steps.begin(request, target or account_flows.return_to_take(request))
        messages.error(
            request,
            passkey_refusal(check)
            if check.throttled
            else _(
                "We could not sign you in with that passkey. Try again, or sign in with your "
                "username and password."
            ),
        )
    sign_in_page = reverse("accounts:sign_in")
    return redirect(f"{sign_in_page}?next={quote(target)}" if target else sign_in_page)


@require_POST
def second_step(request: HttpRequest) -> HttpResponse:
    """The sign-in's second step, or a signed-in session's step-up, with a passkey."""
    user = _signed_in(request)
    if user is not None:
        destination = flows.step_up_destination(request)
        if destination is None:
            return redirect("accounts:home")
        check = flows.step_up_passkey(
            request,
            client=ClientInfo.from_request(request),
            user=user,
            response=_credential(request),
        )
        if check.passkey:
            request.session.pop(flows.STEP_UP, None)
            return redirect(destination)
    else:
        pending = account_flows.second_step_user(request)
        if pending is None:
            messages.info(
                request, _("Your sign-in took too long or has ended. Please sign in again.")
            )
            return redirect("accounts:sign_in")
        user, going = pending
        check = flows.second_step_passkey(
            request,
            client=ClientInfo.from_request(request),
            user=user,
            response=_credential(request),
        )
        if check.passkey:
            return steps.begin(request, going or account_flows.return_to_take(request))
    messages.error(request, passkey_refusal(check))
    return redirect("factors:second_step")


@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    """ "Confirme que es usted" (MF5) with a passkey."""
    user = _signed_in(request)
    if user is None:
        return redirect("accounts:sign_in")
    target = _next_path(request) or reverse("factors:security")
    check = flows.proof_passkey(
        request, client=ClientInfo.from_request(request), user=user, response=_credential(request)
    )
    if check.passkey:
        return redirect(target)
    messages.error(request, passkey_refusal(check))
    return redirect(f"{reverse('factors:confirm')}?next={quote(target)}")
