"""The WSGI application (`portero serve` builds the same handler itself)."""

import os

import django

from portero.core.wsgi import PorteroWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portero.config.settings")
django.setup(set_prefix=False)
application = PorteroWSGIHandler()
