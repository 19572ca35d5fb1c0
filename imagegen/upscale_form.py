"""The Upscale form: 2× or 4× with an upscaler the provider lists, for a saved image. The dialog and
`imagegen upscale` both validate through it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings

from . import costs
from .generate_form import choices_of, provider_field
from .prompts import ComposedPrompt
from .providers import PROVIDERS, ProviderError, model_spec, provider_label
from .services import GenerationOptions
from .sizes import print_note
from .sources import EditSource

UpscalersFor = Callable[[str], Sequence[str]]


class UpscaleForm(forms.Form):
    provider = provider_field()
    factor = forms.TypedChoiceField(
        label="Enlarge", coerce=int, widget=forms.RadioSelect, error_messages={"required": "Choose 2× or 4×."}
    )
    upscaler = forms.ChoiceField(
        label="Upscaler",
        required=False,  # blank: the engine's best (the first listed)
        help_text="The upscaler model the engine uses; the first is usually best for illustrations.",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        source: EditSource,
        providers: Sequence[str],
        upscalers_for: UpscalersFor,
        initial: MutableMapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.source = source
        values = data if data is not None else (initial or {})
        provider = values.get("provider") if values.get("provider") in providers else None
        provider = provider or (providers[0] if providers else "")
        self.provider_id = provider
        cast(forms.ChoiceField, self.fields["provider"]).choices = [(p, provider_label(p)) for p in providers]
        self.initial = {**self.initial, "provider": provider}
        if len(providers) <= 1:
            self.fields["provider"].widget = forms.HiddenInput()
        factors = PROVIDERS[provider].upscale_factors if provider else ()
        cast(forms.ChoiceField, self.fields["factor"]).choices = [(f, self._factor_label(f)) for f in factors]
        self.fields["factor"].initial = factors[0] if factors else None
        self.list_error = ""
        names: Sequence[str] = ()
        if provider:
            try:
                names = upscalers_for(provider)
            except ProviderError as err:
                # The error names the service ("… could not be reached"), as a job's errors do.
                self.list_error = f"The list of upscalers could not be fetched: {err.naming(provider_label(provider)).message}"
        cast(forms.ChoiceField, self.fields["upscaler"]).choices = [(n, n) for n in names]
        self.fields["upscaler"].initial = names[0] if names else None

    def _factor_label(self, factor: int) -> str:
        width, height = self.result_size(factor)
        # A cover made at a model's size is upscaled for print: say which trim the result is ready for.
        note = print_note((self.source.width, self.source.height), (width, height))
        return f"{factor}× — {width} × {height} px" + (f", {note}" if note else "")

    def result_size(self, factor: int) -> tuple[int, int]:
        return self.source.width * factor, self.source.height * factor

    def clean_upscaler(self) -> str:
        choices = choices_of(self.fields["upscaler"])
        return self.cleaned_data.get("upscaler") or (choices[0][0] if choices else "")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.list_error:
            # The service's own words say when to try again; they are not said twice.
            raise forms.ValidationError(f"{self.list_error} If it keeps happening, ask an admin.")
        if not choices_of(self.fields["upscaler"]):
            raise forms.ValidationError(
                f"{provider_label(self.provider_id)} lists no upscaler. An admin must install one on the engine."
            )
        factor = cleaned.get("factor")
        if factor:
            width, height = self.result_size(factor)
            if width * height > settings.MEDIA_MAX_PIXELS:
                self.add_error(
                    "factor",
                    f"{factor}× would make {width} × {height} pixels, more than the library keeps "
                    f"({settings.MEDIA_MAX_PIXELS:,}). Choose a smaller factor.",
                )
        return cleaned

    @property
    def composed(self) -> ComposedPrompt:
        return ComposedPrompt(text="", writer_prompt="")

    def options(self) -> GenerationOptions:
        factor = self.cleaned_data["factor"]
        width, height = self.result_size(factor)
        return GenerationOptions(
            provider=self.provider_id,
            model=self.cleaned_data["upscaler"],
            prompt="",
            size=f"{width}x{height}",
            count=1,
            values={"factor": factor},
        )

    @property
    def estimated_cost(self) -> Decimal | None:
        """The engine's price for one image of the result's size: a self-hosted engine is free."""
        upscaler = self.data.get("upscaler") if self.is_bound else self.fields["upscaler"].initial
        spec = model_spec(self.provider_id, str(upscaler or "")) if self.provider_id else None
        if spec is None:
            return None
        factor = self.cleaned_data.get("factor") if hasattr(self, "cleaned_data") else None
        width, height = self.result_size(factor or 2)
        return costs.estimate_cost(spec, size=f"{width}x{height}")
