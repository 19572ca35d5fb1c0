"""The settings table: every image-generation setting's name, environment variable, kind and default, and the one
set of parsing rules the environment, the admin CLI and the system check share.

Global settings are listed here; each provider's come from its own declaration (`settings = declare(...)` in its
module), so adding a provider adds its settings everywhere — admin, `imagegen config/set/unset`, the system check,
the environment — with no list written twice.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured, ValidationError

from imagegen.providers import PROVIDERS
from imagegen.providers.settings import Kind

if TYPE_CHECKING:
    from imagegen.providers.base import Connection

PROVIDER_IDS = tuple(PROVIDERS)  # also the fallback order
PROVIDER_LABELS = {pid: cls.label for pid, cls in PROVIDERS.items()}
PROVIDER_CHOICES = [(pid, PROVIDER_LABELS[pid]) for pid in PROVIDER_IDS]
# CLI names and environment variables use each provider's prefix ("sd" for "stable-diffusion").
PROVIDER_PREFIX = {pid: cls.settings.prefix for pid, cls in PROVIDERS.items()}

Source = Literal["admin", "environment", "default"]

MASK = "********"
MAX_URL_LENGTH = 500
# An hour: a longer wait on one request is a hung upstream (and a timeout past a socket's limit breaks every call).
MAX_SECONDS = 3600
MAX_COUNT = 1_000_000
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Spec:
    """One setting: its CLI name, environment variable, kind and default, and where an admin's value is stored.

    A global setting (`provider` "") is a column of the settings singleton named `field`; a provider's setting is a
    row of imagegen.models.ProviderSetting keyed by (`provider`, `key`). `field` also names its admin form field.
    """

    name: str
    env: str
    kind: Kind
    default: Any
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for kind "choice"
    label: str = ""
    help: str = ""
    provider: str = ""
    key: str = ""
    check: Callable[[Any, Connection], str] | None = field(default=None, compare=False)

    @property
    def field(self) -> str:
        return self.name.replace(".", "_")

    @property
    def secret(self) -> bool:
        return self.kind == "secret"


# Settings of image generation as a whole (columns of the settings singleton).
GLOBAL_SPECS: tuple[Spec, ...] = (
    Spec("enabled", "AI_IMAGE_ENABLED", "bool", True),
    Spec("default_provider", "AI_IMAGE_DEFAULT_PROVIDER", "provider", "openai"),
)
LIMIT_SPECS: tuple[Spec, ...] = (
    Spec("daily_limit", "AI_IMAGE_DAILY_LIMIT", "count", None),
    Spec("monthly_budget", "AI_IMAGE_MONTHLY_BUDGET", "money", None),
    # With a budget set, what to do with a job whose model's price nobody knows.
    Spec(
        "unknown_price",
        "AI_IMAGE_UNKNOWN_PRICE",
        "choice",
        "refuse",
        choices=(("refuse", "Refuse it"), ("allow", "Allow it, counting the assumed price per image")),
    ),
    Spec("assumed_price", "AI_IMAGE_ASSUMED_PRICE", "money", Decimal("0.25")),
)


def provider_specs(provider_id: str) -> tuple[Spec, ...]:
    """A provider's settings as its module declares them (imagegen/providers/settings.py)."""
    declaration = PROVIDERS[provider_id].settings
    prefix = declaration.prefix
    return tuple(
        Spec(
            name=f"{prefix}.{d.key}",
            env=d.env or f"AI_IMAGE_{prefix.upper()}_{d.key.upper()}",
            kind=d.kind,
            default=d.default,
            choices=d.choices,
            label=d.label,
            help=d.help,
            provider=provider_id,
            key=d.key,
            check=d.check,
        )
        for d in declaration.settings
    )


SPECS: tuple[Spec, ...] = (
    *GLOBAL_SPECS,
    *(spec for pid in PROVIDER_IDS for spec in provider_specs(pid)),
    *LIMIT_SPECS,
)
SPEC_BY_NAME: dict[str, Spec] = {s.name: s for s in SPECS}
# Two settings sharing a name or a variable would silently shadow each other: refuse to start instead.
if len(SPEC_BY_NAME) != len(SPECS) or len({s.env for s in SPECS}) != len(SPECS):
    raise ImproperlyConfigured("Two image-generation settings share a name or an environment variable.")


# --- Parsing: one set of rules for the environment, the CLI and the system check --------------------------


class InvalidValue(ValueError):
    """A value that does not fit its setting. The message never contains a secret."""


def display_url(url: str) -> str:
    """A URL for display, with any credentials in it masked (a bare `TOKEN@host` is a credential too)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable (e.g. "http://[::1"): hide whatever sits before an "@"
        scheme, sep, rest = url.rpartition("://")
        return f"{scheme}{sep}{MASK}@{rest.rpartition('@')[2]}" if "@" in rest else url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username if parts.password is not None else None
    masked = f"{user}:{MASK}" if user else MASK
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))


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
    # Never a key, nor the credentials an address may carry (http://user:token@host), in a message.
    shown = "the value" if spec.secret else repr(display_url(text) if spec.kind == "url" else text)
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
        if len(text) > MAX_URL_LENGTH:
            raise InvalidValue(f"the address is longer than {MAX_URL_LENGTH} characters")
        return text
    if spec.kind in {"seconds", "count"}:
        low, high = (1, MAX_SECONDS) if spec.kind == "seconds" else (0, MAX_COUNT)
        # ASCII digits only: "²" and "٣" pass isdigit() but are no number a person typed here.
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            unit = (
                f"a whole number of seconds, {low} to {high}"
                if spec.kind == "seconds"
                else f"a whole number up to {high:,}"
            )
            raise InvalidValue(f"{shown} is not {unit}")
        return int(text)
    if spec.kind == "choice":
        values = [value for value, _ in spec.choices]
        if text.lower() in values:
            return text.lower()
        raise InvalidValue(f"{shown} is not one of {', '.join(values)}")
    if spec.kind == "text":
        if not raw.strip():
            raise InvalidValue("the value is empty")
        return raw.strip()
    if spec.kind == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise InvalidValue(
                f"it is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
            ) from None
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
