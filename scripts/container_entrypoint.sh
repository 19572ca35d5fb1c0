#!/bin/sh
# The container's entry point (Dockerfile): `web`, `worker`, or any command.
set -eu

case "${1:-web}" in
  web)
    shift 2>/dev/null || true
    # Migrations at start: the first web container brings the database up to date before it serves.
    python manage.py migrate --noinput
    # As `make run` serves (inkweld/gunicorn_conf.py: uvicorn's worker class on the ASGI app, WEB_CONCURRENCY workers,
    # 10 s for requests in flight on SIGTERM); GUNICORN_CMD_ARGS and arguments after `web` add to it.
    exec gunicorn -c inkweld/gunicorn_conf.py inkweld.asgi:application \
      --bind "${HOST}:${PORT}" \
      --access-logfile - \
      "$@"
    ;;
  worker)
    shift
    # The interval scripts/serve.sh uses (the bench measures it). SIGTERM: the current job finishes, then it exits.
    exec python manage.py db_worker --interval 5 --no-reload --verbosity 1 "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
