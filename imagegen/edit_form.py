"""The Generate Image dialog in edit mode: an instruction for an image, an optional mask, the models that can edit.

It is the Generate Image form (generate_form.py) with these differences: the prompt is an instruction; only models
that can edit are offered (the others are listed with why); there is no size — the result keeps the image's shape
(Provider.edit_size) — but a strength where the engine takes one; the optional mask comes from the painter (or
`imagegen edit --mask`) as a PNG data URL and is checked against the image (imagegen/masks.py); and the image being
edited is the first of the model's input images, so one place fewer is left for portraits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from . import options as generation_options
from .catalog import AUTO, ModelOption
from .generate_form import GenerateForm, choices_of
from .masks import Mask, MaskRejected, mask_from_png, png_from_data_url
from .providers import PROVIDERS, provider_label
from .sources import EditSource

WHOLE_IMAGE = "The mask marks nothing to repaint, so the whole image will be edited."


class EditForm(GenerateForm):
    operation = generation_options.EDIT
    own_fields = ("mask",)

    def __init__(self, data: Mapping[str, Any] | None = None, *, source: EditSource, **kwargs: Any) -> None:
        self.source = source
        super().__init__(data, **kwargs)
        self.fields["mask"] = forms.CharField(required=False, widget=forms.HiddenInput)
        prompt = self.fields["prompt"]
        prompt.label = "Instruction"
        prompt.help_text = (
            "Say what should change, e.g. “make her hair silver”; the elements add context after it."
        )
        prompt.widget.attrs["placeholder"] = "What should change?"
        prompt.error_messages = {**prompt.error_messages, "required": "Say what should change."}
        providers = [p for p, _ in choices_of(self.fields["provider"])]
        if len(providers) > 1:
            takers = [provider_label(p) for p in providers if PROVIDERS[p].offers_masks]
            others = [provider_label(p) for p in providers if not PROVIDERS[p].offers_masks]
            self.fields["provider"].help_text = f"Take a mask: {', '.join(takers) or 'none'}." + (
                f" {', '.join(others)} change{'s' if len(others) == 1 else ''} the whole image."
                if others
                else ""
            )
        self.mask: Mask | None = None  # the checked mask, once valid; None for a whole-image edit
        self.mask_note = ""

    def offered_models(self, models: list[ModelOption]) -> list[ModelOption]:
        return [
            m
            if m.edits or not m.available
            else m.replace(
                available=False, unavailable_reason=f"{m.label} makes new images but cannot edit one."
            )
            for m in models
        ]

    # --- what the dialog says ----------------------------------------------------------------------------------

    @property
    def mask_models(self) -> list[str]:
        """The offered models that take a mask (the dialog names them)."""
        return [m.label for m in self.model_options if m.available and m.masks]

    @property
    def mask_models_note(self) -> str:
        """Which of the offered models take a mask, in a sentence (all, none, or which)."""
        offered = [m for m in self.model_options if m.available]
        if not offered:
            return ""
        takers = list(dict.fromkeys(self.mask_models))
        if len(self.mask_models) == len(offered):
            return "Every model offered here takes a mask."
        if not takers:
            return "None of the models offered here takes a mask: the whole image may change."
        return f"Models here that take a mask: {', '.join(takers)}; the others change the whole image."

    @property
    def takes_mask(self) -> bool:
        return self.spec is not None and self.spec.masks

    @property
    def result_size(self) -> str:
        """The result's size in words: the edit keeps the image's shape."""
        if self.spec is None:
            return ""
        size = self.current_size()
        if size == AUTO:
            return "The model chooses the result's size, close to the image's shape."
        width, _, height = size.partition("x")
        same = size == f"{self.source.width}x{self.source.height}"
        return f"The result will be {width} × {height} pixels{' (the same size)' if same else ''}."

    # --- the form's rules ------------------------------------------------------------------------------------

    def current_size(self) -> str:
        assert self.spec is not None
        return PROVIDERS[self.provider_id].edit_size(self.spec, self.source.width, self.source.height)

    def input_image_count(self) -> int:
        return super().input_image_count() + 1  # the image being edited goes up too (and is priced as input)

    def portrait_plan_context(self) -> dict[str, Any]:
        return {"edit": True, "exclude_item": self.source.item_id}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        text = (cleaned.get("mask") or "").strip()
        if not text or self.spec is None:
            return cleaned
        if not self.spec.masks:
            others = ", ".join(self.mask_models) or "none of the models offered here"
            self.add_error(
                "mask",
                f"{self.spec.label} takes no mask: the whole image may change. Clear the mask, or choose a model "
                f"that takes one ({others}).",
            )
            return cleaned
        try:
            self.mask = mask_from_png(png_from_data_url(text), size=(self.source.width, self.source.height))
        except MaskRejected as rejected:
            self.add_error("mask", str(rejected))
            return cleaned
        if self.mask is None:
            self.mask_note = WHOLE_IMAGE
        return cleaned

    def edit_details(self) -> dict[str, Any]:
        """What the job records of this edit beyond its options (shown on the job and on the version's page)."""
        plan = self.portrait_plan()
        details: dict[str, Any] = {
            "source_title": self.source.title,
            "source_size": [self.source.width, self.source.height],
            "mask": "painted" if self.mask else ("empty" if self.mask_note else "none"),
            "portraits": [e.name for e in plan.sent],
            "portraits_left_out": [e.name for e in plan.left_out],
        }
        if self.mask is not None:
            details["repaint_fraction"] = round(self.mask.repaint_fraction, 4)
        return details
