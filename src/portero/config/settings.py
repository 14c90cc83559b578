"""Portero settings: the only module that reads the environment.

Every setting is declared once, with its default, unit and reason. Values that cannot work stop
start-up with a message naming the variable (see also portero.config.checks).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portero.audit import keys as audit_keys
from portero.config.env import Env, parse_email_url, parse_rate
from portero.mail.dkim import dkim_settings_check
from portero.mail.verp import bounce_address_check

env = Env.from_os()
PACKAGE_DIR = Path(__file__).resolve().parent.parent

# production: every secret and URL must be given; demo: `portero demo` (SQLite, local inbox,
# demo accounts); development: like demo without demo accounts, with Django's debug pages.
PORTERO_ENV = env.choice("PORTERO_ENV", "production", ("production", "demo", "development"))
PRODUCTION = PORTERO_ENV == "production"
DEMO = PORTERO_ENV == "demo"
DEBUG = PORTERO_ENV == "development"

# Where the embedded defaults keep their files (SQLite database, demo inbox, generated key).
VAR_DIR = Path(env.str("PORTERO_VAR_DIR", "var")).resolve()

# --- Web server (`portero serve`) and the demo's SMTP server --------------------------------
PORTERO_BIND = env.str("PORTERO_BIND", "127.0.0.1:8000")
# gunicorn sync workers: one per usable core by default (at least 2, at most 8; set it
# explicitly under a container CPU quota, which the affinity mask does not show). Measured on
# 2 cores (bench/README.md): the work per request is CPU (argon2, Django), so 4 workers served
# no more than 2, with a longer tail; asynchronous workers would not help either, since no
# request waits on anything but the database (e-mail is the worker's).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
PORTERO_WEB_WORKERS = env.int("PORTERO_WEB_WORKERS", min(max(_CORES or 2, 2), 8), low=1, high=64)
PORTERO_DEMO_SMTP_PORT = env.int("PORTERO_DEMO_SMTP_PORT", 8025, low=1, high=65535)
# Port of the demo portal that `portero demo` runs beside Portero (it signs in through Portero).
PORTERO_DEMO_PORTAL_PORT = env.int("PORTERO_DEMO_PORTAL_PORT", 8001, low=1, high=65535)

# --- Origin -------------------------------------------------------------------------------
# Every link in an e-mail is built from this origin, never from the request's Host (TK2).
_default_base = "" if PRODUCTION else f"http://{PORTERO_BIND}"
PORTERO_BASE_URL = env.str("PORTERO_BASE_URL", _default_base).rstrip("/")
if not PORTERO_BASE_URL:
    raise ImproperlyConfigured(
        "PORTERO_BASE_URL is required in production, e.g. https://cuentas.example.gov.co"
    )
_base = urlsplit(PORTERO_BASE_URL)
if _base.scheme not in {"http", "https"} or not _base.hostname or _base.path not in {"", "/"}:
    raise ImproperlyConfigured(
        f"PORTERO_BASE_URL must be an origin like https://host[:port]; got {PORTERO_BASE_URL!r}."
    )
if PRODUCTION and _base.scheme != "https":
    raise ImproperlyConfigured("PORTERO_BASE_URL must use https in production (TK2).")
HTTPS = _base.scheme == "https"

# Hosts the site answers to: the base URL's host plus any listed (HB2).
ALLOWED_HOSTS = [_base.hostname, *env.list("PORTERO_EXTRA_HOSTS")]
if not PRODUCTION:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "[::1]"]
CSRF_TRUSTED_ORIGINS = [PORTERO_BASE_URL]
USE_X_FORWARDED_HOST = False

# --- Secret key ---------------------------------------------------------------------------
_INSECURE_KEYS = {"", "changeme", "change-me", "secret", "django-insecure"}


def _local_secret_key() -> str:
    """Return the key kept under VAR_DIR for demo and development, creating it once."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("PORTERO_SECRET_KEY", "")
