"""A minimal stock Django 5.2 project: django.contrib.auth's PasswordResetView, and the
bare-INSERT view that gives the physical limit (`limit/`, views.py).

The peer Portero is compared with (bench/run.py). Settings come from the environment the
benchmark sets: STOCK_DB_NAME (PostgreSQL) or STOCK_SQLITE_PATH, STOCK_SMTP_PORT,
STOCK_SECRET_KEY.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ["STOCK_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "stockpeer.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
WSGI_APPLICATION = "stockpeer.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("STOCK_DB_NAME", ""),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        # As Portero's (portero.config.settings): connections kept a minute, checked before
        # reuse, so that no side pays for opening one per request.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
if os.environ.get("STOCK_SQLITE_PATH"):
    # The same SQLite settings as Portero's (WAL, writers take the lock at BEGIN and wait for
    # it up to 20 s, connections kept), so that the peer and the bare-INSERT limit differ
    # from Portero only in what their views do.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["STOCK_SQLITE_PATH"],
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("STOCK_SMTP_PORT", "25"))
DEFAULT_FROM_EMAIL = "no-reply@example.com"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
