"""Warnings about models that are about to retire: the one a new dialog starts on, and any used in the last 30
days, when the upstream's list says it shuts down within 30 days. Each warning names a current model of the same
family to switch to. Admin's settings page and `manage.py imagegen status` show them.

Only `live=True` (status --live) asks the upstreams; otherwise the model lists fetched in the last few minutes
(by a dialog, Test connection or a check) are read from the cache, so opening a page never waits on an upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from .catalog import RETIREMENT_NOTICE, ModelOption
from .config import EffectiveConfig
from .models import GenerationJob
from .providers import PROVIDERS, ProviderError, get_provider

RECENT = timedelta(days=30)


@dataclass(frozen=True)
class RetirementWarning:
    provider_label: str
    model: ModelOption
    successor: ModelOption | None
    why: str  # "the model new generations start on" / "used in the last 30 days"

    def message(self) -> str:
        when = f"{self.model.shutdown_date:%Y-%m-%d}"
        text = f"{self.provider_label}: {self.model.label} ({self.why}) retires on {when}."
        if self.successor is not None:
            return f"{text} Switch to {self.successor.label}, a current model of the same family."
        return f"{text} No current model of its family is offered; choose another model."


def _successor(model: ModelOption, offered: list[ModelOption], today: date) -> ModelOption | None:
    family = [
        m
        for m in offered
        if m.family == model.family and m.id != model.id and m.available and not m.retires_soon(today)
    ]
    return family[0] if family else None  # providers list the family's current names first


def retirement_warnings(
    config: EffectiveConfig, *, live: bool = False, today: date | None = None
) -> list[RetirementWarning]:
    today = today or timezone.now().date()
    since = timezone.now() - RECENT
    warnings: list[RetirementWarning] = []
    for pid in config.available_providers():
        provider = get_provider(pid, config.connection(pid))
        try:
            offered = provider.models() if live else provider.cached_models()
        except ProviderError:
            continue  # the status block already says the provider cannot be reached
        if offered is None:
            continue  # nothing fetched lately; Test connection or status --live will fetch it
        by_id = {m.id: m for m in offered}
        watched: dict[str, str] = {}
        recent = GenerationJob.objects.filter(provider=pid, created_at__gte=since)
        for model_id in recent.values_list("model", flat=True).distinct():
            watched[model_id] = f"used in the last {RECENT.days} days"
        preferred = PROVIDERS[pid].preferred_model
        if preferred:
            watched[preferred] = "the model new generations start on"
        for model_id, why in watched.items():
            model = by_id.get(model_id)
            if model is None or not model.available or not model.retires_soon(today):
                continue
            warnings.append(
                RetirementWarning(config.provider(pid).label, model, _successor(model, offered, today), why)
            )
    return warnings


__all__ = ["RETIREMENT_NOTICE", "RetirementWarning", "retirement_warnings"]
