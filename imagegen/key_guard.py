"""A key saved in admin goes only where it went when it was entered.

Anyone who may change the settings could otherwise point a provider's base URL (or WebUI endpoint) at a host of
their own, and the saved key would follow with the next request. So changing where a provider's requests go, while
a key is saved in admin for it, needs the key entered again in the same save (or removed). A key from the
environment is the operator's to aim: changing the address then needs nothing more. Admin and `imagegen set` /
`unset` both ask this module.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.views.decorators.debug import sensitive_variables

from .config import PROVIDER_IDS, resolve

if TYPE_CHECKING:
    from .saved_settings import Saved


def key_saved(value: object) -> bool:
    """A key is saved in admin (possibly one that can no longer be decrypted)."""
    return bool(value) or getattr(value, "undecryptable", False)


@dataclass(frozen=True)
class KeyLeftBehind:
    """A provider whose address changes in this save while its saved key would follow unasked."""

    label: str
    url_name: str  # the setting, e.g. "openai.base_url"
    url_field: str  # its form field, e.g. "openai_base_url"
    key_name: str  # e.g. "openai.api_key"

    @property
    def message(self) -> str:
        return (
            f"A key is saved for {self.label}, and changing this address would send it there: enter the key "
            "again in the same save (or remove it)."
        )


@sensitive_variables()
def keys_left_behind(before: Saved, after: Saved, *, keys_given: Collection[str] = ()) -> list[KeyLeftBehind]:
    """Providers whose effective address differs between what is saved and what a save would leave, while a key
    saved in admin is neither re-entered nor removed by that save (`keys_given`: key setting names)."""
    was, will_be = resolve(before), resolve(after)
    found = []
    for pid in PROVIDER_IDS:
        old, new = was.provider(pid), will_be.provider(pid)
        key = old.api_key.spec
        if old.url.value == new.url.value or key.name in keys_given:
            continue
        if key_saved(before.get(key)):
            found.append(KeyLeftBehind(old.label, old.url.spec.name, old.url.spec.field, key.name))
    return found
