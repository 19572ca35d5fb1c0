"""The settings an admin saved: all of them read at once for the effective configuration, and one written at a time.

Global settings are columns of the settings singleton; each provider's are ProviderSetting rows (key → text, keys
encrypted), whatever the provider, so adding one needs no migration. Reading costs two queries.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from .models import ImageGenerationSettings, ProviderSetting
from .setting_specs import SPECS, InvalidValue, Spec, parse

logger = logging.getLogger(__name__)


@dataclass
class Saved:
    """What an admin saved: the singleton row (global settings) and provider settings by setting name."""

    row: ImageGenerationSettings
    # repr=False: the values include keys, and a repr ends up in logs and error reports.
    values: dict[str, Any] = field(default_factory=dict, repr=False)

    def get(self, spec: Spec) -> Any:
        """The admin's value, or None / "" when the admin left it to the environment."""
        if spec.provider:
            return self.values.get(spec.name)
        return getattr(self.row, spec.field)


_BY_STORAGE = {(s.provider, s.key): s for s in SPECS if s.provider}


def _decode(spec: Spec, stored: ProviderSetting) -> Any:
    if spec.secret:
        return stored.secret  # the key, or an UndecryptableKey that says it can no longer be read
    try:
        return parse(spec, stored.value)
    except InvalidValue as err:
        # Saved under other rules (an older version): left to the environment, and said in the log.
        logger.warning("Ignoring the saved value of %s: %s", spec.name, err)
        return None


def _encode(spec: Spec, value: Any) -> str:
    if spec.kind == "bool":
        return "true" if value else "false"
    if spec.kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def load_saved(row: ImageGenerationSettings | None = None) -> Saved:
    if row is None:
        # No row yet means nothing set in admin; reading must not write, so use an unsaved blank one.
        row = ImageGenerationSettings.objects.filter(pk=ImageGenerationSettings.SINGLETON_PK).first()
        row = row or ImageGenerationSettings()
    values = {}
    for stored in ProviderSetting.objects.all():
        spec = _BY_STORAGE.get((stored.provider, stored.key))
        if spec is not None:  # a provider that has since been removed from the registry: its rows wait unused
            values[spec.name] = _decode(spec, stored)
    return Saved(row, values)


@sensitive_variables()
def save_value(spec: Spec, value: Any) -> None:
    """Save an admin's value for one setting (already validated); None or "" clears it (the environment applies)."""
    if not spec.provider:
        row = ImageGenerationSettings.load()
        setattr(row, spec.field, value)
        row.save(update_fields=[spec.field, "updated_at"])
        return
    with transaction.atomic():
        rows = ProviderSetting.objects.filter(provider=spec.provider, key=spec.key)
        if value is None or (value == "" and not getattr(value, "undecryptable", False)):
            rows.delete()
            return
        stored = rows.select_for_update().first() or ProviderSetting(provider=spec.provider, key=spec.key)
        if spec.secret:
            stored.secret, stored.value = value, ""
        else:
            stored.value, stored.secret = _encode(spec, value), None
        stored.save()
