"""WSGI entry point for gunicorn: `gunicorn inkweld.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkweld.settings")

application = get_wsgi_application()
