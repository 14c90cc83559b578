"""HTTP adapters for second factors: the sign-in's second step and "Mi cuenta > Seguridad"."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portero.accounts import flows as account_flows
from portero.accounts import steps
from portero.accounts.models import User
from portero.core.client import ClientInfo
from portero.core.context import helpdesk_name
from portero.factors import flows, services, totp
from portero.factors.forms import APP, BACKUP, ConfirmPasswordForm, code_form
from portero.factors.policy import enrolment_required
from portero.factors.selectors import factors_of, passkeys_of
from portero.factors.services import Check

BACKUP_CODES_SHOWN = "portero_backup_codes"  # shown once, right after they are made


def refusal(check: Check) -> str:
    """Say why a code was refused, never which kind of factor exists (MF2)."""
    if check.throttled:
        return _(
            "Too many wrong codes. Wait an hour and try again, or contact the %(helpdesk)s."
        ) % {"helpdesk": helpdesk_name()}
    return _("This code is not correct, or it was already used. Check it and try again.")


def method_of(request: HttpRequest, has_app: bool) -> str:
    chosen = request.POST.get("method") or request.GET.get("metodo") or ""
    if chosen in (APP, BACKUP):
        return chosen if has_app or chosen == BACKUP else BACKUP
    return APP if has_app else BACKUP


@require_http_methods(["GET", "HEAD", "POST"])
def second_step(request: HttpRequest) -> HttpResponse:
    """ "Verificación en dos pasos": after the password, or a step-up of a signed-in session."""
    # A password just given in this browser comes first (even over someone signed in here:
    # completing it signs them out); otherwise a signed-in session is stepping up.
    pending = account_flows.second_step_user(request)
    signed_in = pending is None and isinstance(request.user, User) and request.user.is_authenticated
    if pending is not None:
        user, destination = pending
    elif signed_in:
        assert isinstance(request.user, User)
        user = request.user
        destination = flows.step_up_destination(request)
        if destination is None:
            return redirect("accounts:home")
    else:
        messages.info(request, _("Your sign-in took too long or has ended. Please sign in again."))
        return redirect("accounts:sign_in")
    factors = factors_of(user)
    method = method_of(request, factors.authenticator_app)
    form = code_form(request.POST if request.method == "POST" else None, prefix_method=method)
    if form.is_valid():
        code, client = form.cleaned_data["code"], ClientInfo.from_request(request)
        if signed_in:
            check = flows.step_up_code(request, client=client, user=user, code=code)
            if check.method:
                request.session.pop(flows.STEP_UP, None)
                return redirect(str(destination))
        else:
            check = flows.second_step_code(request, client=client, user=user, code=code)
            if check.method:
                return steps.begin(request, destination or account_flows.return_to_take(request))
        form.add_error("code", refusal(check))
    return render(
        request,
        "factors/second_step.html",
        {
            "form": form,
            "factors": factors,
            "method": method,
            "step_up": signed_in,
            "pending": account_flows.return_to(request),
        },
    )


def fresh_proof_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Changes to factors need the password or a factor within the last 5 minutes (MF5)."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not account_flows.proof_is_fresh(request):
            target = (
                request.get_full_path()
                if request.method in ("GET", "HEAD")
                else reverse("factors:security")
            )
            return redirect(f"{reverse('factors:confirm')}?next={quote(target)}")
        return view(request, *args, **kwargs)

    return guarded


def _signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """ "Confirme que es usted": the password (or a factor code) again, for MF5."""
    user = _signed_in_user(request)
    target = request.GET.get("next") or request.POST.get("next") or ""
    if not (target.startswith("/") and not target.startswith("//")):
        target = reverse("factors:security")
    factors = factors_of(user)
    posted = request.POST if request.method == "POST" else None
    use_code = (request.POST.get("method") or request.GET.get("metodo")) in (APP, BACKUP)
    password_form = ConfirmPasswordForm(None if use_code else posted)
    form = code_form(
        posted if use_code else None, prefix_method=method_of(request, factors.authenticator_app)
    )
    if not use_code and password_form.is_valid():
        if flows.proof_password(
            request,
            client=ClientInfo.from_request(request),
            user=user,
            password=password_form.cleaned_data["password"],
        ):
            return redirect(target)
        password_form.add_error("password", _("The password is not correct."))
    if use_code and form.is_valid():
        check = flows.proof_code(
            request,
            client=ClientInfo.from_request(request),
            user=user,
            code=form.cleaned_data["code"],
        )
        if check.method:
            return redirect(target)
        form.add_error("code", refusal(check))
    return render(
        request,
        "factors/confirm.html",
        {
            "password_form": password_form,
            "form": form,
            "factors": factors,
            "next": target,
            "use_code": use_code,
            "method": method_of(request, factors.authenticator_app),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def security(request: HttpRequest) -> HttpResponse:
    """ "Verificación en dos pasos": the account's factors, with what can be done to each."""
    user = _signed_in_user(request)
    return render(
        request,
        "factors/security.html",
        {
            "factors": factors_of(user),
            "passkeys": passkeys_of(user),
            "required": enrolment_required(user),
            "continue_to": steps.DESTINATION in request.session,
        },
    )


