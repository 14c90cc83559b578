"""HTTP adapters of the OpenID Connect provider: django-oauth-toolkit's views, configured.

Portero's additions: its own error page for anything that must not redirect (OI2), the
pending sign-in kept across the recovery journey, `max_age`, remembered consent, session
facts for the ID token, and sign-out through Portero's own flow (OI6).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from oauth2_provider import views as oauth_views
from oauth2_provider.exceptions import InvalidOIDCClientError, OAuthToolkitError
from oauth2_provider.models import Application
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749.errors import ConsentRequired, OAuth2Error

from portero.accounts import flows as account_flows
from portero.accounts import steps
from portero.accounts.models import User
from portero.core import clock
from portero.core.client import ClientInfo
from portero.core.headers import form_targets_allow
from portero.factors import flows as factor_flows
from portero.factors.selectors import has_factor
from portero.federation import applications, consent
from portero.federation.claims import ACR_MFA, ACR_VALUES, acr_of
from portero.federation.keys import JWKS_MAX_AGE, keyring


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _oauth_error_page(
    request: HttpRequest, error: Any, status: int = 400, *, sign_out: bool = False
) -> HttpResponse:
    """Portero's own page for a request that cannot go back to any client (OI2)."""
    return render(
        request,
        "federation/error.html",
        {
            "error": getattr(error, "error", "invalid_request"),
            "description": getattr(error, "description", ""),
            "sign_out": sign_out,
        },
        status=status,
    )


def _with_issuer(url: str) -> str:
    """Add `iss` to a redirect to a portal (RFC 9207: every authorization response, errors
    included); the library adds it to successful ones only."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "iss" for name, _ in query):
        return url
    query.append(("iss", oauth2_settings.oidc_issuer(None)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _prompt(request: HttpRequest) -> set[str]:
    """Return the request's `prompt` values (space-separated, OIDC Core 3.1.2.1)."""
    return set(request.GET.get("prompt", "").split())


def _unsupported(request: HttpRequest) -> str:
    """Return the error for request features Portero does not offer, or "" (discovery says
    so; silently ignoring them would mislead the portal)."""
    if request.GET.get("response_mode", "query") != "query":
        return "invalid_request"
    if "request" in request.GET or "request_uri" in request.GET:
        return "request_not_supported"
    return ""


