#!/bin/sh
# The container's entry point (Dockerfile): `web`, `worker`, or any command.
set -eu

case "${1:-web}" in
  web)
    shift 2>/dev/null || true
    # Migrations at start: the first web container brings the database up to date before it serves.
    python manage.py migrate --noinput
    # gunicorn reads WEB_CONCURRENCY (worker processes) and GUNICORN_CMD_ARGS itself. uvicorn's worker class serves
    # the ASGI app; --graceful-timeout bounds how long a SIGTERM waits for requests in flight.
    exec gunicorn inkweld.asgi:application \
      --worker-class uvicorn_worker.UvicornWorker \
      --bind "${HOST}:${PORT}" \
      --graceful-timeout 10 \
      --access-logfile - \
      "$@"
    ;;
  worker)
    shift
    # The interval scripts/serve.sh uses (the bench measures it). SIGTERM: the current job finishes, then it exits.
    exec python manage.py db_worker --interval 0.05 --no-reload --verbosity 1 "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
