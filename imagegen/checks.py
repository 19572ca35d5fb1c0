"""System checks: a malformed AI_IMAGE_* environment value stops `runserver`, `migrate` and `check` with its name.

Only the environment is checked: admin values are validated by the form and the CLI, and a check must not need the
database (it runs before migrations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error

from imagegen.config import environment_problems


def check_environment(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(
            message,
            hint=f"Fix or unset {variable} in the environment or in .env.",
            id="imagegen.E001",
        )
        for variable, message in environment_problems()
    ]
