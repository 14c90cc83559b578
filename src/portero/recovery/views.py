"""HTTP adapters for recovery: parse, call one flow, render. Same response for every account."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portero.accounts.flows import return_to
from portero.accounts.forms import NewPasswordForm
from portero.core.client import ClientInfo
from portero.factors import flows as factor_flows
from portero.factors import passkey_views
from portero.factors import views as factor_views
from portero.factors.forms import code_form
from portero.factors.selectors import factors_of, has_factor
from portero.recovery.flows import password_reset, username_reminder
from portero.recovery.forms import CodeForm, ForgotPasswordForm, ForgotUsernameForm
from portero.recovery.models import PasswordReset, ResetPurpose
from portero.recovery.states import LinkState

# After a link is opened the session keeps only its selector: the proof of possession is the
# session itself, and no usable secret is stored server-side (TK1, TK3).
SESSION_SELECTOR = "portero_reset_selector"
SESSION_ACTIVATED = "portero_reset_activated"  # the done page greets a new account

STATE_PAGES = {
    LinkState.USED: ("recovery/link_used.html", 410),
    LinkState.SUPERSEDED: ("recovery/link_superseded.html", 410),
    LinkState.EXPIRED: ("recovery/link_expired.html", 410),
    LinkState.DISABLED: ("recovery/link_invalid.html", 404),
    LinkState.UNKNOWN: ("recovery/link_invalid.html", 404),
}


@require_http_methods(["GET", "HEAD", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    form = ForgotPasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        password_reset.request_password_reset(
            username=form.cleaned_data["username"], client=ClientInfo.from_request(request)
        )
        return redirect("recovery:password_sent")  # POST-redirect-GET: a double click is harmless
    # The same request either way: the e-mail itself says "activate" for an account with no
    # password yet. Only the page's words differ for who came to activate (issue: first time).
    return render(
        request,
        "recovery/forgot_password.html",
        {"form": form, "first_time": request.GET.get("primera-vez") == "1"},
    )


@require_http_methods(["GET", "HEAD"])
def password_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/password_sent.html")


@require_http_methods(["GET", "HEAD", "POST"])
def forgot_username(request: HttpRequest) -> HttpResponse:
    form = ForgotUsernameForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        username_reminder.request_username_reminder(
            email=form.cleaned_data["email"], client=ClientInfo.from_request(request)
        )
        return redirect("recovery:username_sent")
    return render(request, "recovery/forgot_username.html", {"form": form})


@require_http_methods(["GET", "HEAD"])
def username_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/username_sent.html")


@require_http_methods(["GET", "HEAD"])
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """Take the secret out of the URL into the session, then show a clean URL (TK3)."""
    # An e-mail's link can only be a GET: opening it is noted and audited here (never used
    # up: TK3), and a dead one is recorded as rejected (LG1).
    check = password_reset.open_reset_link(token=token, client=ClientInfo.from_request(request))
    request.session[SESSION_SELECTOR] = check.reset.selector if check.reset else ""
    response = redirect("recovery:reset")
    response["Referrer-Policy"] = "no-referrer"  # the URL that led here holds the token
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def enter_code(request: HttpRequest) -> HttpResponse:
    """The e-mail's one-time code, for readers who cannot open the link on this device (TK7)."""
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        check = password_reset.redeem_code(
            username=form.cleaned_data["username"],
            code=form.cleaned_data["code"],
            client=ClientInfo.from_request(request),
        )
        if check.reset is not None:
            request.session[SESSION_SELECTOR] = check.reset.selector
            return redirect("recovery:reset")
        form.add_error("code", form.error_messages["invalid_code"])
    return render(request, "recovery/enter_code.html", {"form": form})


def _dead_link(request: HttpRequest, check: password_reset.ResetCheck) -> HttpResponse:
    """Say plainly why the link no longer works, with the way forward (TK4)."""
    template, status = STATE_PAGES[check.state]
    return render(request, template, {"check": check}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    """Show the change-password form for a live link, or say plainly why the link is dead."""
    selector = request.session.get(SESSION_SELECTOR) or ""
    check = password_reset.check_reset_selector(selector)
    if check.state != LinkState.VALID or check.reset is None:
        return _dead_link(request, check)
    user = check.reset.user
    if has_factor(user) and not factor_flows.reset_proven(request, selector=selector):
        return _reset_factor(request, check.reset, selector)
    first_time = check.reset.purpose == ResetPurpose.ACTIVATION  # no password to "change"
    form = NewPasswordForm(
        user, request.POST if request.method == "POST" else None, first_time=first_time
    )
    if form.is_valid():
        check = password_reset.complete_password_reset(
            selector=selector,
            password=form.cleaned_data["new_password1"],
            client=ClientInfo.from_request(request),
            second_factor=factor_flows.reset_proven(request, selector=selector),
        )
        request.session.pop(SESSION_SELECTOR, None)
        request.session.pop(factor_flows.RESET_PROVEN, None)
        request.session[SESSION_ACTIVATED] = first_time
        return redirect("recovery:reset_done") if check.completed else _dead_link(request, check)
    return render(
        request,
        "recovery/reset.html",
        {"form": form, "reset": check.reset, "first_time": first_time},
    )


def _reset_factor(request: HttpRequest, reset: PasswordReset, selector: str) -> HttpResponse:
    """The account has a second factor: the e-mail alone is not enough (MF3, FC5). A code,
    backup code or passkey first, in this browser, for this reset; then the new password."""
    factors = factors_of(reset.user)
    if request.method == "POST" and "credential" in request.POST:  # a passkey's answer
        passkey = factor_flows.reset_passkey(
            request,
            client=ClientInfo.from_request(request),
            user=reset.user,
            selector=selector,
            response=request.POST["credential"],
        )
        if not passkey.passkey:
            messages.error(request, passkey_views.passkey_refusal(passkey))
        return redirect("recovery:reset")
    method = factor_views.method_of(request, factors.authenticator_app)
    posted = request.method == "POST" and "method" in request.POST
    form = code_form(request.POST if posted else None, prefix_method=method)
    if form.is_valid():
        check = factor_flows.reset_code(
            request,
            client=ClientInfo.from_request(request),
            user=reset.user,
            selector=selector,
            code=form.cleaned_data["code"],
        )
        if check.method:
            return redirect("recovery:reset")
        form.add_error("code", factor_views.refusal(check))
    return render(
        request,
        "recovery/reset_factor.html",
        {"form": form, "factors": factors, "method": method, "reset": reset},
    )


@require_POST
def new_link(request: HttpRequest) -> HttpResponse:
    """One click from a dead link's page: a fresh e-mail for the same account (TK4)."""
    selector = request.session.pop(SESSION_SELECTOR, "") or ""
    client = ClientInfo.from_request(request)
    if not password_reset.request_new_link(selector=selector, client=client):
        return redirect("recovery:forgot_password")
    return redirect("recovery:password_sent")


@require_http_methods(["GET", "HEAD"])
def reset_done(request: HttpRequest) -> HttpResponse:
    """The password is set; a portal's sign-in started in this browser is still waiting."""
    return render(
        request,
        "recovery/reset_done.html",
        {
            "pending": return_to(request),
            "activated": bool(request.session.pop(SESSION_ACTIVATED, False)),
        },
    )
