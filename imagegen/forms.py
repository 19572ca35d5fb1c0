"""The admin form for the AI Image Generation settings.

Keys are write-only: the form has a password input per key (`<field>_new`, never rendered with a value) and a
"Remove saved key" checkbox (`<field>_remove`). The model's key fields are not on the form at all, so a blank input
cannot overwrite a saved key and no widget ever receives the key to render.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from imagegen.config import MASK, SPECS, InvalidValue, parse, resolve
from imagegen.key_guard import key_saved, keys_left_behind
from imagegen.models import ImageGenerationSettings

# model field -> CLI/spec name
KEY_FIELDS = {spec.field: spec.name for spec in SPECS if spec.secret}
BOOL_FIELDS = [spec.field for spec in SPECS if spec.kind == "bool"]
URL_FIELDS = [spec.field for spec in SPECS if spec.kind == "url"]


class ThreeWaySelect(forms.NullBooleanSelect):
    """use environment / on / off, for a nullable boolean."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "Use environment"), ("true", "On"), ("false", "Off")]


def _key_input(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.PasswordInput(
            render_value=False,
            # new-password: stop the browser from filling in the admin's own login password.
            attrs={"autocomplete": "new-password", "spellcheck": "false", "class": "vTextField"},
        ),
    )


def _remove_checkbox() -> forms.BooleanField:
    return forms.BooleanField(label="Remove saved key", required=False)


class ImageGenerationSettingsForm(forms.ModelForm):
    openai_api_key_new = _key_input("OpenAI API key")
    openai_api_key_remove = _remove_checkbox()
    openrouter_api_key_new = _key_input("OpenRouter API key")
    openrouter_api_key_remove = _remove_checkbox()
    sd_api_key_new = _key_input("Stable Diffusion API key")
    sd_api_key_remove = _remove_checkbox()

    class Meta:
        model = ImageGenerationSettings
        # The key fields are left off on purpose: keys come in through the write-only inputs above.
        fields = [spec.field for spec in SPECS if not spec.secret]
        widgets = {
            **{name: ThreeWaySelect() for name in BOOL_FIELDS},
            **{name: forms.URLInput(attrs={"class": "vURLField"}) for name in URL_FIELDS},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Resolved from the saved row (not yet touched by this POST), so "now" means what is in effect now.
        effective = resolve(self.instance)
        for setting in effective.settings():
            name = f"{setting.spec.field}_new" if setting.spec.secret else setting.spec.field
            if name not in self.fields:
                continue
            field = self.fields[name]
            field.help_text = format_html(
                '{}<span class="imagegen-effective">Now: {}</span>',
                format_html("{}<br>", field.help_text) if field.help_text else "",
                setting.display(),
            )
        for model_field in KEY_FIELDS:
            if key_saved(getattr(self.instance, model_field)):
                # The mask is a placeholder: the input itself stays empty and blank means "keep the saved key".
                self.fields[f"{model_field}_new"].widget.attrs["placeholder"] = MASK

    @sensitive_variables()
    def _clean_key(self, model_field: str) -> str:
        value = self.cleaned_data.get(f"{model_field}_new", "")
        if value:
            try:
                return parse(next(s for s in SPECS if s.field == model_field), value)
            except InvalidValue as e:
                message = str(e)
                raise forms.ValidationError(f"{message[:1].upper()}{message[1:]}.", code="invalid") from None
        return value

    def clean_openai_api_key_new(self) -> str:
        return self._clean_key("openai_api_key")

    def clean_openrouter_api_key_new(self) -> str:
        return self._clean_key("openrouter_api_key")

    def clean_sd_api_key_new(self) -> str:
        return self._clean_key("sd_api_key")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # A changed base URL or endpoint must not take a saved key along unasked (imagegen/key_guard.py).
        after = copy.copy(self.instance)
        for name in URL_FIELDS:
            if name in cleaned:
                setattr(after, name, cleaned[name])
        given = [
            spec_name
            for field, spec_name in KEY_FIELDS.items()
            # A key typed but refused has its own error; repeating "enter the key again" beside it would mislead.
            if cleaned.get(f"{field}_new") or cleaned.get(f"{field}_remove") or self.has_error(f"{field}_new")
        ]
        for left in keys_left_behind(self.instance, after, keys_given=given):
            self.add_error(left.url_field, left.message)
        return cleaned

    @sensitive_variables()
    def save(self, commit: bool = True) -> ImageGenerationSettings:
        for model_field in KEY_FIELDS:
            new = self.cleaned_data.get(f"{model_field}_new")
            if new:
                setattr(self.instance, model_field, new)
            elif self.cleaned_data.get(f"{model_field}_remove"):
                setattr(self.instance, model_field, None)
            # else: blank keeps whatever is saved, including a key that can no longer be decrypted.
        return super().save(commit)
