"""The portal's pages: home, and the four steps of signing in and out through Portero."""

from __future__ import annotations

import logging
import re

import requests
from authlib.common.errors import AuthlibBaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe
from joserfc.errors import JoseError

from portero.demo.portal import oidc, settings  # the portal's own settings (see oidc.py)
from portero.demo.portal.sessions import CLAIMS, ID_TOKEN, sessions_end

log = logging.getLogger(__name__)

ERROR_CODE = re.compile(r"[a-z_]{1,40}")

# What Portero's refusals mean to the person, by OAuth error code; anything else is "other".
PROBLEMS = {
    "access_denied": "No se autorizó el ingreso a este portal.",
    "login_required": "Debe ingresar de nuevo en Portero para continuar.",
    "consent_required": "Debe autorizar a este portal en Portero para continuar.",
    "other": "No fue posible completar el ingreso.",
    "unreachable": "El servicio de ingreso no responde en este momento. Intente más tarde.",
}


def _problem(request: HttpRequest, error: str, *, status: int = 400) -> HttpResponse:
    """A short Spanish page with a link home, instead of a traceback (never a 500)."""
    if not ERROR_CODE.fullmatch(error):  # shown on the page: an OAuth code, not any text
        error = "other"
    return render(
        request,
        "portal/problem.html",
        {"message": PROBLEMS.get(error, PROBLEMS["other"]), "error": error},
        status=status,
    )


@require_safe
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    claims = request.session.get(CLAIMS)
    signed_out = "state" in request.GET and _returned_from_logout(request)
    return render(
        request,
        "portal/home.html",
        {
            "claims": claims,
            "name": (claims or {}).get("name") or (claims or {}).get("preferred_username", ""),
            "signed_out": signed_out,
        },
    )


def _returned_from_logout(request: HttpRequest) -> bool:
    """True when Portero sent the browser back from signing out with the state we gave it."""
    try:
        oidc.portero.validate_logout_response(request)
    except AuthlibBaseError:
        return False
    return True


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    """Send the browser to Portero: code flow, PKCE S256, a nonce and a state (Authlib's)."""
    if request.session.get(CLAIMS):
        return redirect("home")
    try:
        response: HttpResponse = oidc.portero.authorize_redirect(
            request, f"{settings.PORTAL_BASE_URL}/auth/callback/"
        )
    except (requests.RequestException, ValueError) as error:  # Portero is down or says nonsense
        log.warning("discovery failed: %s", error)
        return _problem(request, "unreachable", status=502)
    return response


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Redeem the code, check the ID token, remember who signed in; then home."""
    try:
        if not oidc.response_from_issuer(request.GET):
            return _problem(request, "invalid_issuer")
        token = oidc.portero.authorize_access_token(request)
    except AuthlibBaseError as error:  # Portero's refusal, a wrong state, a refused code
        return _problem(request, str(error.error or "other"))
    except (JoseError, ValueError) as error:  # an ID token that does not check out
        log.warning("ID token refused: %s", error)
        return _problem(request, "invalid_id_token")
    except requests.RequestException as error:
        log.warning("token request failed: %s", error)
        return _problem(request, "unreachable", status=502)
    if "userinfo" not in token:  # no ID token came back: nobody to sign in
        return _problem(request, "invalid_id_token")
    request.session.cycle_key()  # a new session key at sign-in (session fixation)
    request.session[CLAIMS] = dict(token["userinfo"])
    request.session[ID_TOKEN] = token["id_token"]
    return redirect("home")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the portal's session, then ask Portero to end its own (RP-initiated logout)."""
    id_token = request.session.get(ID_TOKEN)
    request.session.flush()
    if not id_token:
        return redirect("home")
    try:
        response: HttpResponse = oidc.portero.logout_redirect(
            request, post_logout_redirect_uri=f"{settings.PORTAL_BASE_URL}/", id_token_hint=id_token
        )
    except (requests.RequestException, RuntimeError) as error:
        log.warning("no end_session_endpoint: %s", error)
        return redirect("home")  # signed out here at least
    return response


@csrf_exempt  # Portero's worker posts here, with no browser and no cookie
@require_POST
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """End the sessions a valid logout token names (Back-Channel Logout 1.0, section 2.8)."""
    try:
        claims = oidc.logout_token_claims(request.POST.get("logout_token", ""))
    except oidc.InvalidLogoutToken as error:
        log.warning("logout token refused: %s", error)
        return _no_store(
            JsonResponse({"error": "invalid_request", "error_description": str(error)}, status=400)
        )
    except requests.RequestException as error:  # the JWKS could not be read: try again later
        log.warning("JWKS unavailable: %s", error)
        return _no_store(HttpResponse(status=503))
    ended = sessions_end(sid=claims.get("sid", ""), sub=claims.get("sub", ""))
    log.info("back-channel logout ended %s session(s)", ended)
    return _no_store(HttpResponse(status=200))


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response
