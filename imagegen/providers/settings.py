"""How a provider declares its settings, once: the admin form, the effective-settings table with sources, the
environment variable names, `imagegen set/unset/config` names and the status block are all derived from this.

A provider module sets `settings = declare(...)` on its class. Every setting gets a CLI name `<prefix>.<key>`
(`openai.api_key`, `sd.endpoint`) and an environment variable `AI_IMAGE_<PREFIX>_<KEY>` unless the product's docs
fixed another name (`OPENAI_API_KEY`). Values are stored generically (imagegen.models.ProviderSetting), so a new
provider needs no new columns and no migration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .base import Connection

Kind = Literal["bool", "provider", "secret", "url", "seconds", "count", "money", "choice", "text", "json"]


@dataclass(frozen=True)
class Declared:
    """One setting of a provider, as its module declares it."""

    key: str
    kind: Kind
    label: str
    default: Any = None
    env: str = ""  # "" → AI_IMAGE_<PREFIX>_<KEY>
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    # Checked when an admin or operator saves a value: the value and the provider's connection (with the value
    # in place) → a sentence saying what is wrong, or "". May ask the upstream (e.g. a workflow against its nodes).
    check: Callable[[Any, Connection], str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ProviderDeclaration:
    """A provider's settings. `credential` names the setting that makes the provider usable and switches it on when
    `enabled` is set nowhere (the API key, or the endpoint of a self-hosted engine); `url` names its address."""

    prefix: str
    settings: tuple[Declared, ...]
    credential: str = "api_key"
    url: str = "base_url"

    def get(self, key: str) -> Declared:
        return next(s for s in self.settings if s.key == key)


def declare(
    prefix: str,
    label: str,
    *,
    url_key: str = "base_url",
    url_default: str = "",
    url_help: str = "",
    key_env: str = "",
    key_help: str = "",
    credential: str = "api_key",
    timeout: int = 120,
    extra: tuple[Declared, ...] = (),
) -> ProviderDeclaration:
    """The settings every provider has — enabled, a key, an address, a timeout — plus any of its own."""
    where = "endpoint URL" if url_key == "endpoint" else "base URL"
    enabled_help = (
        f"Default: on when the {where} is set."
        if credential == url_key
        else "Default: on when the API key is set."
    )
    settings = (
        Declared("enabled", "bool", f"{label} enabled", None, help=enabled_help),
        Declared("api_key", "secret", f"{label} API key", "", env=key_env, help=key_help),
        Declared(url_key, "url", f"{label} {where}", url_default, help=url_help),
        Declared(
            "timeout", "seconds", f"{label} request timeout", timeout, help=f"Seconds. Default {timeout}."
        ),
        *extra,
    )
    return ProviderDeclaration(prefix=prefix, settings=settings, credential=credential, url=url_key)


__all__ = ["Declared", "Kind", "ProviderDeclaration", "declare"]