class AuthorizeView(oauth_views.AuthorizationView):
    template_name = "federation/authorize.html"
    # The library's form view also takes PUT as a POST; the consent form only ever posts (HB3).
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = _unsupported(request)
        if refusal:
            return _oauth_error_page(request, refusal)
        if request.user.is_authenticated and self._needs_sign_in(request):
            if "none" in _prompt(request):
                return super().handle_no_permission()  # login_required to the portal
            return self.handle_prompt_login()  # max_age: sign in again (OIDC Core 3.1.2.1)
        if request.user.is_authenticated and self._needs_second_factor(request):
            # acr_values asks for two factors and this session gave one: a step-up, if the
            # person has a factor (otherwise the code says what was done: `acr` is voluntary).
            if "none" in _prompt(request):
                return super().handle_no_permission()  # login_required to the portal
            factor_flows.step_up_begin(request, destination=request.get_full_path())
            return redirect("factors:second_step")
        if request.user.is_authenticated and steps.pending(request):
            # A page this session still owes (accounts.steps) comes before the code.
            if "none" in _prompt(request):
                return super().handle_no_permission()  # login_required to the portal
            return steps.begin(request, request.get_full_path())
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not request.session.get(account_flows.SID):
            return _oauth_error_page(request, "login_required")
        return super().post(request, *args, **kwargs)

    @staticmethod
    def _needs_second_factor(request: HttpRequest) -> bool:
        wanted = request.GET.get("acr_values", "").split()
        user = request.user
        return (
            ACR_MFA in wanted
            and isinstance(user, User)
            and not factor_flows.session_has_second_factor(request)
            and has_factor(user)
        )

    @staticmethod
    def _needs_sign_in(request: HttpRequest) -> bool:
        """True when the sign-in is older than `max_age`, or the session predates portals
        (no sid: its tokens could never be ended with it)."""
        if not request.session.get(account_flows.SID):
            return True
        raw = request.GET.get("max_age", "")
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
            return False
        signed_in_at = float(request.session.get(account_flows.SIGNED_IN_AT, 0))
        return clock.now().timestamp() - signed_in_at > int(raw)

    def handle_no_permission(self) -> HttpResponse:
        """Not signed in: keep this request for after the sign-in, whatever detour it takes."""
        if "none" not in _prompt(self.request):
            self._remember_pending()
        return super().handle_no_permission()

    def handle_prompt_login(self) -> HttpResponse:
        """prompt=login or a too old sign-in (max_age): the password again, then back here."""
        return redirect_to_login(self._remember_pending(), resolve_url(settings.LOGIN_URL))

    def _remember_pending(self) -> str:
        """Keep this request (not yet validated by the library) only for a known client and
        one of its registered redirect URIs, whose origin the sign-in page's forms may reach."""
        url = self._without_prompt_login()
        application = Application.objects.filter(
            client_id=self.request.GET.get("client_id", "")
        ).first()
        redirect_uri = self.request.GET.get("redirect_uri", "")
        if application is not None and application.redirect_uri_allowed(redirect_uri):
            account_flows.return_to_remember(
                self.request, url=url, client_name=application.name, origin=_origin(redirect_uri)
            )
        return url

    def _without_prompt_login(self) -> str:
        query = self.request.GET.copy()
        query.pop("prompt", None)
        query.pop("max_age", None)  # satisfied by the sign-in about to happen
        return f"{self.request.path}?{query.urlencode()}"

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        return super().redirect(_with_issuer(redirect_to), application)

    def error_response(self, error: Any, application: Any, **kwargs: Any) -> HttpResponse:
        redirect_, details = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect_:
            return self.redirect(details["url"], application)
        return _oauth_error_page(
            self.request, details["error"], status=details["error"].status_code
        )

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        """Hand the session's facts to the code (sid, auth_time, amr, acr; OI4, OI6)."""
        session = request.session
        credentials.update(
            portero_sid=session.get(account_flows.SID, ""),
            portero_auth_time=datetime.fromtimestamp(
                float(session.get(account_flows.SIGNED_IN_AT, clock.now().timestamp())), tz=UTC
            ),
            portero_amr=list(session.get(account_flows.AMR, ["pwd"])),
            portero_acr=acr_of(list(session.get(account_flows.AMR, ["pwd"]))),
        )
        return super().create_authorization_response(
            request=request, scopes=scopes, credentials=credentials, allow=allow
        )

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        """The consent page, unless this person already agreed to these scopes."""
        application = context.get("application")
        user = self.request.user
        if application is not None and isinstance(user, User):
            scopes = list(context.get("scopes", []))
            prompt = _prompt(self.request)
            if "consent" not in prompt and consent.on_file(
                user=user, application=application, scopes=scopes
            ):
                form = self.get_form_class()(data={**self.get_initial(), "allow": "1"})
                if form.is_valid():
                    return self.form_valid(form)
            if "none" in prompt:
                return self._consent_required(context)
            context["scope_labels"] = consent.scope_labels(scopes)
        response = super().render_to_response(context, **kwargs)
        redirect_uri = str(context.get("redirect_uri") or "")
        return form_targets_allow(response, _origin(redirect_uri)) if redirect_uri else response

    def _consent_required(self, context: dict[str, Any]) -> HttpResponse:
        error = ConsentRequired(state=context.get("state"))
        return self.error_response(
            OAuthToolkitError(error=error, redirect_uri=context.get("redirect_uri")),
            context.get("application"),
        )

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = self.request.user
        if form.cleaned_data.get("allow") and isinstance(user, User):
            application = Application.objects.filter(
                client_id=form.cleaned_data.get("client_id")
            ).first()
            if application is not None:
                consent.remember(
                    user=user,
                    application=application,
                    scopes=str(form.cleaned_data.get("scope", "")).split(),
                    client=ClientInfo.from_request(self.request),
                )
        return response


