#!/usr/bin/env bash
# Serves the app and runs the task worker beside it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

trap 'trap - INT TERM EXIT; kill 0 2>/dev/null; wait' INT TERM EXIT

$PY manage.py db_worker --interval 0.05 --verbosity 1 &
echo
echo "  Inkweld is running at http://$HOST:$PORT/"
echo "  Sign in as 'writer' (a writer) or 'admin' (the site admin) with the passwords seed_demo printed"
echo "  (or DEMO_WRITER_PASSWORD / DEMO_ADMIN_PASSWORD if you set them). Ctrl-C stops the server and the worker."
echo
$PY manage.py runserver "$HOST:$PORT" &
wait -n
