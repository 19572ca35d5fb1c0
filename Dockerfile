# Inkweld: one image for the web server and the task worker (README: Deploy).
#   web     (the default) apply migrations, then serve with gunicorn + uvicorn workers on $HOST:$PORT (ASGI: open
#           dialogs' event streams wait as coroutines, not threads — README: Live updates)
#   worker  run the task worker (manage.py db_worker); run as many as you like
#   other   run it as a command, e.g. `python manage.py dbbackup`
# Configuration comes from the environment only (.env files are never copied in). Data lives in /data unless
# DATABASE_URL, MEDIA_ROOT / AWS_STORAGE_BUCKET_NAME and BACKUP_DIR say otherwise.
FROM debian:bookworm-slim

# A CA bundle for pip, for builds behind a TLS-inspecting proxy: mount it at build time and name it here
# (scripts/container_smoke.sh does). It is never copied into the image. Empty: pip's own bundle.
ARG PIP_CERT=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH

# python3 is 3.11 on bookworm; postgresql-client brings pg_dump / pg_restore for `manage.py dbbackup`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv postgresql-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && useradd --user-group --uid 10001 --create-home --shell /usr/sbin/nologin inkweld \
 && install -d -o inkweld -g inkweld /data

WORKDIR /app

# Dependencies first, so a code change rebuilds only the layers below.
COPY pyproject.toml README.md ./
RUN if [ -n "$PIP_CERT" ]; then export PIP_CERT; else unset PIP_CERT; fi \
 && pip install --quiet --upgrade pip \
 && pip install --quiet .

COPY . .

ENV DEBUG=false \
    DATABASE_URL=sqlite:////data/inkweld.sqlite3 \
    MEDIA_ROOT=/data/media \
    BACKUP_DIR=/data/backups \
    STATIC_ROOT=/app/staticfiles \
    HOST=0.0.0.0 \
    PORT=8000

# Static files are collected (hashed, compressed) at build; WhiteNoise serves them. The keys exist for this step only.
RUN SECRET_KEY=collectstatic-only SALT_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0

USER inkweld
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "scripts/container_healthcheck.py"]
ENTRYPOINT ["scripts/container_entrypoint.sh"]
CMD ["web"]
