"""The effective image-generation configuration: the admin's value, else the environment, else the default.

Every setting resolves to a `Setting` that knows where its value came from, so admin, `manage.py imagegen config`
and error messages can all say *why* a provider is or is not available. The environment is read at call time (never
cached at import) and the settings row costs one query per `get_config()`; a caller that needs several answers in
one request calls `get_config()` once and asks the returned `EffectiveConfig`.

Malformed environment values are reported by the system check (imagegen/checks.py). If the process runs anyway,
the affected scope fails closed: a bad provider value makes that provider unavailable, a bad global value makes
generation unavailable, each with the problem as the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings as django_settings

from .setting_specs import (  # the table and its parsing live there; re-exported as the config's vocabulary
    FALSE_WORDS,
    MASK,
    PROVIDER_CHOICES,
    PROVIDER_IDS,
    PROVIDER_LABELS,
    PROVIDER_PREFIX,
    SPEC_BY_NAME,
    SPECS,
    TRUE_WORDS,
    InvalidValue,
    Source,
    Spec,
    environment_problems,
    parse,
    validate_http_url,
)

__all__ = [
    "FALSE_WORDS",
    "MASK",
    "PROVIDER_CHOICES",
    "PROVIDER_IDS",
    "PROVIDER_LABELS",
    "PROVIDER_PREFIX",
    "SPECS",
    "SPEC_BY_NAME",
    "TRUE_WORDS",
    "Availability",
    "EffectiveConfig",
    "InvalidValue",
    "ProviderConnection",
    "ProviderSettings",
    "Setting",
    "Source",
    "Spec",
    "available_providers",
    "display_url",
    "effective_default_provider",
    "environment_problems",
    "generation_available",
    "get_config",
    "parse",
    "provider_connection",
    "provider_status",
    "resolve",
    "validate_http_url",
]

# --- Resolved values -----------------------------------------------------------------------------------------


def display_url(url: str) -> str:
    """A URL for display, with any credentials in it masked (a bare `TOKEN@host` is a credential too)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username if parts.password is not None else None
    masked = f"{user}:{MASK}" if user else MASK
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))


@dataclass(frozen=True)
class Setting:
    """One resolved setting. `value` of a secret is the key itself: never print it, use `display()`."""

    spec: Spec
    value: Any
    source: Source
    problem: str = ""  # the environment value was malformed; `value` is the default
    note: str = ""  # why a default applies, e.g. "API key is set"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def env_name(self) -> str:
        return self.spec.env

    @property
    def undecryptable(self) -> bool:
        return getattr(self.value, "undecryptable", False)

    def value_text(self) -> str:
        kind, value = self.spec.kind, self.value
        if kind == "secret":
            if self.undecryptable:
                return "the saved key can no longer be decrypted — enter it again"
            return "set" if value else "not set"
        if kind == "bool":
            return "On" if value else "Off"
        if kind == "provider":
            return PROVIDER_LABELS.get(value, value)
        if kind == "url":
            return display_url(value) if value else "not set"
        if kind == "seconds":
            return f"{value} s"
        if kind == "choice":
            return dict(self.spec.choices).get(value, value)
        if value is None:
            return "no limit"
        return f"{value} USD" if kind == "money" else f"{value} images"

    def source_text(self) -> str:
        if self.source == "admin":
            return "from admin"
        if self.source == "environment":
            return f"from environment ({self.env_name})"
        return f"default ({self.note})" if self.note else "default"

    def display(self) -> str:
        """E.g. "On — from environment (AI_IMAGE_OPENAI_ENABLED)" or "set — from admin"; never a key."""
        if self.problem:
            return f"invalid environment value — {self.problem}"
        if self.spec.secret and not self.value and not self.undecryptable:
            return "not set"
        if self.undecryptable:
            return self.value_text()
        return f"{self.value_text()} — {self.source_text()}"

    def __repr__(self) -> str:
        shown = self.value_text() if self.spec.secret else repr(self.value)
        return f"Setting({self.name}={shown}, source={self.source!r})"

    __str__ = display


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str = ""  # what to do about it, when not available