class TokenView(oauth_views.TokenView):
    """The library's token endpoint, for the grants Portero offers only (OI1).

    The library would route the password grant (checking the password before the client's
    right to use it: a password oracle outside the sign-in throttles) and the device flow
    (whose parameter it reads unchecked: a 500) to their handlers.
    """

    GRANTS = frozenset({"authorization_code", "refresh_token"})

    @method_decorator(
        sensitive_post_parameters("client_secret", "code", "code_verifier", "refresh_token")
    )
    def authorization_flow_token_response(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """As the library's, without reading the new access token back to announce it (its
        `app_authorized` signal, which nothing here listens to): one statement less."""
        _, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("grant_type") not in self.GRANTS:
            return _token_error(
                OAuth2Error(description="", status_code=400), "unsupported_grant_type"
            )
        try:
            response = super().post(request, *args, **kwargs)
        except OAuth2Error as error:  # raised while saving: the tokens were rolled back
            return _token_error(error, error.error)
        # Always JSON (the library omits the type on errors raised while saving), never cached.
        response["Content-Type"] = "application/json"
        response["Cache-Control"] = "no-store"
        return response


def _token_error(error: OAuth2Error, code: str) -> JsonResponse:
    response = JsonResponse({"error": code}, status=error.status_code or 400)
    response["Cache-Control"] = "no-store"
    return response


class DiscoveryView(oauth_views.ConnectDiscoveryInfoView):
    """The library's discovery document, with what Portero adds (back-channel logout, acr)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update(
            id_token_signing_alg_values_supported=["RS256"],
            grant_types_supported=["authorization_code", "refresh_token"],
            response_modes_supported=["query"],
            code_challenge_methods_supported=["S256"],
            acr_values_supported=list(ACR_VALUES),
            backchannel_logout_supported=True,
            backchannel_logout_session_supported=True,
            frontchannel_logout_supported=False,
            ui_locales_supported=["es-CO", "en"],
        )
        data["revocation_endpoint"] = self._get_endpoint_url(request, "revoke-token", required=True)
        fresh = JsonResponse(data)
        fresh["Access-Control-Allow-Origin"] = "*"
        fresh["Cache-Control"] = f"public, max-age={int(JWKS_MAX_AGE.total_seconds())}"
        return fresh


@require_http_methods(["GET", "HEAD"])
def jwks(request: HttpRequest) -> JsonResponse:
    """The published keys: the active one and retired ones whose tokens may live (OI8)."""
    response = JsonResponse({"keys": [key.public_jwk() for key in keyring().published()]})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={int(JWKS_MAX_AGE.total_seconds())}"
    return response


class LogoutView(oauth_views.RPInitiatedLogoutView):
    """RP-initiated logout through Portero's sign-out, which reaches every portal (OI6)."""

    template_name = "federation/logout_confirm.html"
    hint_sid = ""

    def get_request_application(self, id_token: Any, client_id: Any) -> Any:
        if client_id:  # the library's .get() makes an unknown client a 500
            application = Application.objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return id_token.application if id_token else None

    def validate_logout_request_user(self, id_token_hint: Any, client_id: Any) -> Any:
        id_token = super().validate_logout_request_user(id_token_hint, client_id)
        if id_token is not None:  # verified by the library: read the session it names
            payload = id_token_hint.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            self.hint_sid = str(claims.get("sid", ""))
        return id_token

    def must_prompt(self, token_user: Any) -> bool:
        """Ask unless the hint names this very session: an old ID token of the same person
        (from browser history, say) must not end a newer session with a plain link
        (RP-Initiated Logout 1.0, section 2)."""
        if super().must_prompt(token_user):
            return True
        current = self.request.session.get(account_flows.SID, "")
        return self.request.user.is_authenticated and self.hint_sid != current

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: Any = None,
        state: Any = None,
        token_user: Any = None,
    ) -> HttpResponse:
        if self.request.user.is_authenticated:
            account_flows.sign_out(
                self.request, client=ClientInfo.from_request(self.request), reason="portal"
            )
        if post_logout_redirect_uri:
            return super().do_logout(application, post_logout_redirect_uri, state, None)
        messages.info(self.request, _("You have signed out."))
        return redirect("accounts:sign_in")

    def error_response(self, error: Any) -> HttpResponse:
        return _oauth_error_page(self.request, error, sign_out=True)

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        target = str(self.oidc_data.get("post_logout_redirect_uri") or "")
        return form_targets_allow(response, _origin(target)) if target else response


@login_required
@require_http_methods(["GET", "HEAD"])
def applications_list(request: HttpRequest) -> HttpResponse:
    """Mi cuenta > Aplicaciones: the portals that hold access to this account (OI7)."""
    user = request.user
    assert isinstance(user, User)
    return render(
        request, "federation/applications.html", {"applications": applications.holding_access(user)}
    )


@login_required
@require_POST
def application_revoke(request: HttpRequest, client_id: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    name = applications.revoke(
        user=user, client_id=client_id, client=ClientInfo.from_request(request)
    )
    if name:
        messages.success(
            request, _("%(name)s no longer has access to your account.") % {"name": name}
        )
    return redirect("federation:applications")
