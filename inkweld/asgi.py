"""ASGI entry point: gunicorn serves it with uvicorn's worker class (see inkweld/gunicorn_conf.py).

ASGI rather than WSGI so that views can stream (server-sent events from async views) without holding a worker each;
the existing synchronous views run unchanged, each request in a thread of its own.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkweld.settings")

application = get_asgi_application()
