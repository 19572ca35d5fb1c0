"""How gunicorn serves Inkweld — `make run` and production alike:

    gunicorn -c inkweld/gunicorn_conf.py inkweld.asgi:application --bind 127.0.0.1:8000

ASGI through uvicorn's worker class (the `uvicorn-worker` package): each worker process runs an event loop that
holds many connections at once, so a burst of requests queues in the listen backlog (2048) instead of being
dropped, and a streaming response does not take a whole worker. Synchronous views run in threads as usual.

Workers: WEB_CONCURRENCY (default 2). With DEBUG on, workers restart when code changes (development only).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from django.conf import settings  # lazy: read at the first attribute, after the line below

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkweld.settings")

# First: reading the settings also reads .env into the environment (WEB_CONCURRENCY may be there).
reload = settings.DEBUG
worker_class = "uvicorn_worker.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Ctrl-C or a deploy: requests in flight get this long to finish.
graceful_timeout = 10
# No gunicornc control socket: its default path is shared by every gunicorn this user runs on the machine.
control_socket_disable = True


def worker_int(worker: Any) -> None:
    """gunicorn's code reloader calls this hook after marking the worker dead (workers/base.py `changed`), then ends
    only its own thread; a uvicorn worker never looks at that mark (benoitc/gunicorn#2339). Ask it to stop the way it
    listens, so the arbiter starts a fresh one with the new code."""
    if not worker.alive:
        os.kill(worker.pid, signal.SIGTERM)
