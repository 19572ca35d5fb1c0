"""The settings table: every image-generation setting's name, environment variable, kind and default, and the one
set of parsing rules the environment, the admin CLI and the system check share."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

PROVIDER_IDS = ("openai", "openrouter", "stable-diffusion")  # also the fallback order
PROVIDER_LABELS = {"openai": "OpenAI", "openrouter": "OpenRouter", "stable-diffusion": "Stable Diffusion"}
PROVIDER_CHOICES = [(pid, PROVIDER_LABELS[pid]) for pid in PROVIDER_IDS]
# Model fields and CLI names use the short prefix; "stable-diffusion" is not a valid Python name.
PROVIDER_PREFIX = {"openai": "openai", "openrouter": "openrouter", "stable-diffusion": "sd"}

Source = Literal["admin", "environment", "default"]
Kind = Literal["bool", "provider", "secret", "url", "seconds", "count", "money"]

MASK = "********"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Spec:
    """One setting: its CLI name (the model field is the same with "_" for "."), environment variable, kind, default."""

    name: str
    env: str
    kind: Kind
    default: Any

    @property
    def field(self) -> str:
        return self.name.replace(".", "_")

    @property
    def secret(self) -> bool:
        return self.kind == "secret"


SPECS: tuple[Spec, ...] = (
    Spec("enabled", "AI_IMAGE_ENABLED", "bool", True),
    Spec("default_provider", "AI_IMAGE_DEFAULT_PROVIDER", "provider", "openai"),
    # A provider whose `enabled` is set nowhere follows its credential; None marks that default.
    Spec("openai.enabled", "AI_IMAGE_OPENAI_ENABLED", "bool", None),
    Spec("openai.api_key", "OPENAI_API_KEY", "secret", ""),
    Spec("openai.base_url", "AI_IMAGE_OPENAI_BASE_URL", "url", "https://api.openai.com/v1"),
    Spec("openai.timeout", "AI_IMAGE_OPENAI_TIMEOUT", "seconds", 120),
    Spec("openrouter.enabled", "AI_IMAGE_OPENROUTER_ENABLED", "bool", None),
    Spec("openrouter.api_key", "AI_IMAGE_OPENROUTER_API_KEY", "secret", ""),
    Spec("openrouter.base_url", "AI_IMAGE_OPENROUTER_BASE_URL", "url", "https://openrouter.ai/api/v1"),
    Spec("openrouter.timeout", "AI_IMAGE_OPENROUTER_TIMEOUT", "seconds", 120),
    Spec("sd.enabled", "AI_IMAGE_SD_ENABLED", "bool", None),
    Spec("sd.endpoint", "AI_IMAGE_SD_ENDPOINT", "url", ""),
    Spec("sd.api_key", "AI_IMAGE_SD_API_KEY", "secret", ""),
    Spec("sd.timeout", "AI_IMAGE_SD_TIMEOUT", "seconds", 300),
    Spec("daily_limit", "AI_IMAGE_DAILY_LIMIT", "count", None),
    Spec("monthly_budget", "AI_IMAGE_MONTHLY_BUDGET", "money", None),
)
SPEC_BY_NAME: dict[str, Spec] = {s.name: s for s in SPECS}


# --- Parsing: one set of rules for the environment, the CLI and the system check --------------------------


class InvalidValue(ValueError):
    """A value that does not fit its setting. The message never contains a secret."""


def validate_http_url(value: str) -> None:
    """Django validator: an http(s) URL with a host. Lenient on host names so `http://sd-webui:7860` (a Docker
    service name, which URLValidator rejects for lacking a TLD) is accepted."""
    message = "Enter an http:// or https:// URL, e.g. http://127.0.0.1:7860."
    try:
        parts = urlsplit(value)
        hostname, _port = parts.hostname, parts.port  # both raise on "http://[::1" or a port past 65535
    except ValueError:
        raise ValidationError(message, code="invalid") from None
    if parts.scheme not in {"http", "https"} or not hostname or any(c.isspace() for c in value):
        raise ValidationError(message, code="invalid")


def parse(spec: Spec, raw: str) -> Any:
    """Turn text (an environment value or a CLI argument) into the setting's value, or raise InvalidValue."""
    text = raw.strip()
    shown = "the value" if spec.secret else repr(text)
    if spec.kind == "bool":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise InvalidValue(f"{shown} is not a boolean: use true or false")
    if spec.kind == "provider":
        if text in PROVIDER_IDS:
            return text
        raise InvalidValue(f"{shown} is not a provider: use one of {', '.join(PROVIDER_IDS)}")
    if spec.kind == "secret":
        if not text or any(c.isspace() for c in text):
            raise InvalidValue("an API key is one word with no spaces")
        if not (text.isascii() and text.isprintable()):
            # HTTP headers carry ASCII only: a pasted "…" or curly quote would break every request with it.
            raise InvalidValue("an API key has only plain ASCII letters, digits and punctuation")
        return text
    if spec.kind == "url":
        try:
            validate_http_url(text)
        except ValidationError:
            raise InvalidValue(f"{shown} is not an http(s) URL") from None
        return text
    if spec.kind in {"seconds", "count"}:
        minimum = 1 if spec.kind == "seconds" else 0
        if not text.isdigit() or int(text) < minimum:
            unit = "a whole number of seconds, at least 1" if spec.kind == "seconds" else "a whole number"
            raise InvalidValue(f"{shown} is not {unit}")
        return int(text)
    if spec.kind == "money":
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e8"):
            raise InvalidValue(f"{shown} is not an amount in USD, e.g. 25 or 12.50")
        return amount.quantize(Decimal("0.01"))
    raise AssertionError(f"unknown kind {spec.kind}")


def environment_problems(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(variable, message) for every malformed environment value; used by the system check. No database."""
    environ = os.environ if environ is None else environ
    problems = []
    for spec in SPECS:
        raw = environ.get(spec.env, "").strip()
        if raw:
            try:
                parse(spec, raw)
            except InvalidValue as e:
                problems.append((spec.env, f"{spec.env}: {e}"))
    return problems
