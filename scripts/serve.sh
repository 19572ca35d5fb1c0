#!/usr/bin/env bash
# Serves the app and runs the task worker beside it. Ctrl-C (or SIGTERM to this script) stops both and waits until
# every process they started is gone: nothing is left running a job or holding the port.
#
# The web server is gunicorn with uvicorn workers on the ASGI app (inkweld/gunicorn_conf.py: two workers, code
# reload when DEBUG is on), so a burst of requests is queued, not dropped, and an open dialog's event stream waits
# as a coroutine rather than holding a thread. The worker never runs under an autoreloader: the PID this script holds
# is the worker itself. It is woken when a job is queued (LISTEN on PostgreSQL, a watch of SQLite's change counter);
# --interval is how often it looks at the queue on its own besides.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

# Each child leads a process group of its own (setsid), so stopping it reaches everything it started — gunicorn's
# workers included — and nothing else.
groups=()
signal_all() { for g in "${groups[@]}"; do kill -"$1" -- "-$g" 2>/dev/null || true; done; }
any_alive() { for g in "${groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && return 0; done; return 1; }
wait_gone() { for _ in $(seq 1 "$1"); do any_alive || return 0; sleep 0.1; done; return 1; }

stop() {
  trap '' INT TERM  # further Ctrl-Cs while stopping change nothing; this takes at most 15 s
  trap - EXIT
  # gunicorn finishes requests in flight; the worker finishes its task, or, told a second time, stops it now and
  # records its job as failed ("try again").
  signal_all TERM
  wait_gone 30 || { signal_all TERM; wait_gone 120; } || signal_all KILL
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

setsid $PY manage.py db_worker --interval 5 --no-reload --verbosity 1 &
groups+=($!)
setsid .venv/bin/gunicorn -c inkweld/gunicorn_conf.py inkweld.asgi:application --bind "$HOST:$PORT" &
groups+=($!)
echo
echo "  Inkweld is running at http://$HOST:$PORT/"
echo "  Sign in as 'writer' (a writer) or 'admin' (the site admin) with the passwords seed_demo printed"
echo "  (or DEMO_WRITER_PASSWORD / DEMO_ADMIN_PASSWORD if you set them). Ctrl-C stops the server and the worker."
echo
# Either one exiting (a crash, a port already in use) stops the other: the EXIT trap.
wait -n