@dataclass(frozen=True)
class ProviderConnection:
    """What a provider needs to talk to its upstream. Built by `provider_connection()`; never holds ciphertext."""

    provider_id: str
    api_key: str = field(repr=False)
    base_url: str  # without trailing slash; the WebUI endpoint for Stable Diffusion
    timeout: float
    site_url: str


@dataclass(frozen=True)
class ProviderSettings:
    provider_id: str
    enabled: Setting
    api_key: Setting
    url: Setting  # the base URL, or the WebUI endpoint for Stable Diffusion
    timeout: Setting

    @property
    def label(self) -> str:
        return PROVIDER_LABELS[self.provider_id]

    @property
    def settings(self) -> tuple[Setting, ...]:
        return (self.enabled, self.api_key, self.url, self.timeout)

    def status(self) -> Availability:
        for s in self.settings:
            if s.problem:
                return Availability(False, s.problem)
        if not self.enabled.value:
            if self.enabled.source == "admin":
                return Availability(False, "disabled in admin")
            if self.enabled.source == "environment":
                return Availability(False, f"disabled by {self.enabled.env_name}")
        if self.api_key.undecryptable:
            return Availability(False, "saved key cannot be decrypted — enter it again in admin")
        if self.provider_id == "stable-diffusion":
            if not self.url.value:
                return Availability(False, f"no WebUI endpoint (set it in admin or {self.url.env_name})")
        elif not self.api_key.value:
            return Availability(False, f"no API key (set it in admin or {self.api_key.env_name})")
        return Availability(True)


@dataclass(frozen=True)
class EffectiveConfig:
    enabled: Setting
    default_provider: Setting
    providers: dict[str, ProviderSettings]
    daily_limit: Setting
    monthly_budget: Setting
    unknown_price: Setting
    assumed_price: Setting

    @property
    def globals(self) -> tuple[Setting, ...]:
        return (
            self.enabled,
            self.default_provider,
            self.daily_limit,
            self.monthly_budget,
            self.unknown_price,
            self.assumed_price,
        )

    @property
    def openai(self) -> ProviderSettings:
        return self.providers["openai"]

    @property
    def openrouter(self) -> ProviderSettings:
        return self.providers["openrouter"]

    @property
    def stable_diffusion(self) -> ProviderSettings:
        return self.providers["stable-diffusion"]

    def provider(self, provider_id: str) -> ProviderSettings:
        try:
            return self.providers[provider_id]
        except KeyError:
            raise ValueError(
                f"unknown provider {provider_id!r}: use one of {', '.join(PROVIDER_IDS)}"
            ) from None

    def settings(self) -> list[Setting]:
        """Every setting, in SPECS order."""
        flat = list(self.globals)
        for pid in PROVIDER_IDS:
            flat.extend(self.providers[pid].settings)
        by_name = {s.name: s for s in flat}
        return [by_name[spec.name] for spec in SPECS]

    def setting(self, name: str) -> Setting:
        return next(s for s in self.settings() if s.name == name)

    def provider_status(self, provider_id: str) -> Availability:
        return self.provider(provider_id).status()

    def available_providers(self) -> list[str]:
        """Providers a writer can use now, in fallback order; empty while the master switch is off."""
        if not self.generation_status().available:
            return []
        return [pid for pid in PROVIDER_IDS if self.providers[pid].status().available]

    def generation_status(self) -> Availability:
        for s in self.globals:
            if s.problem:
                return Availability(False, s.problem)
        if not self.enabled.value:
            where = "in admin" if self.enabled.source == "admin" else f"by {self.enabled.env_name}"
            return Availability(False, f"disabled {where}")
        if not any(self.providers[pid].status().available for pid in PROVIDER_IDS):
            return Availability(False, "no provider is available")
        return Availability(True)

    def generation_available(self) -> bool:
        return self.generation_status().available

    def effective_default_provider(self) -> str | None:
        available = self.available_providers()
        if self.default_provider.value in available:
            return self.default_provider.value
        return available[0] if available else None

    def connection(self, provider_id: str) -> ProviderConnection:
        p = self.provider(provider_id)
        return ProviderConnection(
            provider_id=provider_id,
            # bool() first: an undecryptable key is an empty str subclass carrying ciphertext; send nothing.
            api_key=str(p.api_key.value) if p.api_key.value and not p.api_key.undecryptable else "",
            base_url=(p.url.value or "").rstrip("/"),
            timeout=float(p.timeout.value),
            site_url=django_settings.SITE_URL,
        )


