"""On PostgreSQL each process lends its connections out of a pool (settings.DATABASE_POOL_SIZE; issue 15).

Django closes its connection after every request and between a worker's tasks (CONN_MAX_AGE=0). Without a pool each
of those meant a new PostgreSQL backend (a fork and its set-up: several milliseconds a request, a woken worker, an
open dialog's read). The settings run in a fresh Python against the machine's PostgreSQL (its `postgres` database,
read only), and the backend serving each "request" is asked for its process id.
"""

from __future__ import annotations

import json
import os

from .settings_probe import run_settings

POSTGRES = os.environ.get("INKWELD_PROBE_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")

BACKENDS = [
    "import json",
    "from django.db import close_old_connections, connection",
    "pids = []",
    "for _ in range(10):",
    "    with connection.cursor() as cursor:",  # a request's queries…
    "        cursor.execute('SELECT pg_backend_pid()')",
    "        pids.append(cursor.fetchone()[0])",
    "    close_old_connections()",  # …and its end, as Django's request_finished does it
    "print(json.dumps({'pool': connection.settings_dict['OPTIONS'].get('pool'), 'pids': pids}))",
]


def backends(**env: str) -> dict:
    result = run_settings(*BACKENDS, DATABASE_URL=POSTGRES, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_requests_on_postgresql_reuse_a_pooled_connection():
    seen = backends(CONN_MAX_AGE="0")
    assert seen["pool"]["max_size"] == 10  # the default (and .env.example's)
    # Ten requests, served by the pool's one or two backends (it keeps one open and may open a second meanwhile).
    assert len(set(seen["pids"])) <= 2, seen


def test_without_the_pool_every_request_gets_a_new_backend():
    seen = backends(CONN_MAX_AGE="0", DATABASE_POOL_SIZE="0")
    assert seen["pool"] is None
    assert len(set(seen["pids"])) == 10, seen


def test_persistent_connections_turn_the_pool_off():
    # Django refuses a pool beside CONN_MAX_AGE > 0; the old way (one connection kept per thread) is used then.
    seen = backends(CONN_MAX_AGE="60", DATABASE_POOL_SIZE="10")
    assert seen["pool"] is None
    assert len(set(seen["pids"])) == 1


def test_sqlite_has_no_pool():
    result = run_settings(
        "from django.db import connection", "print(connection.settings_dict['OPTIONS'].get('pool'))",
        DATABASE_URL="sqlite:////tmp/inkweld-pool-probe.sqlite3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "None"
