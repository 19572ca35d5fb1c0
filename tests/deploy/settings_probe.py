"""Run the real settings (inkweld.settings) in a fresh Python with a chosen environment, and print what they became."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Everything these tests vary, emptied first: a developer's .env (read for unset variables only) must not decide.
VARIED = (
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LOCATION",
    "AWS_S3_ADDRESSING_STYLE",
    "MEDIA_SENDFILE_HEADER",
    "CACHE_URL",
)


def run_settings(*lines: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`lines` run after django.setup() with `settings` imported; `env` is added to a production-like environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AI_IMAGE_"))}
    environment.update({name: "" for name in VARIED})
    environment.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "s" * 60,
            "SALT_KEY": "salt",
            "DJANGO_SETTINGS_MODULE": "inkweld.settings",
        }
    )
    environment.update(env)
    code = "\n".join(["import django", "from django.conf import settings", "django.setup()", *lines])
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
