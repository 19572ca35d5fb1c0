"""The effective image-generation configuration: the admin's value, else the environment, else the default.

Every setting resolves to a `Setting` that knows where its value came from, so admin, `manage.py imagegen config`
and error messages can all say *why* a provider is or is not available. The environment is read at call time (never
cached at import) and what an admin saved costs two queries per `get_config()`; a caller that needs several answers in
one request calls `get_config()` once and asks the returned `EffectiveConfig`.

Malformed environment values are reported by the system check (imagegen/checks.py). If the process runs anyway,
the affected scope fails closed: a bad provider value makes that provider unavailable, a bad global value makes
generation unavailable, each with the problem as the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings

if TYPE_CHECKING:
    from imagegen.saved_settings import Saved

from imagegen.providers import PROVIDERS
from imagegen.providers.settings import ProviderDeclaration

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
    display_url,
    environment_problems,
    parse,
    provider_specs,
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
    "display_url",
    "environment_problems",
    "get_config",
    "parse",
    "resolve",
    "validate_http_url",
]

# --- Resolved values -----------------------------------------------------------------------------------------


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
        if kind in ("text", "json"):
            # A workflow or a mapping: too long for a table row; whether it is there is what an admin needs.
            return "set" if value not in (None, "", {}, []) else "not set"
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
    """What a provider needs to talk to its upstream. Built by `EffectiveConfig.connection()`; never holds ciphertext."""

    provider_id: str
    api_key: str = field(repr=False)
    base_url: str  # without trailing slash: the base URL, or the endpoint of a self-hosted engine
    timeout: float
    site_url: str
    # The provider's own settings beyond the four everyone has, by key (e.g. a ComfyUI workflow).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSettings:
    """One provider's resolved settings, in the order its module declares them."""

    provider_id: str
    values: dict[
        str, Setting
    ]  # by the declared key: "enabled", "api_key", "base_url" | "endpoint", "timeout", …

    @property
    def declaration(self) -> ProviderDeclaration:
        return PROVIDERS[self.provider_id].settings

    @property
    def label(self) -> str:
        return PROVIDER_LABELS[self.provider_id]

    @property
    def enabled(self) -> Setting:
        return self.values["enabled"]

    @property
    def api_key(self) -> Setting:
        return self.values["api_key"]

    @property
    def url(self) -> Setting:
        """The base URL, or the endpoint of a self-hosted engine."""
        return self.values[self.declaration.url]

    @property
    def timeout(self) -> Setting:
        return self.values["timeout"]

    @property
    def credential(self) -> Setting:
        """What makes the provider usable: its API key, or the endpoint of a self-hosted engine."""
        return self.values[self.declaration.credential]

    @property
    def settings(self) -> tuple[Setting, ...]:
        return tuple(self.values.values())

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
        if not self.credential.value:
            what = _credential_name(self.credential.spec)
            return Availability(False, f"no {what} (set it in admin or {self.credential.env_name})")
        return Availability(True)


def _credential_name(spec: Spec) -> str:
    return "API key" if spec.secret else "endpoint URL"


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
        common = {"enabled", "api_key", "timeout", p.declaration.url}
        return ProviderConnection(
            provider_id=provider_id,
            # bool() first: an undecryptable key is an empty str subclass carrying ciphertext; send nothing.
            api_key=str(p.api_key.value) if p.api_key.value and not p.api_key.undecryptable else "",
            base_url=(p.url.value or "").rstrip("/"),
            timeout=float(p.timeout.value),
            site_url=django_settings.SITE_URL,
            extra={key: s.value for key, s in p.values.items() if key not in common},
        )


def _resolve(spec: Spec, saved: Saved, environ: Mapping[str, str]) -> Setting:
    admin_value = saved.get(spec)
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


def _provider(pid: str, saved: Saved, environ: Mapping[str, str]) -> ProviderSettings:
    values = {spec.key: _resolve(spec, saved, environ) for spec in provider_specs(pid)}
    enabled = values["enabled"]
    if enabled.value is None:
        # Set nowhere (or malformed): follow the credential, so configuring a key (or endpoint) switches it on.
        credential = values[PROVIDERS[pid].settings.credential]
        what = _credential_name(credential.spec)
        present = bool(credential.value) or credential.undecryptable
        note = f"{what} is set" if present else f"no {what}"
        values["enabled"] = Setting(enabled.spec, present, "default", problem=enabled.problem, note=note)
    return ProviderSettings(pid, values)


def resolve(saved: Saved, environ: Mapping[str, str] | None = None) -> EffectiveConfig:
    """The effective configuration for what an admin saved and an environment. No queries."""
    environ = os.environ if environ is None else environ
    return EffectiveConfig(
        enabled=_resolve(SPEC_BY_NAME["enabled"], saved, environ),
        default_provider=_resolve(SPEC_BY_NAME["default_provider"], saved, environ),
        providers={pid: _provider(pid, saved, environ) for pid in PROVIDER_IDS},
        daily_limit=_resolve(SPEC_BY_NAME["daily_limit"], saved, environ),
        monthly_budget=_resolve(SPEC_BY_NAME["monthly_budget"], saved, environ),
        unknown_price=_resolve(SPEC_BY_NAME["unknown_price"], saved, environ),
        assumed_price=_resolve(SPEC_BY_NAME["assumed_price"], saved, environ),
    )


def get_config(environ: Mapping[str, str] | None = None) -> EffectiveConfig:
    """The effective configuration now: two queries for what an admin saved, the environment read afresh."""
    # Imported here, not at the top: models (and, through them, the settings table) import this module.
    from imagegen.saved_settings import load_saved

    return resolve(load_saved(), environ)