if PRODUCTION and (SECRET_KEY.lower() in _INSECURE_KEYS or len(SECRET_KEY) < 40):
    raise ImproperlyConfigured(
        "PORTERO_SECRET_KEY must be set to a random value of at least 40 characters in "
        "production. Generate one with:\n"
        "  python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
SECRET_KEY = SECRET_KEY or _local_secret_key()
# Older keys still accepted for sessions and links while a key is rotated.
SECRET_KEY_FALLBACKS = env.list("PORTERO_SECRET_KEY_FALLBACKS")

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portero.sqlite3'}")
# Connections are kept a minute and checked before reuse: after the database restarts or
# drops them, a request reconnects instead of failing with a 500.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Kept as on PostgreSQL: opening a connection (Django registers its SQL functions, then
    # the PRAGMAs below) cost 1.5 ms here, a third of a reset request's whole work.
    DATABASES["default"]["OPTIONS"] = {
        # Web server and worker share one file: take the write lock at BEGIN and wait for it
        # rather than failing with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- E-mail -------------------------------------------------------------------------------
_default_email = "" if PRODUCTION else f"smtp://127.0.0.1:{PORTERO_DEMO_SMTP_PORT}"
EMAIL_URL = env.str("EMAIL_URL", _default_email)
if not EMAIL_URL:
    raise ImproperlyConfigured("EMAIL_URL is required in production, e.g. smtp+starttls://...")
globals().update(parse_email_url(EMAIL_URL))
EMAIL_BACKEND = "portero.mail.smtp.EmailBackend"
# DKIM signing of every message (docs/mail.md): a PEM RSA private key of 2048 bits or more, and
# the selector its public key is published under (<selector>._domainkey.<domain>; `portero mail
# dns` prints the record). Both or neither. The domain is the sender's (PORTERO_MAIL_FROM) unless
# PORTERO_DKIM_DOMAIN names another (the sender's or a parent of it, or DMARC ignores the
# signature).
PORTERO_DKIM_KEY_FILE = env.str("PORTERO_DKIM_KEY_FILE", "")
PORTERO_DKIM_SELECTOR = env.str("PORTERO_DKIM_SELECTOR", "").lower()
PORTERO_DKIM_DOMAIN = env.str("PORTERO_DKIM_DOMAIN", "").lower().rstrip(".")
dkim_settings_check(
    key_file=PORTERO_DKIM_KEY_FILE, selector=PORTERO_DKIM_SELECTOR, domain=PORTERO_DKIM_DOMAIN
)
# Bounces (docs/mail.md): with an address such as rebotes@secop.gov.co, message 42 leaves with
# the envelope sender rebotes+42.<keyed tag>@secop.gov.co, and `portero bounces` (an SMTP server
# on PORTERO_BOUNCE_BIND, reached through the domain's MX) reads the delivery reports sent back
# to it. Empty: the envelope sender is the From address and bounces go wherever it leads.
PORTERO_BOUNCE_ADDRESS = env.str("PORTERO_BOUNCE_ADDRESS", "").strip().lower()
bounce_address_check(PORTERO_BOUNCE_ADDRESS)
PORTERO_BOUNCE_BIND = env.str("PORTERO_BOUNCE_BIND", "127.0.0.1:8026")
_bounce_port = PORTERO_BOUNCE_BIND.rpartition(":")[2]
if not (
    PORTERO_BOUNCE_BIND.rpartition(":")[0]
    and _bounce_port.isdigit()
    and 1 <= int(_bounce_port) <= 65535
):
    raise ImproperlyConfigured(
        f"PORTERO_BOUNCE_BIND must be host:port, e.g. 127.0.0.1:8026; got {PORTERO_BOUNCE_BIND!r}."
    )

# --- Branding (the demo uses the SECOP II guide's own texts) ------------------------------
PORTERO_SITE_NAME = env.str("PORTERO_SITE_NAME", "SECOP II" if DEMO else "Portero")
PORTERO_ORGANIZATION = env.str(
    "PORTERO_ORGANIZATION", "Colombia Compra Eficiente" if DEMO else PORTERO_SITE_NAME
)
DEFAULT_FROM_EMAIL = env.str(
    "PORTERO_MAIL_FROM",
    "SECOP II <registro@secop.gov.co>"
    if DEMO
    else f"{PORTERO_SITE_NAME} <no-reply@{_base.hostname}>",
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Each help-desk text has an English twin for the English pages and e-mails; without one, the
# Spanish text is shown (a phone number reads the same), except the default name, which is
# "Service Desk" in English (one English name everywhere).
PORTERO_HELPDESK_NAME = env.str("PORTERO_HELPDESK_NAME", "Mesa de Servicio")
PORTERO_HELPDESK_NAME_EN = env.str(
    "PORTERO_HELPDESK_NAME_EN",
    "Service Desk" if PORTERO_HELPDESK_NAME == "Mesa de Servicio" else PORTERO_HELPDESK_NAME,
)
PORTERO_HELPDESK_HOURS = env.str(
    "PORTERO_HELPDESK_HOURS",
    "Lunes a viernes 7:00 a.m. - 7:00 p.m. Sábado 8:00 a.m. - 12:00 p.m." if DEMO else "",
)
PORTERO_HELPDESK_HOURS_EN = env.str(
    "PORTERO_HELPDESK_HOURS_EN",
    "Monday to Friday 7:00 a.m. - 7:00 p.m. Saturday 8:00 a.m. - 12:00 p.m."
    if DEMO
    else PORTERO_HELPDESK_HOURS,
)
PORTERO_HELPDESK_PHONES = env.str(
    "PORTERO_HELPDESK_PHONES",
    "Línea Nacional 018000-52-0808 / En Bogotá 745-8788" if DEMO else "",
)
PORTERO_HELPDESK_PHONES_EN = env.str(
    "PORTERO_HELPDESK_PHONES_EN",
    "National line 018000-52-0808 / In Bogotá 745-8788" if DEMO else PORTERO_HELPDESK_PHONES,
)
PORTERO_HELPDESK_URL = env.str(
    "PORTERO_HELPDESK_URL", "https://www.colombiacompra.gov.co/soporte" if DEMO else ""
)
PORTERO_TERMS_URL = env.str(
    "PORTERO_TERMS_URL", "https://www.colombiacompra.gov.co/terminos-y-condiciones" if DEMO else ""
)
# Personal data processing policy (Ley 1581 de 2012), linked from every page's footer.
PORTERO_PRIVACY_URL = env.str(
    "PORTERO_PRIVACY_URL",
    "https://www.colombiacompra.gov.co/politica-de-tratamiento-de-datos-personales" if DEMO else "",
)
# Security and privacy statement, linked from every page's footer.
PORTERO_SECURITY_URL = env.str(
    "PORTERO_SECURITY_URL",
    "https://www.colombiacompra.gov.co/seguridad-y-privacidad" if DEMO else "",
)
PORTERO_NOTIFICATION_SETTINGS_URL = env.str(
    "PORTERO_NOTIFICATION_SETTINGS_URL", f"{PORTERO_BASE_URL}/cuenta/notificaciones/"
)

# --- Recovery -----------------------------------------------------------------------------
# Minutes a recovery link or code stays valid (TK4; NIST caps it at 24 h).
PORTERO_RESET_TTL_MINUTES = env.int("PORTERO_RESET_TTL_MINUTES", 60, low=5, high=1440)

# --- Abuse limits (FR2, FU3, LI2, LI3, TK7) -----------------------------------------------
# Addresses of reverse proxies whose X-Forwarded-For is believed (LI3); anyone else's is ignored.
PORTERO_TRUSTED_PROXIES = env.list("PORTERO_TRUSTED_PROXIES")
# Counters shared by every process: in the database, or in Redis when this is set.
REDIS_URL = env.str("REDIS_URL", "")
# Every limit below is checked before anything that depends on whether an account exists; a
# limited request looks exactly like an accepted one. Keys are keyed hashes, never raw input.
# name: (action, scope, default, why). Override one with PORTERO_RATE_LIMIT_<NAME>=5/1h or off.
_RATE_LIMIT_DEFAULTS = {
    "reset_per_account_hour": (
        "password_reset",
        "account",
        "5/1h",
        "nobody needs more; stops mail-bombing one inbox",
    ),
    "reset_per_account_day": (
        "password_reset",
        "account",
        "10/1d",
        "caps a slow, patient mail-bomb",
    ),
    "reset_per_ip_hour": (
        "password_reset",
        "ip",
        "30/1h",
        "one address cannot sweep many accounts (an office NAT still fits)",
    ),
    "reminder_per_address_hour": (
        "username_reminder",
        "account",
        "5/1h",
        "as for passwords: protects the inbox",
    ),
    "reminder_per_address_day": (
        "username_reminder",
        "account",
        "10/1d",
        "as for passwords: caps slow mail-bombs",
    ),
    "reminder_per_ip_hour": (
        "username_reminder",
        "ip",
        "30/1h",
        "one address cannot probe many e-mail addresses",
    ),
    "sign_in_failures_per_ip": (
        "sign_in_failure",
        "ip",
        "30/10m",
        "password spraying and credential stuffing from one address",
    ),
    "code_guesses_per_account_hour": (
        "code_guess",
        "account",
        "10/1h",
        "8-digit codes must not be guessable by volume",
    ),
    "code_guesses_per_ip_hour": (
        "code_guess",
        "ip",
        "30/1h",
        "one address cannot guess codes across accounts",
    ),
    "factor_guesses_per_account_hour": (
        "factor_guess",
        "account",
        "10/1h",
        "MF2: six digits must not be guessable by volume",
    ),
    "factor_guesses_per_account_day": (
        "factor_guess",
        "account",
        "30/1d",
        "MF2: caps a slow guesser who has the password or inbox",
    ),
    "factor_guesses_per_ip_hour": (
        "factor_guess",
        "ip",
        "30/1h",
        "one address cannot guess second factors across accounts",
    ),
    "org_search_per_account_hour": (
        "org_search",
        "account",
        "60/1h",
        "OR4: organization searches cannot list the directory",
    ),
    "org_search_per_ip_hour": (
        "org_search",
        "ip",
        "300/1h",
        "OR4: nor can many accounts behind one address",
    ),
    "password_meter_per_ip": (
        "password_meter",
        "ip",
        "300/10m",
        "the strength meter is cheap, but not free: typing, not flooding",
    ),
}
# Switch every rate limit off at once (a load test from one address), never in production use.
PORTERO_RATE_LIMITS_ENABLED = env.bool("PORTERO_RATE_LIMITS", True)
PORTERO_RATE_LIMITS: dict[str, dict[str, object]] = {}
for _name, (_action, _scope, _default, _why) in _RATE_LIMIT_DEFAULTS.items():
    _var = f"PORTERO_RATE_LIMIT_{_name.upper()}"
    _rate = parse_rate(_var, env.str(_var, _default))
    if _rate is not None and PORTERO_RATE_LIMITS_ENABLED:
        PORTERO_RATE_LIMITS[_name] = {
            "action": _action,
            "scope": _scope,
            "limit": _rate[0],
            "period": _rate[1],
            "reason": _why,
        }
# Per-account sign-in failures in a row (LI2): after DELAY_AFTER each further try waits
# DELAY_SECONDS, doubling up to 15 min; after LOCK_AFTER only a reset or the help desk unlocks.
# Pages between a complete sign-in and its destination (accounts.steps), in this order.
PORTERO_AFTER_SIGN_IN_STEPS: list[str] = [
    "portero.factors.policy.enrolment_step",  # PORTERO_MFA_REQUIRED=all: set up a factor (MF6)
    "portero.organizations.steps.choose_organization",  # the company selector (OR3)
]
# Who must have a second factor (MF6): "roles" (the help-desk console's staff), "all", "off".
PORTERO_MFA_REQUIRED = env.choice("PORTERO_MFA_REQUIRED", "roles", ("roles", "all", "off"))
# Hours an assisted recovery waits, cancellable from the e-mail, before the factors go (MF4).
PORTERO_ASSISTED_RECOVERY_HOURS = env.int("PORTERO_ASSISTED_RECOVERY_HOURS", 72, low=24, high=720)
PORTERO_SIGNIN_DELAY_AFTER = env.int("PORTERO_SIGNIN_DELAY_AFTER", 5, low=1, high=100)
PORTERO_SIGNIN_DELAY_SECONDS = env.int("PORTERO_SIGNIN_DELAY_SECONDS", 30, low=1, high=900)
PORTERO_SIGNIN_LOCK_AFTER = env.int("PORTERO_SIGNIN_LOCK_AFTER", 100, low=10, high=1000)
# Wrong codes that kill a one-time code (TK7).
PORTERO_CODE_MAX_ATTEMPTS = 5
PORTERO_CODE_DIGITS = 8  # TK7; fixed: the code page and e-mails say "8 digits"

# --- Passwords ----------------------------------------------------------------------------
# Minimum length in code points (PW1: 15 when the password is the only factor; 8..64 allowed).
PORTERO_PASSWORD_MIN_LENGTH = env.int("PORTERO_PASSWORD_MIN_LENGTH", 15, low=8, high=64)
# Lowest zxcvbn score (0-4) a new password needs (PW3; 3 means at least 10^8 guesses).
PORTERO_PASSWORD_MIN_SCORE = env.int("PORTERO_PASSWORD_MIN_SCORE", 3, low=0, high=4)
# Longest input accepted; anything longer is refused before hashing (PW1, long-password DoS).
PORTERO_PASSWORD_MAX_LENGTH = 1024
# argon2id cost (PW5 floor: m=19456 KiB, t=2, p=1); raising them rehashes at next sign-in.
PORTERO_ARGON2_MEMORY_KIB = env.int("PORTERO_ARGON2_MEMORY_KIB", 19456, low=19456, high=4194304)
PORTERO_ARGON2_TIME_COST = env.int("PORTERO_ARGON2_TIME_COST", 2, low=2, high=64)
PORTERO_ARGON2_PARALLELISM = env.int("PORTERO_ARGON2_PARALLELISM", 1, low=1, high=64)
PASSWORD_HASHERS = [
    "portero.accounts.hashers.PorteroArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # only to verify imported legacy hashes
    "portero.federation.hashers.ClientSecretHasher",  # portals' random secrets only (OI5)
]
# Cheapest first: StrengthValidator scores only what the rules above it accept, and the strength
# meter applies those rules and the score, never the ones below (PW4 hashes).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PORTERO_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "portero.accounts.validators.CommonPasswordBlocklistValidator"},
    {"NAME": "portero.accounts.validators.ContextWordsValidator"},
    {"NAME": "portero.accounts.validators.StrengthValidator"},
    {"NAME": "portero.accounts.validators.DifferentFromCurrentValidator"},
]

# --- Sessions (SE1, SE2) ------------------------------------------------------------------
PORTERO_SESSION_IDLE_MINUTES = env.int("PORTERO_SESSION_IDLE_MINUTES", 30, low=5, high=1440)
PORTERO_SESSION_MAX_HOURS = env.int("PORTERO_SESSION_MAX_HOURS", 12, low=1, high=720)
SESSION_ENGINE = "portero.accounts.sessions"  # database sessions, each row written once
SESSION_COOKIE_AGE = PORTERO_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True  # the idle timeout slides with activity
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_NAME = "__Host-portero_session" if HTTPS else "portero_session"
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "__Host-portero_csrf" if HTTPS else "portero_csrf"
CSRF_FAILURE_VIEW = "portero.audit.csrf.csrf_failure"
LANGUAGE_COOKIE_NAME = "portero_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_HTTPONLY = True

# --- HTTP (HB1) ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: browsers send "Origin: null" on form posts from no-referrer
# pages, which CSRF protection must refuse. Secrets never stay in a page's URL (TK3), and the
# one response whose URL carries a token says no-referrer itself (recovery.views.open_link).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False

# Days recovery requests, resets and finished outbox messages are kept (help-desk diagnosis);
# the worker deletes older ones, so the tables do not grow without bound.
PORTERO_RECOVERY_RETENTION_DAYS = env.int("PORTERO_RECOVERY_RETENTION_DAYS", 90, low=1, high=3650)

# --- Security events (LG1-LG4) ------------------------------------------------------------
# Days security events are kept before `portero audit purge` deletes them (Ley 1581 de 2012).
PORTERO_AUDIT_RETENTION_DAYS = env.int("PORTERO_AUDIT_RETENTION_DAYS", 365, low=1, high=3650)
# The audit chain's HMAC key (docs/security.md, "The audit trail"): a file holding 64 hex
# characters, outside the database, so that someone who can write the database cannot recompute
# the chain. Required in production; demo and development create it under PORTERO_VAR_DIR.
# Later lines hold older keys, kept to verify rows sealed before a rotation.
PORTERO_AUDIT_KEY_FILE = Path(
    env.str("PORTERO_AUDIT_KEY_FILE", "" if PRODUCTION else str(VAR_DIR / "audit-key"))
).resolve()
if PRODUCTION and not env.str("PORTERO_AUDIT_KEY_FILE", ""):
    raise ImproperlyConfigured(
        f"PORTERO_AUDIT_KEY_FILE is required in production; {audit_keys.GENERATE_HINT}"
    )
if not PRODUCTION and not PORTERO_AUDIT_KEY_FILE.exists():
    audit_keys.audit_key_file_create(PORTERO_AUDIT_KEY_FILE)
audit_keys.audit_keys_read(PORTERO_AUDIT_KEY_FILE)  # a missing or malformed key stops start-up
# Where the worker appends the chain head's hash (and logs it) every
# PORTERO_AUDIT_CHECKPOINT_MINUTES while it moves: the anchor outside the database that
# `portero audit verify --checkpoints FILE` compares. Keep it, or a copy, where the database's
# users cannot write.
PORTERO_AUDIT_CHECKPOINT_FILE = Path(
    env.str("PORTERO_AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl"))
).resolve()
PORTERO_AUDIT_CHECKPOINT_MINUTES = env.int("PORTERO_AUDIT_CHECKPOINT_MINUTES", 10, low=1, high=1440)

# --- Worker -------------------------------------------------------------------------------
# Seconds the worker sleeps when it found nothing to do (bounds time to inbox when idle).
PORTERO_WORKER_POLL_SECONDS = env.float("PORTERO_WORKER_POLL_SECONDS", 1.0, low=0.05, high=60)
# CPU priority of `portero worker` (Unix nice increment, 0-19). When web server and worker share
# cores, pages and sign-ins come first under a burst and the outbox catches up right after.
PORTERO_WORKER_NICE = env.int("PORTERO_WORKER_NICE", 10, low=0, high=19)
# First retry delay after a transient SMTP failure; doubles each attempt up to the cap.
PORTERO_MAIL_RETRY_BASE_SECONDS = env.int("PORTERO_MAIL_RETRY_BASE_SECONDS", 30, low=1, high=3600)
PORTERO_MAIL_RETRY_MAX_SECONDS = env.int("PORTERO_MAIL_RETRY_MAX_SECONDS", 900, low=1, high=86400)
# How long a notice without a link (password changed, username reminder) is retried.
PORTERO_MAIL_RETRY_WINDOW_HOURS = env.int("PORTERO_MAIL_RETRY_WINDOW_HOURS", 24, low=1, high=168)
# Seconds a worker owns a message it is sending; after that another worker may take it over.
PORTERO_MAIL_LEASE_SECONDS = env.int("PORTERO_MAIL_LEASE_SECONDS", 120, low=10, high=3600)

# --- Operations (docs/operations.md) ------------------------------------------------------
# host:port of the Prometheus metrics endpoint (e.g. 127.0.0.1:9100); empty: no metrics. The
# `portero serve` master answers there, never on the public site; `portero worker` answers on
# the same host at port + 1. Anyone who can reach it sees traffic and queue figures.
PORTERO_METRICS_BIND = env.str("PORTERO_METRICS_BIND", "")
_metrics_port = PORTERO_METRICS_BIND.rpartition(":")[2]
if PORTERO_METRICS_BIND and not (
    PORTERO_METRICS_BIND.rpartition(":")[0]
    and _metrics_port.isdigit()
    and 1 <= int(_metrics_port) < 65535
):
    raise ImproperlyConfigured(
        f"PORTERO_METRICS_BIND must be host:port (port 1-65534; the worker uses port + 1), "
        f"e.g. 127.0.0.1:9100; got {PORTERO_METRICS_BIND!r}."
    )

# --- Federation: the OpenID Connect provider (SECURITY.md K) --------------------------------
# File holding the ID-token signing keys (OI4, OI8), readable by Portero only. Demo and
# development create it on first use; in production `portero keys rotate` creates it (and
# rotates it later), and the provider's endpoints answer 503 until it exists.
PORTERO_OIDC_KEYS_FILE = Path(
    env.str("PORTERO_OIDC_KEYS_FILE", str(VAR_DIR / "oidc-keys.json"))
).resolve()
# Seconds an access token works at userinfo; short, since the refresh token renews it.
PORTERO_OIDC_ACCESS_TOKEN_SECONDS = env.int(
    "PORTERO_OIDC_ACCESS_TOKEN_SECONDS", 600, low=60, high=3600
)
# Seconds an ID token is valid; a rotated-out key stays in the JWKS at least this long (OI8).
PORTERO_OIDC_ID_TOKEN_SECONDS = env.int("PORTERO_OIDC_ID_TOKEN_SECONDS", 600, low=60, high=86400)
# Seconds the worker waits for a portal's back-channel logout endpoint before retrying later.
PORTERO_LOGOUT_TIMEOUT_SECONDS = env.int("PORTERO_LOGOUT_TIMEOUT_SECONDS", 5, low=1, high=60)
# How long an undelivered back-channel logout is retried (backoff as for e-mail).
PORTERO_LOGOUT_RETRY_WINDOW_HOURS = env.int(
    "PORTERO_LOGOUT_RETRY_WINDOW_HOURS", 24, low=1, high=168
)
# The library's own models, named explicitly because its foreign keys are swappable.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": PORTERO_BASE_URL,  # iss is exactly the base URL (OI4)
    # OI1: the authorization code flow with PKCE S256 for every client, nothing else.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # "plain" refused
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207: iss in the redirect
    # Access and refresh tokens stored as checksums only (a code lives 60 s, in clear).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    "SCOPES": {
        "openid": _("Know who you are (an identifier that is the same every time)"),
        "profile": _("Your username, full name and language"),
        "email": _("Your e-mail address"),
        # The organization you act for (SECOP accounts: portero.organizations).
        "organizacion": _("The organization you act for: its name, NIT and your role"),
    },
    "DEFAULT_SCOPES": ["openid"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,  # OI3
    "ACCESS_TOKEN_EXPIRE_SECONDS": PORTERO_OIDC_ACCESS_TOKEN_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": PORTERO_OIDC_ID_TOKEN_SECONDS,
    # A refresh token lives no longer than the session it came from (SE2, OI6): the validator
    # also refuses it at use once that session has ended, lapsed or passed its lifetime.
    "REFRESH_TOKEN_EXPIRE_SECONDS": PORTERO_SESSION_MAX_HOURS * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a replayed refresh token revokes its family
    "OIDC_JWKS_MAX_AGE_SECONDS": 300,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,  # a valid id_token_hint of this session
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,  # ours revokes this session's only (OI6)
    "OAUTH2_VALIDATOR_CLASS": "portero.federation.validators.PorteroValidator",
    "CLIENT_SECRET_HASHER": "portero_secret_sha256",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http only on loopback (clients.py)
    "REQUEST_APPROVAL_PROMPT": "auto",
}