@fresh_proof_required
@require_http_methods(["GET", "HEAD", "POST"])
def authenticator_add(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: QR code and typed secret, then a first code (MF1)."""
    user = _signed_in_user(request)
    try:
        app = services.authenticator_begin(user=user)
    except services.FactorError:
        messages.info(request, _("Your authenticator app is already set up."))
        return redirect("factors:security")
    form = code_form(request.POST if request.method == "POST" else None, prefix_method=APP)
    if form.is_valid():
        client = ClientInfo.from_request(request)
        if services.authenticator_confirm(user=user, code=form.cleaned_data["code"], client=client):
            flows.step_up_done(request, user=user, amr=flows.AMR_CODE, client=client)
            messages.success(
                request,
                _("Your authenticator app is set up. From now on, signing in asks for its code."),
            )
            if not factors_of(user).backup_codes_issued:
                request.session[BACKUP_CODES_SHOWN] = services.backup_codes_new(
                    user=user, client=client
                )
                return redirect("factors:backup_codes")
            return redirect("factors:security")
        form.add_error(
            "code",
            _(
                "This code is not correct. Check the time on your phone and "
                "type the code your app shows now."
            ),
        )
    uri = totp.provisioning_uri(
        app.secret, account=user.username, issuer=settings.PORTERO_SITE_NAME
    )
    return render(
        request,
        "factors/authenticator_add.html",
        {
            "form": form,
            "secret": totp.secret_grouped(app.secret),
            "qr": totp.qr_svg(uri, title=_("QR code to scan with your authenticator app")),
        },
    )


@fresh_proof_required
@require_POST
def authenticator_remove(request: HttpRequest) -> HttpResponse:
    user = _signed_in_user(request)
    if services.authenticator_remove(user=user, client=ClientInfo.from_request(request)):
        messages.success(
            request,
            _(
                "The authenticator app was removed from your account. We "
                "sent you an e-mail about it."
            ),
        )
    return redirect("factors:security")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Backup codes: new ones shown once (right after they are made), then only how many are
    left. Making new ones needs a fresh proof (MF5); they replace the old ones."""
    user = _signed_in_user(request)
    factors = factors_of(user)
    if request.method == "POST":
        if not account_flows.proof_is_fresh(request):
            return redirect(
                f"{reverse('factors:confirm')}?next={quote(reverse('factors:backup_codes'))}"
            )
        if not factors.any:
            return redirect("factors:security")
        request.session[BACKUP_CODES_SHOWN] = services.backup_codes_new(
            user=user, client=ClientInfo.from_request(request)
        )
        return redirect("factors:backup_codes")
    shown = request.session.pop(BACKUP_CODES_SHOWN, None)
    response = render(
        request,
        "factors/backup_codes.html",
        {"codes": shown, "factors": factors, "continue_to": steps.DESTINATION in request.session},
    )
    response["Cache-Control"] = "no-store"  # the codes must not stay in any cache
    return response


@login_required
@require_POST
def continue_after_enrolment(request: HttpRequest) -> HttpResponse:
    """Back to where the sign-in was going, once enrolment asked for at sign-in is done."""
    return steps.proceed(request)
