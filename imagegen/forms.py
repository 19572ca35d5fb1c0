"""The admin form for the AI Image Generation settings, derived from the settings table (imagegen.setting_specs).

Global settings are the singleton's columns; each provider's settings come from its module's declaration and are
saved as ProviderSetting rows. Every field says, under it, the value in effect now and where it comes from.

Keys are write-only: a key has a password input (`<field>_new`, never rendered with a value) and a "Remove saved
key" checkbox (`<field>_remove`). Saved keys never reach a widget, so a blank input cannot overwrite one and no page
can show one. A saved key only goes to the address it was saved for: changing a provider's base URL or endpoint
while a key is saved for it needs the key entered again in the same save.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from imagegen.config import (
    MASK,
    PROVIDER_CHOICES,
    SPECS,
    InvalidValue,
    ProviderConnection,
    Spec,
    display_url,
    parse,
    resolve,
    validate_http_url,
)
from imagegen.key_guard import key_saved, keys_left_behind
from imagegen.models import ImageGenerationSettings
from imagegen.saved_settings import Saved, load_saved, save_value
from imagegen.setting_specs import MAX_COUNT, MAX_SECONDS

PROVIDER_SPECS = [spec for spec in SPECS if spec.provider]
KEY_SPECS = [spec for spec in PROVIDER_SPECS if spec.secret]
# The form inputs that carry keys: never rendered with a value, hidden from error reports.
KEY_INPUTS = [f"{spec.field}_new" for spec in KEY_SPECS]


class ThreeWaySelect(forms.NullBooleanSelect):
    """use environment / on / off, for a nullable boolean."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "Use environment"), ("true", "On"), ("false", "Off")]


def _input_for(spec: Spec) -> dict[str, forms.Field]:
    """The form field(s) of one provider setting, by its kind."""
    common: dict[str, Any] = {"label": spec.label, "required": False, "help_text": spec.help}
    if spec.secret:
        return {
            f"{spec.field}_new": forms.CharField(
                **common,
                widget=forms.PasswordInput(
                    render_value=False,
                    # new-password: stop the browser from filling in the admin's own login password.
                    attrs={"autocomplete": "new-password", "spellcheck": "false", "class": "vTextField"},
                ),
            ),
            f"{spec.field}_remove": forms.BooleanField(label="Remove saved key", required=False),
        }
    if spec.kind == "bool":
        return {spec.field: forms.NullBooleanField(**common, widget=ThreeWaySelect())}
    if spec.kind == "url":
        # Not URLField: its validator rejects host names without a dot, such as a Docker service `sd-webui`.
        return {
            spec.field: forms.CharField(
                **common,
                max_length=500,
                validators=[validate_http_url],
                widget=forms.URLInput(attrs={"class": "vURLField"}),
            )
        }
    if spec.kind in ("seconds", "count"):
        low, high = (1, MAX_SECONDS) if spec.kind == "seconds" else (0, MAX_COUNT)
        return {spec.field: forms.IntegerField(**common, min_value=low, max_value=high)}
    if spec.kind == "choice":
        return {spec.field: forms.ChoiceField(**common, choices=[("", "Use environment"), *spec.choices])}
    # text, json: parsed by the settings table's rules in clean().
    return {
        spec.field: forms.CharField(
            **common, widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"})
        )
    }


def _provider_inputs(specs: Iterable[Spec]) -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for spec in specs:
        fields.update(_input_for(spec))
    return fields


