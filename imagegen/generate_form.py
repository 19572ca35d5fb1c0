"""The Generate Image form: the options the chosen model allows and nothing else, validated against its rules.

The form is built for one provider and model at a time. Changing either re-renders the form (htmx, or the
"Update options" button without JavaScript), so a writer never sees a size or quality the model would refuse.
Its option fields come from imagegen.options, where each option is declared once; `manage.py imagegen generate`
validates through this same form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.validators import MaxLengthValidator

from projects.mentions import mentioned
from projects.models import Element, Project

from . import costs
from . import options as generation_options
from .catalog import ModelOption, ModelSpec
from .portraits import PortraitPlan, plan_portraits
from .prompts import ComposedPrompt, Role, compose_prompt
from .providers import PROVIDERS, provider_label
from .services import GenerationOptions
from .sizes import PRESET_BY_KEY, fit, offered_sizes, parse_size, size_of

ROLE_CHOICES = [("", "Not in this image"), *Role.CHOICES]
# Present when the dialog showed the portrait switches: an unticked one then means "off". Without it (a form posted
# from elsewhere, the command line) every portrait goes along, as the switches start out.
PORTRAITS_SHOWN = "portraits_shown"

ModelsFor = Callable[[str], Sequence[ModelOption]]
# Illustrate this passage (imagegen/passages.py): the document and paragraph the image is for, carried by the form
# from the opening of the dialog to the job, so the saved image can go right after that paragraph.
DOCUMENT, PARAGRAPH = "document", "paragraph"


def choices_of(field: forms.Field) -> list[tuple[Any, str]]:
    """A choice field's (value, label) pairs. Setting `choices` normalises them to such a list (these forms use no
    groups); django-stubs types the getter as anything `choices=` accepts."""
    return cast("list[tuple[Any, str]]", cast(forms.ChoiceField, field).choices)


def element_field_name(element: Element) -> str:
    return f"element_{element.pk}"


def portrait_field_name(element: Element) -> str:
    return f"element_{element.pk}_image"


def cover_size(spec: ModelSpec) -> str:
    """Of the sizes the dialog offers the model, the ebook cover (1600 × 2560, or the nearest it makes), else the
    upright one nearest its shape; a portrait size when it offers nothing upright."""
    cover = PRESET_BY_KEY["ebook-cover"]
    offered = [value for value, _ in offered_sizes(spec)]
    if (fitted := fit(cover.width, cover.height, spec)) in offered:
        return str(fitted)
    upright = [(v, d) for v in offered if (d := parse_size(v)) and d[1] > d[0]]
    if upright:
        return min(upright, key=lambda pair: abs(pair[1][0] / pair[1][1] - cover.width / cover.height))[0]
    return portrait_size(spec)


def portrait_size(spec: ModelSpec) -> str:
    """The model's own size closest to a 2:3 portrait; else the nearest of the sizes the dialog names for it (a
    book cover …); else its first size, when it makes nothing upright."""
    for sizes in (spec.sizes, [value for value, _ in offered_sizes(spec)]):
        upright = [(v, d) for v in sizes if (d := parse_size(v)) and d[1] > d[0]]
        if upright:
            return min(upright, key=lambda pair: abs(pair[1][0] / pair[1][1] - 2 / 3))[0]
    return spec.initial_size


def provider_field() -> forms.ChoiceField:
    """The service that makes the image, in the writer's word (the CLI keeps `--provider`): every form that offers
    a choice of service (generate, edit, upscale) declares its field with this."""
    return forms.ChoiceField(label="Image service")


class GenerateForm(forms.Form):
    # What the form asks for (imagegen.options.GENERATE or .EDIT): it decides which options are offered.
    operation = generation_options.GENERATE
    provider = provider_field()
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
        initial: MutableMapping[str, Any] | None = None,
        portrait_for: Element | None = None,
        cover: bool = False,  # Generate cover: it starts at a cover size
    ) -> None:
        super().__init__(data, initial=initial)
        self.project = project
        # Generate portrait: the element this image is for (it starts as the Subject, at a portrait size).
        self.portrait_for = portrait_for
        self.elements = list(Element.objects.filter(project=project).order_by("kind", "name"))
        # The project's house style goes along as Style unless the writer says otherwise (then its role is in
        # the data, as "Not in this image"); only while it is still a Style element.
        self.house_style = next(
            (e for e in self.elements if e.pk == project.house_style_id and e.kind == Element.Kind.STYLE),
            None,
        )
        self.composed: ComposedPrompt | None = None

        source = data if data is not None else (initial or {})
        provider = source.get("provider") if source.get("provider") in providers else default_provider
        provider = provider or (providers[0] if providers else "")
        cast(forms.ChoiceField, self.fields["provider"]).choices = [(p, provider_label(p)) for p in providers]
        # The resolved provider wins over a stale one (Try again on a job whose provider is now off): with a
        # single provider the field is hidden, and an error on a hidden field would make Generate do nothing.
        self.initial = {**self.initial, "provider": provider}
        if len(providers) <= 1:
            self.fields["provider"].widget = forms.HiddenInput()
            if data is not None and data.get("provider") != provider:
                self.data = data.copy() if hasattr(data, "copy") else dict(data)
                self.data["provider"] = provider
        self.provider_id = provider

        self.model_options = self.offered_models(list(models_for(provider))) if provider else []
        usable = [m for m in self.model_options if m.available]
        self.unavailable_models = [m for m in self.model_options if not m.available]
        self.catalog_note = next((m.note for m in self.model_options if m.note), "")
        model_id = source.get("model")
        if not any(m.id == model_id for m in usable):
            # After a provider change the old model is not this provider's: start on its preferred one, not the oldest.
            model_id = PROVIDERS[provider].preferred_model if provider in PROVIDERS else ""
        self.spec = next((m for m in usable if m.id == model_id), usable[0] if usable else None)
        cast(forms.ChoiceField, self.fields["model"]).choices = [
            (m.id, m.label) for m in usable if m.in_menu or m is self.spec
        ]
        self.fields["model"].initial = self.spec.id if self.spec else None
        if self.spec is not None:
            self._add_model_fields(self.spec)
            self._size_as_custom()
        self._add_element_fields()
        self._add_passage_fields(source)
        self._drop_stale_initial()
        if (
            (portrait_for or cover)
            and self.spec
            and not self.is_bound
            and "size" in self.fields
            and "size" not in self.initial
        ):
            self.initial["size"] = cover_size(self.spec) if cover else portrait_size(self.spec)

    def offered_models(self, models: list[ModelOption]) -> list[ModelOption]:
        """The provider's models as this form offers them (an edit form withholds those that cannot edit)."""
        return models

    def _size_as_custom(self) -> None:
        """A size given as WxH that is not among the named ones (Generate again, a link, the command line) is a
        custom size: select "Custom size…" with it filled in, so it is checked against the model's rule."""
        field = self.fields.get("size")
        source = self.data if self.is_bound else self.initial
        size = source.get("size")
        if not isinstance(field, forms.ChoiceField) or not size or "custom_size" not in self.fields:
            return
        if str(size) in {str(v) for v, _ in choices_of(field)}:
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
            offered = {str(value) for value, _ in choices_of(field)}
            if str(self.initial[name]) not in offered:
                del self.initial[name]

    # --- fields the model allows ---------------------------------------------------------------------------

    def _add_model_fields(self, spec: ModelOption) -> None:
        # The writer's words are never cut, so a prompt over the model's limit is an error, not a truncation.
        cast(forms.CharField, self.fields["prompt"]).max_length = spec.max_prompt_chars
        self.fields["prompt"].validators.append(
            MaxLengthValidator(
                spec.max_prompt_chars,
                message=f"The prompt is %(show_value)d characters; {spec.label} takes at most %(limit_value)d.",
            )
        )
        self.fields["prompt"].widget.attrs["maxlength"] = spec.max_prompt_chars
        self.fields.update(generation_options.form_fields(spec, self.operation))

    def _add_element_fields(self) -> None:
        for element in self.elements:
            self.fields[element_field_name(element)] = forms.ChoiceField(
                label=element.name, choices=ROLE_CHOICES, required=False
            )
            if element.image_id:
                # The per-element switch: its portrait goes along (as Subject or Reference) unless turned off.
                self.fields[portrait_field_name(element)] = forms.BooleanField(
                    label=f"Send {element.name}'s image", required=False, initial=True
                )
        if self.house_style is not None:
            # Absent means the default, so the command line and a link get it too; the dialog always sends the
            # role, so "Not in this image" there leaves it out.
            name = element_field_name(self.house_style)
            if self.is_bound and name not in self.data:
                self.data = self.data.copy() if hasattr(self.data, "copy") else dict(self.data)
                self.data[name] = Role.STYLE
            elif not self.is_bound:
                self.initial = {**self.initial}
                self.initial.setdefault(name, Role.STYLE)
        if not self.is_bound and PORTRAITS_SHOWN in self.initial:
            # A refresh: the previous form's switches as they were (an unticked box is simply absent).
            self.initial = {
                **self.initial,
                **{portrait_field_name(e): portrait_field_name(e) in self.initial for e in self.elements},
            }

    def _add_passage_fields(self, source: Mapping[str, Any]) -> None:
        if not source.get(DOCUMENT):
            return
        hidden = forms.HiddenInput()
        self.fields[DOCUMENT] = forms.IntegerField(required=False, min_value=1, widget=hidden)
        self.fields[PARAGRAPH] = forms.IntegerField(
            required=False, min_value=1, max_value=1_000_000, widget=hidden
        )

    def passage_target(self) -> dict[str, Any]:
        """The job's fields naming the paragraph it illustrates (none when the dialog was not opened on one, or
        the document is not this project's)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        document_id, paragraph = data.get(DOCUMENT), data.get(PARAGRAPH)
        document = (
            self.project.documents.filter(pk=document_id).first() if document_id and paragraph else None
        )
        return {"target_document": document, "target_paragraph": paragraph} if document else {}

    # --- helpers for the template ------------------------------------------------------------------------

    @property
    def option_fields(self) -> list[forms.BoundField]:
        """The option fields shown in the Options box (the negative prompt sits under the prompt instead)."""
        skip = {"provider", "model", "prompt", "negative_prompt", DOCUMENT, PARAGRAPH, *self.own_fields}
        return [self[name] for name in self.fields if name not in skip and not name.startswith("element_")]

    # Fields a subclass shows in a place of its own rather than among the options (an edit's mask).
    own_fields: tuple[str, ...] = ()

    @property
    def element_rows(self) -> list[tuple[Element, forms.BoundField, forms.BoundField | None]]:
        """Each element with its role, and its portrait switch where it has an image and the model takes images."""
        takes_images = bool(self.portrait_limit)
        return [
            (
                element,
                self[element_field_name(element)],
                self[portrait_field_name(element)] if element.image_id and takes_images else None,
            )
            for element in self.elements
        ]

    @property
    def is_passage(self) -> bool:
        return DOCUMENT in self.fields

    @property
    def mentions(self) -> list[tuple[Element, list[str], str]]:
        """The elements the passage names (by name or alias), with the words that named each and its role so far,
        so the writer sees what was found and can change it (shown when the dialog was opened on a passage)."""
        if not self.is_passage:
            return []
        data = self.data if self.is_bound else self.initial
        found = mentioned(str(data.get("prompt") or ""), self.elements)
        labels = dict(ROLE_CHOICES)

        def other_words(element: Element, words: list[str]) -> list[str]:
            # "as “the Drowned Library”" says nothing when those are its name's own words.
            name = " ".join(element.name.casefold().split())
            return [w for w in words if " ".join(w.casefold().split()) != name]

        return [
            (
                element,
                other_words(element, words),
                labels.get(data.get(element_field_name(element)) or "", ""),
            )
            for element, words in found.items()
        ]

    @property
    def shows_portrait_switches(self) -> bool:
        return any(switch is not None for _, _, switch in self.element_rows)

    def chosen_elements(self) -> list[tuple[Element, str]]:
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return [
            (e, source.get(element_field_name(e)) or "")
            for e in self.elements
            if source.get(element_field_name(e))
        ]

    # --- validation --------------------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
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
            value = self.data.get(option.name)
            if option.offered_for(self.spec, self.operation) or value in (None, ""):
                continue
            if self.operation in option.operations:
                self.add_error(None, option.problem(self.spec, value))
            else:  # e.g. a size for an edit
                why = " (an edit keeps the image's own size)" if option.name == "size" else ""
                self.add_error(None, f"{option.label} does not apply here{why}.")
        prompt = (cleaned.get("prompt") or "").strip()
        if "prompt" in cleaned and not prompt:
            self.add_error("prompt", self.fields["prompt"].error_messages["required"])
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
            return value if str(value) in {str(v) for v, _ in choices_of(field)} else field.initial
        return value if value not in (None, "") else field.initial

    @property
    def estimated_cost(self) -> Decimal | None:
        """The estimate for the options as chosen so far (the live estimate, and the job's once valid)."""
        if self.spec is None:
            return None
        size = self.current_size()
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
            input_images=self.input_image_count(),
        )

    def current_size(self) -> str:
        """The size as chosen so far, exactly as the job will ask for it, for the estimate: once the form is valid,
        its cleaned size; before, a custom one read as the rule reads it ("1600 × 2560" is 1600x2560)."""
        assert self.spec is not None
        if (
            self.is_bound
            and hasattr(self, "cleaned_data")
            and not self.errors
            and "size" in self.cleaned_data
        ):
            return str(generation_options.SIZE.value(self.cleaned_data) or self.spec.initial_size)
        size = self._current("size")
        if isinstance(size, str):
            size = size_of(size)
        if size == generation_options.CUSTOM:
            dims = generation_options.parse_size_text(str(self._current("custom_size") or ""))
            size = f"{dims[0]}x{dims[1]}" if dims else self.spec.initial_size
        return str(size or self.spec.initial_size)

    def input_image_count(self) -> int:
        """Images sent with the request (they are priced too): the portraits that go along."""
        return len(self.portrait_plan().sent)

    # --- portraits (imagegen/portraits.py) -------------------------------------------------------------------

    @property
    def portrait_limit(self) -> int:
        """How many images the chosen model takes (0: none, so no portrait goes along)."""
        return self.spec.max_input_images if self.spec is not None else 0

    def _roles_so_far(self) -> list[tuple[Element, str]]:
        data = self.data if self.is_bound else self.initial
        return [(e, data.get(element_field_name(e)) or "") for e in self.elements]

    def sends_portrait(self, element: Element) -> bool:
        """The element's switch: on unless the dialog showed it and the writer turned it off."""
        data = self.data if self.is_bound else self.initial
        if PORTRAITS_SHOWN not in data:
            return True
        value = data.get(portrait_field_name(element))
        return value not in (None, "", False, "false", "off", "0")

    def portrait_plan(self) -> PortraitPlan:
        return plan_portraits(
            self._roles_so_far(),
            wanted=self.sends_portrait,
            model_limit=self.portrait_limit,
            **self.portrait_plan_context(),
        )

    def portrait_plan_context(self) -> dict[str, Any]:
        return {}

    @property
    def portrait_summary(self) -> str:
        if self.spec is None:
            return ""
        return self.portrait_plan().summary(self.spec.label, edit=self.operation == generation_options.EDIT)

    @property
    def is_free(self) -> bool:
        return self.spec is not None and costs.estimate_cost(self.spec, size=self.spec.initial_size) == 0

    def options(self) -> GenerationOptions:
        """The validated request, for services.job_create."""
        data = self.cleaned_data
        assert self.spec is not None
        values = generation_options.values_from(self.spec, data, self.operation)
        return GenerationOptions(
            provider=self.provider_id,
            model=self.spec.id,
            prompt=data["prompt"].strip(),
            size=values.pop("size", None) or self.current_size(),
            count=values.pop("count"),
            values=values,
            elements=self.chosen_elements(),
            max_input_images=self.spec.max_input_images,
            send_images=self.portrait_plan().sent_ids,
        )
