"""Settings of the demo portal: the only module of the portal that reads the environment.

`portero demo` sets these variables for the portal it starts; another deployment of the portal
would set them itself. PORTAL_ISSUER, PORTAL_CLIENT_ID, PORTAL_CLIENT_SECRET and
PORTAL_SECRET_KEY are required.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is required by the demo portal")
    return value


# Portero's base URL: the issuer, whose /.well-known/openid-configuration names every endpoint.
PORTAL_ISSUER = _required("PORTAL_ISSUER").rstrip("/")
# The credentials Portero gave this portal when it was registered (`portero client add`).
PORTAL_CLIENT_ID = _required("PORTAL_CLIENT_ID")
PORTAL_CLIENT_SECRET = _required("PORTAL_CLIENT_SECRET")
# The portal's own origin: its redirect, post-logout and back-channel addresses are built on it,
# and must be exactly those registered with Portero.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8001").rstrip("/")
_base = urlsplit(PORTAL_BASE_URL)
if _base.scheme not in {"http", "https"} or not _base.hostname:
    raise ImproperlyConfigured(f"PORTAL_BASE_URL must be an origin; got {PORTAL_BASE_URL!r}")
SECRET_KEY = _required("PORTAL_SECRET_KEY")
# The portal's own SQLite file; it holds only sessions.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("PORTAL_DATABASE", "var/demo-portal.sqlite3")).resolve(),
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }
}

DEBUG = False
ALLOWED_HOSTS = [_base.hostname, "127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = [PORTAL_BASE_URL]
INSTALLED_APPS = ["portero.demo.portal"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "portero.demo.portal.urls"
WSGI_APPLICATION = "portero.demo.portal.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# Sessions in PortalSession, findable by Portero's sid for back-channel logout.
SESSION_ENGINE = "portero.demo.portal.sessions"
SESSION_COOKIE_AGE = 8 * 3600
# Cookies are kept per host, not per port: on 127.0.0.1 the portal and Portero share a cookie
# jar, so the portal's cookies must not take Portero's names (portero_session, portero_csrf).
SESSION_COOKIE_NAME = "portal_session"
CSRF_COOKIE_NAME = "portal_csrf"
SESSION_COOKIE_SAMESITE = "Lax"  # Portero's redirect to the callback is a top-level GET
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _base.scheme == "https"
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "es-co"
USE_I18N = True
TIME_ZONE = "America/Bogota"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
