"""The container files say what the image and compose promise. (CI builds the image and runs it:
scripts/container_smoke.sh; this checks what that run cannot see, such as compose.yaml, which needs a registry.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from imagegen.config import SPECS

ROOT = Path(__file__).resolve().parents[2]
# Set by the image (Dockerfile ENV) or by compose.yaml itself, or meant for `make run` only.
NOT_PASSED_THROUGH = {
    "DEBUG",
    "DATABASE_URL",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "DEMO_ADMIN_PASSWORD",
    "DEMO_WRITER_PASSWORD",
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def app_environment() -> dict[str, str | None]:
    entries = compose()["x-inkweld"]["environment"]
    return {entry.split("=", 1)[0]: (entry.split("=", 1)[1] if "=" in entry else None) for entry in entries}


def test_every_setting_the_app_reads_reaches_web_and_workers():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    generation = {spec.env for spec in SPECS}
    passed = app_environment()
    assert generation <= documented, "every AI_IMAGE_* setting is documented in .env.example"
    missing = sorted((documented | generation) - NOT_PASSED_THROUGH - set(passed))
    assert not missing, f"compose.yaml does not pass these through: {missing}"
    # Passed through means taken from the operator's environment, not pinned here…
    assert all(passed[name] is None for name in generation)
    # …except what compose decides: production mode, its own database, and secrets it refuses to start without.
    assert passed["DEBUG"] == "false"
    assert passed["DATABASE_URL"].startswith("postgres://inkweld:${POSTGRES_PASSWORD:?")
    assert passed["SECRET_KEY"].startswith("${SECRET_KEY:?") and passed["SALT_KEY"].startswith("${SALT_KEY:?")


def test_web_and_workers_are_one_image_and_the_options_are_profiles():
    services = compose()["services"]
    web, worker = services["web"], services["worker"]
    assert (web["image"], web["build"]) == (worker["image"], worker["build"])
    assert (web["command"], worker["command"]) == (["web"], ["worker"])
    assert web["volumes"] == worker["volumes"] == ["data:/data"]  # media on disk is shared
    assert "scripts/container_healthcheck.py" in web["healthcheck"]["test"]
    assert worker["depends_on"]["web"]["condition"] == "service_healthy"  # after the migrations
    assert services["db"].get("profiles") is None
    assert services["redis"]["profiles"] == ["redis"] and services["s3"]["profiles"] == ["s3"]


def test_the_image_runs_as_a_user_and_serves_the_asgi_app_with_uvicorn_workers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint = (ROOT / "scripts" / "container_entrypoint.sh").read_text()
    assert re.search(r"^USER inkweld$", dockerfile, re.MULTILINE)
    assert "collectstatic --noinput" in dockerfile and "HEALTHCHECK" in dockerfile
    web = entrypoint[entrypoint.index("web)") : entrypoint.index(";;")]
    assert web.index("manage.py migrate --noinput") < web.index("exec gunicorn -c inkweld/gunicorn_conf.py")
    assert "inkweld.asgi:application" in web
    conf = (ROOT / "inkweld" / "gunicorn_conf.py").read_text()
    assert 'worker_class = "uvicorn_worker.UvicornWorker"' in conf
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "data", ".git"} <= set(ignored)
