"""The Generate Image form: the options the chosen model allows and nothing else, validated against the catalog.

The form is built for one provider and model at a time. Changing either re-renders the form (htmx, or the
"Update options" button without JavaScript), so a writer never sees a size or quality the model would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator

from projects.models import Element, Project

from .catalog import ModelOption, parse_size
from .config import PROVIDER_LABELS
from .prompts import ComposedPrompt, Role, compose_prompt
from .services import GenerationOptions

# Sizes offered for self-hosted Stable Diffusion, whose WebUI takes any multiple of 8 within bounds.
SD_SIZES = ("512x512", "768x768", "1024x1024", "512x768", "768x512", "832x1216", "1216x832", "1344x768")
SD_DEFAULT_STEPS = 30
# The limits the dialog and `manage.py imagegen generate` both apply.
MAX_STEPS = 150
MAX_SEED = 2**32 - 1
ROLE_CHOICES = [("", "Not used"), *Role.CHOICES]

ModelsFor = Callable[[str], Sequence[ModelOption]]
# The model a new dialog starts on, where the provider offers it: the current one, not the oldest in the list.
PREFERRED_MODELS = {"openai": "gpt-image-2"}


def _size_label(size: str) -> str:
    if size == "auto":
        return "Auto (the model decides)"
    dims = parse_size(size)
    if not dims:
        return size
    width, height = dims
    shape = "square" if width == height else ("landscape" if width > height else "portrait")
    return f"{width} × {height} ({shape})"


class GenerateForm(forms.Form):
    provider = forms.ChoiceField(label="Provider")
    model = forms.ChoiceField(label="Model")
    prompt = forms.CharField(
        label="Prompt",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "What should the image show?"}),
        help_text="Your words are sent as written; the elements below add context after them.",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        project: Project,
        providers: Sequence[str],
        default_provider: str | None,
        models_for: ModelsFor,
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.project = project
        self.elements = list(Element.objects.filter(project=project).order_by("kind", "name"))
        self.composed: ComposedPrompt | None = None

        source = data if data is not None else (initial or {})
        provider = source.get("provider") if source.get("provider") in providers else default_provider
        provider = provider or (providers[0] if providers else "")
        self.fields["provider"].choices = [(p, PROVIDER_LABELS.get(p, p)) for p in providers]
        # The resolved provider wins over a stale one (Try again on a job whose provider is now off): with a
        # single provider the field is hidden, and an error on a hidden field would make Generate do nothing.
        self.initial = {**self.initial, "provider": provider}
        if len(providers) <= 1:
            self.fields["provider"].widget = forms.HiddenInput()
            if data is not None and data.get("provider") != provider:
                self.data = data.copy()
                self.data["provider"] = provider
        self.provider_id = provider

        self.model_options = list(models_for(provider)) if provider else []
        usable = [m for m in self.model_options if m.available]
        self.unavailable_models = [m for m in self.model_options if not m.available]
        self.catalog_note = next((m.note for m in self.model_options if m.note), "")
        self.fields["model"].choices = [(m.id, m.label) for m in usable]
        model_id = source.get("model")
        if not any(m.id == model_id for m in usable):
            # After a provider change the old model is not this provider's: start on its preferred one, not the oldest.
            model_id = PREFERRED_MODELS.get(provider)
        self.spec = next((m for m in usable if m.id == model_id), usable[0] if usable else None)
        self.fields["model"].initial = self.spec.id if self.spec else None
        if self.spec is not None:
            self._add_model_fields(self.spec)
        self._add_element_fields()
        self._drop_stale_initial()

    def _drop_stale_initial(self) -> None:
        """A refresh carries the previous model's choices. One the new model does not offer would leave the browser
        showing its first option (e.g. Low) while the estimate priced the model's default (Medium): drop it."""
        if self.is_bound:
            return
        self.initial = dict(self.initial)
        for name in ("size", "quality", "style"):
            field = self.fields.get(name)
            offered = (
                {str(value) for value, _ in field.choices} if isinstance(field, forms.ChoiceField) else set()
            )
            if name in self.initial and offered and str(self.initial[name]) not in offered:
                del self.initial[name]

    # --- fields the model allows ---------------------------------------------------------------------------

    def _add_model_fields(self, spec: ModelOption) -> None:
        # The writer's words are never cut, so a prompt over the model's limit is an error, not a truncation.
        self.fields["prompt"].max_length = spec.max_prompt_chars
        self.fields["prompt"].validators.append(MaxLengthValidator(spec.max_prompt_chars))
        self.fields["prompt"].widget.attrs["maxlength"] = spec.max_prompt_chars
        sizes = list(spec.sizes) or [s for s in SD_SIZES if spec.allows_size(s)]
        if spec.size_rule is not None:
            sizes += [s for s in SD_SIZES if s not in sizes and spec.allows_size(s)]
        self.fields["size"] = forms.ChoiceField(
            label="Size", choices=[(s, _size_label(s)) for s in sizes], initial=sizes[0]
        )
        if spec.qualities:
            # Medium is a sensible first choice where offered (and has a known price; "auto" has none).
            default = "medium" if "medium" in spec.qualities else (spec.default_quality or spec.qualities[0])
            self.fields["quality"] = forms.ChoiceField(
                label="Quality", choices=[(q, q.capitalize()) for q in spec.qualities], initial=default
            )
        if spec.styles:
            self.fields["style"] = forms.ChoiceField(
                label="Style", choices=[(s, s.capitalize()) for s in spec.styles], initial=spec.styles[0]
            )
        self.fields["count"] = forms.IntegerField(
            label="Images",
            min_value=1,
            max_value=spec.max_images_per_job,
            initial=1,
            help_text=f"1 to {spec.max_images_per_job}.",
        )
        if spec.negative_prompt:
            self.fields["negative_prompt"] = forms.CharField(
                label="Negative prompt",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What the image should avoid"}),
            )
        if spec.seed:
            self.fields["seed"] = forms.IntegerField(
                label="Seed",
                required=False,
                min_value=0,
                max_value=MAX_SEED,
                help_text="Blank for a random seed; the same seed and settings repeat an image.",
            )
        if spec.steps:
            self.fields["steps"] = forms.IntegerField(
                label="Steps", min_value=1, max_value=MAX_STEPS, initial=SD_DEFAULT_STEPS
            )

    def _add_element_fields(self) -> None:
        for element in self.elements:
            self.fields[f"element_{element.pk}"] = forms.ChoiceField(
                label=element.name, choices=ROLE_CHOICES, required=False
            )

    # --- helpers for the template ------------------------------------------------------------------------

    @property
    def option_fields(self) -> list[forms.BoundField]:
        names = ["size", "quality", "style", "count", "steps", "seed"]
        return [self[name] for name in names if name in self.fields]

    @property
    def element_rows(self) -> list[tuple[Element, forms.BoundField]]:
        return [(element, self[f"element_{element.pk}"]) for element in self.elements]

    def chosen_elements(self) -> list[tuple[Element, str]]:
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return [
            (e, source.get(f"element_{e.pk}") or "") for e in self.elements if source.get(f"element_{e.pk}")
        ]

    # --- validation --------------------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.spec is None:
            raise forms.ValidationError(
                "This provider offers no model you can use right now. Choose another provider, or ask an admin."
            )
        if cleaned.get("model") and cleaned["model"] != self.spec.id:
            self.add_error("model", "Choose one of the models listed.")
        prompt = (cleaned.get("prompt") or "").strip()
        if "prompt" in cleaned and not prompt:
            self.add_error("prompt", "Describe the image you want.")
        if prompt:
            self.composed = compose_prompt(
                prompt, self.chosen_elements(), max_chars=self.spec.max_prompt_chars
            )
        return cleaned

    @property
    def estimated_cost(self) -> Decimal | None:
        """Price × count for the options as chosen so far (the live estimate, and the job's once valid)."""
        if self.spec is None:
            return None
        data = self.data if self.is_bound else self.initial
        size = data.get("size") if data.get("size") in dict(self.fields["size"].choices) else None
        size = size or self.fields["size"].initial
        quality = ""
        if "quality" in self.fields:
            quality = data.get("quality") if data.get("quality") in self.spec.qualities else None
            quality = quality or self.fields["quality"].initial
        try:
            count = int(data.get("count") or self.fields["count"].initial)
        except (TypeError, ValueError):
            return None
        price = self.spec.price(size, quality)
        return price * max(1, count) if price is not None else None

    def options(self) -> GenerationOptions:
        """The validated request, for services.job_create."""
        data = self.cleaned_data
        assert self.spec is not None
        return GenerationOptions(
            provider=self.provider_id,
            model=self.spec.id,
            prompt=data["prompt"].strip(),
            size=data["size"],
            quality=data.get("quality", ""),
            style=data.get("style", ""),
            count=data["count"],
            negative_prompt=(data.get("negative_prompt") or "").strip(),
            seed=data.get("seed"),
            steps=data.get("steps"),
            elements=self.chosen_elements(),
            max_input_images=self.spec.max_input_images,
        )