# --- Demo ---------------------------------------------------------------------------------
PORTERO_DEMO_MAILDIR = VAR_DIR / "demo-inbox" if DEMO else None

# --- Django -------------------------------------------------------------------------------
INSTALLED_APPS = [
    "portero.core",
    "django.contrib.auth",  # before portero.accounts, whose ready() disconnects update_last_login
    "portero.accounts",
    "portero.factors",
    "portero.audit",
    "portero.mail",
    "portero.recovery",
    "portero.helpdesk",
    "portero.federation",
    "portero.organizations",
    "oauth2_provider",
    "portero.demo",
    "portero.ops",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "portero.core.request_id.RequestIdMiddleware",
    *(["portero.ops.metrics.RequestMetricsMiddleware"] if PORTERO_METRICS_BIND else []),
    "django.middleware.security.SecurityMiddleware",
    "portero.core.headers.SecurityHeadersMiddleware",
    "portero.core.errors.LongUrlMiddleware",  # after the headers: its page gets them too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portero.core.errors.UnsupportedMethodMiddleware",  # 405 before a missing token's 403
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portero.federation.middleware.FederationGuardMiddleware",
    "portero.accounts.middleware.SessionLifetimeMiddleware",
    "portero.accounts.middleware.AccountLanguageMiddleware",  # after the sign-in checks
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portero.core.errors.MethodNotAllowedMiddleware",
    "portero.federation.middleware.KeysMissingMiddleware",
]
ROOT_URLCONF = "portero.config.urls"
WSGI_APPLICATION = "portero.config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# The username is unique ignoring case through a functional constraint (LOWER(username)), which
# Django's check for a plain unique column does not see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
AUTHENTICATION_BACKENDS = ["portero.accounts.backends.UsernameBackend"]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "accounts:home"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portero.core.context.site",
                "portero.organizations.context.acting_for",
            ],
        },
    }
]
LANGUAGE_CODE = "es-co"
LANGUAGES = [("es-co", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Dates as Colombia writes them ("30 de noviembre de 2026, 2:38 a. m."), through core.dates.
FORMAT_MODULE_PATH = ["portero.core.formats"]
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True  # serve the package's own assets; no collectstatic step needed
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # no form here needs more than a few kilobytes
DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "bare": {"format": "%(message)s"},  # security events are complete JSON lines
    },
    # Every line goes through one redaction: no recovery token, no raw control character
    # (LG2, LG3). The same filter is on gunicorn's logs (portero.ops.gunicorn_logging).
    "filters": {"redact": {"()": "portero.core.log_redaction.RedactFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "security": {"class": "logging.StreamHandler", "formatter": "bare", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        # Django's own handler (from its defaults) would print these unredacted in development.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},  # aiosmtpd's per-connection chatter (demo, tests)
        "portero.security": {"handlers": ["security"], "level": "INFO", "propagate": False},
    },
}
