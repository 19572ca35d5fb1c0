"""Django admin for model prices: every known model's price with where it comes from and how old it is, and the
admin's own prices (overrides) for a model or a whole family. Gateways charge differently and prices move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from . import costs, pricing
from .catalog import ModelSpec
from .models import GenerationJob, ModelPrice
from .providers import PROVIDERS, model_spec, provider_label


@dataclass(frozen=True)
class PriceRow:
    provider: str
    model: str  # the id or family key an override would name
    label: str
    price: str
    source: str
    as_of: date | None
    override_url: str  # change the admin's price, or add one prefilled


def _known_specs() -> list[ModelSpec]:
    """One spec per model we can say something about: each family's known members (or the family itself), the
    built-in fallbacks, and every model used by a job in the last year."""
    specs: dict[tuple[str, str], ModelSpec] = {}
    for pid, cls in PROVIDERS.items():
        for family in cls.families:
            for model_id in family.known_ids or ():
                if (spec := family.spec_for(model_id)) is not None:
                    specs[(pid, model_id)] = spec
        for model_id in getattr(cls, "fallback_ids", ()):
            if (spec := cls.spec_for(model_id)) is not None:
                specs[(pid, model_id)] = spec
    used = GenerationJob.objects.values_list("provider", "model").distinct().order_by()
    for pid, model_id in used:
        if (pid, model_id) not in specs and (spec := model_spec(pid, model_id)) is not None:
            specs[(pid, model_id)] = spec
    return sorted(specs.values(), key=lambda s: (list(PROVIDERS).index(s.provider_id), s.family, s.id))


def prices_in_force() -> list[PriceRow]:
    overrides = {(p.provider, p.model): p for p in ModelPrice.objects.all()}
    rows = []
    for spec in _known_specs():
        price = costs.price_of(spec)
        own = overrides.get((spec.provider_id, spec.id)) or overrides.get((spec.provider_id, spec.family))
        if own is not None:
            url = reverse("admin:imagegen_modelprice_change", args=[own.pk])
        else:
            query = urlencode({"provider": spec.provider_id, "model": spec.family or spec.id})
            url = f"{reverse('admin:imagegen_modelprice_add')}?{query}"
        rows.append(
            PriceRow(
                provider=provider_label(spec.provider_id),
                model=spec.id,
                label=spec.label,
                price=pricing.describe(price),
                source=getattr(price, "source", "") or ("nobody has published one" if price is None else ""),
                as_of=getattr(price, "as_of", None),
                override_url=url,
            )
        )
    return rows


class ModelPriceForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=[(pid, cls.label) for pid, cls in PROVIDERS.items()])

    class Meta:
        model = ModelPrice
        fields = ["provider", "model", "kind", "per_image", "text_in", "image_in", "image_out", "note"]


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    form = ModelPriceForm
    list_display = ("model", "provider_name", "kind", "price", "note", "updated_at", "updated_by")
    list_filter = ("provider", "kind")
    search_fields = ("model", "note")
    readonly_fields = ("updated_at", "updated_by")
    change_list_template = "admin/imagegen/modelprice/change_list.html"

    @admin.display(description="provider", ordering="provider")
    def provider_name(self, price: ModelPrice) -> str:
        return provider_label(price.provider)

    @admin.display(description="price")
    def price(self, price: ModelPrice) -> str:
        return pricing.describe(price.as_price())

    def save_model(self, request: HttpRequest, obj: ModelPrice, form: forms.ModelForm, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]  # admin requests are signed in
        super().save_model(request, obj, form, change)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "prices_in_force": prices_in_force()}
        return super().changelist_view(request, extra_context)