def _resolve(spec: Spec, row: Any, environ: Mapping[str, str]) -> Setting:
    admin_value = getattr(row, spec.field)
    # An undecryptable key is falsy but was set in admin; it must win, not fall through to the environment.
    if admin_value is not None and (admin_value != "" or getattr(admin_value, "undecryptable", False)):
        return Setting(spec, admin_value, "admin")
    raw = environ.get(spec.env, "").strip()
    if raw:
        try:
            return Setting(spec, parse(spec, raw), "environment")
        except InvalidValue as e:
            return Setting(spec, spec.default, "default", problem=f"{spec.env}: {e}")
    return Setting(spec, spec.default, "default")


def _provider(pid: str, row: Any, environ: Mapping[str, str]) -> ProviderSettings:
    p = PROVIDER_PREFIX[pid]
    url_name = "endpoint" if pid == "stable-diffusion" else "base_url"
    resolved = {
        part: _resolve(SPEC_BY_NAME[f"{p}.{part}"], row, environ)
        for part in ("enabled", "api_key", url_name, "timeout")
    }
    enabled = resolved["enabled"]
    if enabled.value is None:
        # Set nowhere (or malformed): follow the credential, so configuring a key is enough to switch it on.
        credential = resolved[url_name] if pid == "stable-diffusion" else resolved["api_key"]
        what = "WebUI endpoint" if pid == "stable-diffusion" else "API key"
        present = bool(credential.value) or credential.undecryptable
        note = f"{what} is set" if present else f"no {what}"
        enabled = Setting(enabled.spec, present, "default", problem=enabled.problem, note=note)
    return ProviderSettings(pid, enabled, resolved["api_key"], resolved[url_name], resolved["timeout"])


def resolve(row: Any, environ: Mapping[str, str] | None = None) -> EffectiveConfig:
    """The effective configuration for a settings row (saved or not) and an environment. No queries."""
    environ = os.environ if environ is None else environ
    return EffectiveConfig(
        enabled=_resolve(SPEC_BY_NAME["enabled"], row, environ),
        default_provider=_resolve(SPEC_BY_NAME["default_provider"], row, environ),
        providers={pid: _provider(pid, row, environ) for pid in PROVIDER_IDS},
        daily_limit=_resolve(SPEC_BY_NAME["daily_limit"], row, environ),
        monthly_budget=_resolve(SPEC_BY_NAME["monthly_budget"], row, environ),
        unknown_price=_resolve(SPEC_BY_NAME["unknown_price"], row, environ),
        assumed_price=_resolve(SPEC_BY_NAME["assumed_price"], row, environ),
    )


def get_config(environ: Mapping[str, str] | None = None) -> EffectiveConfig:
    """The effective configuration now: one query for the settings row, the environment read afresh."""
    # Imported here, not at the top: models (and, later, the provider registry they use) import this module.
    from imagegen.models import ImageGenerationSettings

    row = ImageGenerationSettings.objects.filter(pk=ImageGenerationSettings.SINGLETON_PK).first()
    # No row yet means nothing set in admin; reading must not write, so use an unsaved blank one.
    return resolve(row or ImageGenerationSettings(), environ)


# --- The interface providers and views use. Each call is one query; call get_config() once to share it. -----


def provider_connection(provider_id: str, config: EffectiveConfig | None = None) -> ProviderConnection:
    return (config or get_config()).connection(provider_id)


def provider_status(provider_id: str, config: EffectiveConfig | None = None) -> Availability:
    return (config or get_config()).provider_status(provider_id)


def generation_available(config: EffectiveConfig | None = None) -> bool:
    return (config or get_config()).generation_available()


def effective_default_provider(config: EffectiveConfig | None = None) -> str | None:
    return (config or get_config()).effective_default_provider()


def available_providers(config: EffectiveConfig | None = None) -> list[str]:
    return (config or get_config()).available_providers()
