"""Settings for the test suite: Portero's own settings with a test environment.

DATABASE_URL chooses the database (SQLite by default; scripts/test also runs PostgreSQL).
"""

import os
import tempfile

_tmp = tempfile.mkdtemp(prefix="portero-tests-")
os.environ.setdefault("PORTERO_ENV", "development")
os.environ.setdefault("PORTERO_VAR_DIR", _tmp)
os.environ.setdefault("PORTERO_SECRET_KEY", "test-key-" + "x" * 48)
os.environ.setdefault("PORTERO_BASE_URL", "https://cuentas.portero.test")
os.environ.setdefault("PORTERO_SITE_NAME", "SECOP II")
os.environ.setdefault("PORTERO_MAIL_FROM", "SECOP II <registro@secop.gov.co>")
os.environ.setdefault("PORTERO_HELPDESK_PHONES", "Línea Nacional 018000-52-0808")
os.environ.setdefault("PORTERO_HELPDESK_HOURS", "Lunes a viernes 7:00 a.m. - 7:00 p.m.")
os.environ.setdefault("PORTERO_HELPDESK_URL", "https://soporte.portero.test")
os.environ.setdefault("PORTERO_TERMS_URL", "https://portero.test/terminos")
os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:1")  # each test points it at its own server
# REDIS_URL, when scripts/test sets it, moves rate-limit counters to Redis for the whole run.

from portero.config.settings import *  # noqa: E402,F403
from portero.config.settings import DATABASES, LOGGING  # noqa: E402

DEBUG = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The browser tests' `portero worker` keeps running while a test's tables are emptied
    # (TRUNCATE). Should the two deadlock, PostgreSQL aborts whichever backend checks first:
    # with a longer wait here, that is the worker's round (it retries), never the test's flush.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c deadlock_timeout=10s"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A real file (not shared-cache memory) so that threads behave as separate processes do.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_tmp, "test.sqlite3")}

# Let pytest's caplog see the security log (it listens on the root logger).
LOGGING["loggers"]["portero.security"] = {"level": "INFO", "propagate": True}  # type: ignore[index]
