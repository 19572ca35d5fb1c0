"""The Generate Image form: the options the chosen model allows and nothing else, validated against its rules.

The form is built for one provider and model at a time. Changing either re-renders the form (htmx, or the
"Update options" button without JavaScript), so a writer never sees a size or quality the model would refuse.
Its option fields come from imagegen.options, where each option is declared once; `manage.py imagegen generate`
validates through this same form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator

from projects.models import Element, Project

from . import costs
from . import options as generation_options
from .catalog import ModelOption
from .prompts import ComposedPrompt, Role, compose_prompt
from .providers import PROVIDERS, provider_label
from .services import GenerationOptions

ROLE_CHOICES = [("", "Not used"), *Role.CHOICES]

ModelsFor = Callable[[str], Sequence[ModelOption]]


def element_field_name(element: Element) -> str:
    return f"element_{element.pk}"


class GenerateForm(forms.Form):
    provider = forms.ChoiceField(label="Provider")
    model = forms.ChoiceField(label="Model")
    prompt = forms.CharField(
        label="Prompt",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "What should the image show?"}),
        help_text="Your words are sent as written; the elements below add context after them.",
        error_messages={"required": "Describe the image you want."},
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
        self.fields["provider"].choices = [(p, provider_label(p)) for p in providers]
        # The resolved provider wins over a stale one (Try again on a job whose provider is now off): with a
        # single provider the field is hidden, and an error on a hidden field would make Generate do nothing.
        self.initial = {**self.initial, "provider": provider}
        if len(providers) <= 1:
            self.fields["provider"].widget = forms.HiddenInput()
            if data is not None and data.get("provider") != provider:
                self.data = data.copy() if hasattr(data, "copy") else dict(data)
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
            model_id = PROVIDERS[provider].preferred_model if provider in PROVIDERS else ""
        self.spec = next((m for m in usable if m.id == model_id), usable[0] if usable else None)
        self.fields["model"].initial = self.spec.id if self.spec else None
        if self.spec is not None:
            self._add_model_fields(self.spec)
            self._size_as_custom()
        self._add_element_fields()
        self._drop_stale_initial()

    def _size_as_custom(self) -> None:
        """A size given as WxH that is not among the named ones (Generate again, a link, the command line) is a
        custom size: select "Custom size…" with it filled in, so it is checked against the model's rule."""
        field = self.fields.get("size")
        source = self.data if self.is_bound else self.initial
        size = source.get("size")
        if not isinstance(field, forms.ChoiceField) or not size or "custom_size" not in self.fields:
            return
        if str(size) in {str(v) for v, _ in field.choices}:
            return
        changed = source.copy() if hasattr(source, "copy") else dict(source)
        changed["size"], changed["custom_size"] = generation_options.CUSTOM, size
        if self.is_bound:
            self.data = changed
        else:
            self.initial = changed

    def _drop_stale_initial(self) -> None:
        """A refresh carries the previous model's choices. One the new model does not offer would leave the browser
        showing its first option (e.g. Low) while the estimate priced the model's default (Medium): drop it."""
        if self.is_bound:
            return
        self.initial = dict(self.initial)
        for name, field in self.fields.items():
            if (
                name in ("provider", "model")
                or not isinstance(field, forms.ChoiceField)
                or name not in self.initial
            ):
                continue
            offered = {str(value) for value, _ in field.choices}
            if str(self.initial[name]) not in offered:
                del self.initial[name]

    # --- fields the model allows ---------------------------------------------------------------------------

    def _add_model_fields(self, spec: ModelOption) -> None:
        # The writer's words are never cut, so a prompt over the model's limit is an error, not a truncation.
        self.fields["prompt"].max_length = spec.max_prompt_chars
        self.fields["prompt"].validators.append(
            MaxLengthValidator(
                spec.max_prompt_chars,
                message=f"The prompt is %(show_value)d characters; {spec.label} takes at most %(limit_value)d.",
            )
        )
        self.fields["prompt"].widget.attrs["maxlength"] = spec.max_prompt_chars
        self.fields.update(generation_options.form_fields(spec))

    def _add_element_fields(self) -> None:
        for element in self.elements:
            self.fields[element_field_name(element)] = forms.ChoiceField(
                label=element.name, choices=ROLE_CHOICES, required=False
            )

    # --- helpers for the template ------------------------------------------------------------------------

    @property
    def option_fields(self) -> list[forms.BoundField]:
        """The option fields shown in the Options box (the negative prompt sits under the prompt instead)."""
        skip = {"provider", "model", "prompt", "negative_prompt"}
        return [self[name] for name in self.fields if name not in skip and not name.startswith("element_")]

    @property
    def element_rows(self) -> list[tuple[Element, forms.BoundField]]:
        return [(element, self[element_field_name(element)]) for element in self.elements]

    def chosen_elements(self) -> list[tuple[Element, str]]:
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return [
            (e, source.get(element_field_name(e)) or "")
            for e in self.elements
            if source.get(element_field_name(e))
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
        try:
            generation_options.clean_size(self.spec, cleaned)
        except forms.ValidationError as error:
            self.add_error(None, error)
        # An option this model does not take must not be dropped silently (a crafted post, the command line).
        for option in generation_options.OPTIONS:
            if not option.offered(self.spec) and self.data.get(option.name) not in (None, ""):
                self.add_error(None, option.problem(self.spec, self.data.get(option.name)))
        prompt = (cleaned.get("prompt") or "").strip()
        if "prompt" in cleaned and not prompt:
            self.add_error("prompt", "Describe the image you want.")
        if prompt:
            self.composed = compose_prompt(
                prompt, self.chosen_elements(), max_chars=self.spec.max_prompt_chars
            )
        return cleaned

    def _current(self, name: str) -> Any:
        """An option's value as chosen so far (valid or not yet), falling back to the field's initial value."""
        field = self.fields.get(name)
        if field is None:
            return None
        data = self.data if self.is_bound else self.initial
        value = data.get(name)
        if isinstance(field, forms.ChoiceField):
            return value if str(value) in {str(v) for v, _ in field.choices} else field.initial
        return value if value not in (None, "") else field.initial

    @property
    def estimated_cost(self) -> Decimal | None:
        """The estimate for the options as chosen so far (the live estimate, and the job's once valid)."""
        if self.spec is None:
            return None
        size = self._current("size")
        if size == generation_options.CUSTOM:
            size = self._current("custom_size") or self.spec.initial_size
        try:
            count = max(1, int(self._current("count") or 1))
        except (TypeError, ValueError):
            return None
        prompt = self.composed.text if self.composed else str(self._current("prompt") or "")
        return costs.estimate_cost(
            self.spec,
            size=str(size),
            quality=str(self._current("quality") or ""),
            count=count,
            prompt_chars=len(prompt),
            input_images=len(self.reference_images()),
        )

    def reference_images(self) -> list[Element]:
        """The Reference elements whose images would go along, within the model's input-image limit."""
        if self.spec is None or not self.spec.max_input_images:
            return []
        data = self.data if self.is_bound else self.initial
        chosen = [
            e for e in self.elements if data.get(element_field_name(e)) == Role.REFERENCE and e.image_id
        ]
        return chosen[: self.spec.max_input_images]

    @property
    def is_free(self) -> bool:
        return self.spec is not None and costs.estimate_cost(self.spec, size=self.spec.initial_size) == 0

    def options(self) -> GenerationOptions:
        """The validated request, for services.job_create."""
        data = self.cleaned_data
        assert self.spec is not None
        values = generation_options.values_from(self.spec, data)
        return GenerationOptions(
            provider=self.provider_id,
            model=self.spec.id,
            prompt=data["prompt"].strip(),
            size=values.pop("size"),
            count=values.pop("count"),
            values=values,
            elements=self.chosen_elements(),
            max_input_images=self.spec.max_input_images,
        )