class SettingsForm(forms.ModelForm):
    # The registry's providers; the column itself has no choices, so adding a provider needs no migration.
    default_provider = forms.ChoiceField(
        label="Default provider",
        required=False,
        choices=[("", "Use environment"), *PROVIDER_CHOICES],
        help_text="Used when available; otherwise the first available one.",
    )

    class Meta:
        model = ImageGenerationSettings
        fields = [spec.field for spec in SPECS if not spec.provider]
        widgets = {"enabled": ThreeWaySelect()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saved: Saved = load_saved(self.instance)
        for spec in PROVIDER_SPECS:
            if not spec.secret:
                value = self.saved.get(spec)
                self.initial.setdefault(spec.field, _as_input(spec, value))
        # Resolved from what is saved (not yet touched by this POST), so "now" means what is in effect now.
        effective = resolve(self.saved)
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
        for spec in KEY_SPECS:
            if key_saved(self.saved.get(spec)):
                # The mask is a placeholder: the input itself stays empty and blank means "keep the saved key".
                self.fields[f"{spec.field}_new"].widget.attrs["placeholder"] = MASK

    # --- validation --------------------------------------------------------------------------------------

    @sensitive_variables()
    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for spec in PROVIDER_SPECS:
            name = f"{spec.field}_new" if spec.secret else spec.field
            value = cleaned.get(name)
            saved = self.saved.get(spec)
            if spec.kind == "url" and value and saved and value == display_url(saved) != saved:
                # The address came back as shown, credentials masked: it is the saved one, unchanged.
                cleaned[name] = value = saved
            if spec.kind in ("secret", "text", "json") and value:
                try:
                    cleaned[name] = parse(spec, value)
                except InvalidValue as e:
                    message = str(e)
                    self.add_error(name, f"{message[:1].upper()}{message[1:]}.")
        self._keys_follow_their_address(cleaned)
        self._run_checks(cleaned)
        return cleaned

    @sensitive_variables()
    def _new_value(self, spec: Spec, cleaned: dict[str, Any]) -> Any:
        """What saving would store for a provider setting: None leaves it to the environment."""
        if spec.secret:
            if cleaned.get(f"{spec.field}_new"):
                return cleaned[f"{spec.field}_new"]
            return None if cleaned.get(f"{spec.field}_remove") else self.saved.get(spec)
        value = cleaned.get(spec.field)
        return None if value in ("", None) else value

    @sensitive_variables()
    def _keys_follow_their_address(self, cleaned: dict[str, Any]) -> None:
        """A saved key goes only to the address it was saved for (imagegen/key_guard.py)."""
        given = [
            spec.name
            for spec in KEY_SPECS
            # A key typed but refused has its own error; repeating "enter the key again" beside it would mislead.
            if cleaned.get(f"{spec.field}_new")
            or cleaned.get(f"{spec.field}_remove")
            or self.has_error(f"{spec.field}_new")
        ]
        for left in keys_left_behind(self.saved, self._saved_after(cleaned), keys_given=given):
            if left.url_field not in self.errors:
                self.add_error(left.url_field, left.message)

    def _run_checks(self, cleaned: dict[str, Any]) -> None:
        """Settings that check themselves (e.g. a workflow against the server's nodes) do so when they change."""
        for spec in PROVIDER_SPECS:
            if spec.check is None or spec.field in self.errors:
                continue
            value = self._new_value(spec, cleaned)
            if value is None or value == self.saved.get(spec):
                continue
            problem = spec.check(value, self._connection_after(spec.provider, cleaned))
            if problem:
                self.add_error(spec.field, problem)

    @sensitive_variables()
    def _saved_after(self, cleaned: dict[str, Any]) -> Saved:
        """What would be saved once this form is: the provider settings as this save leaves them."""
        values = {spec.name: self._new_value(spec, cleaned) for spec in PROVIDER_SPECS}
        return Saved(self.saved.row, {name: value for name, value in values.items() if value is not None})

    def _connection_after(self, provider_id: str, cleaned: dict[str, Any]) -> ProviderConnection:
        """The provider's connection as it would be once this form is saved."""
        return resolve(self._saved_after(cleaned)).connection(provider_id)

    # --- saving ------------------------------------------------------------------------------------------

    @sensitive_variables()
    def save(self, commit: bool = True) -> ImageGenerationSettings:
        instance = super().save(commit)
        if commit:
            self.save_provider_settings()
        return instance

    @sensitive_variables()
    def save_provider_settings(self) -> None:
        for spec in PROVIDER_SPECS:
            value = self._new_value(spec, self.cleaned_data)
            if value != self.saved.get(spec) or getattr(value, "undecryptable", False) is not getattr(
                self.saved.get(spec), "undecryptable", False
            ):
                save_value(spec, value)

    def changed_settings(self) -> list[str]:
        """The names of the settings this save changes (for admin's history), never their values."""
        names = [spec.name for spec in SPECS if not spec.provider and spec.field in self.changed_data]
        for spec in PROVIDER_SPECS:
            if self._new_value(spec, self.cleaned_data) != self.saved.get(spec):
                names.append(spec.name)
        return names


def _as_input(spec: Spec, value: Any) -> Any:
    """A saved value as its input shows it: an address's credentials masked (they are secrets too)."""
    if value is None:
        return "" if spec.kind != "bool" else None
    if spec.kind == "url":
        return display_url(value)
    if spec.kind == "json":
        import json

        return json.dumps(value, indent=2, ensure_ascii=False)
    return value


# The form class with every provider's fields declared on it (admin's fieldsets may only name declared fields).
ImageGenerationSettingsForm = type(
    "ImageGenerationSettingsForm",
    (SettingsForm,),
    {**_provider_inputs(PROVIDER_SPECS), "__module__": __name__},
)


__all__ = [
    "KEY_INPUTS",
    "KEY_SPECS",
    "PROVIDER_SPECS",
    "ImageGenerationSettingsForm",
    "SettingsForm",
    "ThreeWaySelect",
    "key_saved",
]
