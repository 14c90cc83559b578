"""The demo portal's WSGI application (gunicorn portero.demo.portal.wsgi:application)."""

import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

# Always the portal's settings, never Portero's, whatever the parent process left set.
os.environ["DJANGO_SETTINGS_MODULE"] = "portero.demo.portal.settings"
application = get_wsgi_application()
# The portal's one table lives in its own SQLite file: create it as the portal starts. gunicorn
# runs it in a single process (threads serve concurrent requests), so only one migrates.
call_command("migrate", interactive=False, verbosity=0)
