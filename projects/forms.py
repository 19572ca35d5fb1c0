from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from . import embeds
from .models import Document, Element, Membership, Project


class ProjectForm(forms.ModelForm):
    remove_cover = forms.BooleanField(required=False, label="Remove the cover image")

    class Meta:
        model = Project
        fields = ["title", "description", "house_style"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "description": "A line or two shown on the project's card.",
            "house_style": "Added to every image you generate here, so covers, portraits and scenes match. "
            "You can leave it out of any one generation in the Generate dialog.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this project's Style elements; a new project has none yet, so no choice to offer.
        styles = (
            Element.objects.filter(project=self.instance, kind=Element.Kind.STYLE)
            if self.instance.pk
            else Element.objects.none()
        )
        if styles.exists():
            house_style = self.fields["house_style"]
            assert isinstance(house_style, forms.ModelChoiceField)
            house_style.queryset = styles
            house_style.empty_label = "None"
        else:
            del self.fields["house_style"]
        if not (self.instance.pk and self.instance.cover_id):
            del self.fields["remove_cover"]
        else:
            self.fields["remove_cover"].help_text = "Choose another from the Media tab with “Set as cover”."

    def save(self, commit: bool = True) -> Project:
        if self.cleaned_data.get("remove_cover"):
            self.instance.cover = None
        return super().save(commit=commit)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        self.project = project
        super().__init__(*args, **kwargs)
        self.fields["role"].help_text = "Editors change documents, worldbuilding and media; viewers read."

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise forms.ValidationError(f"There is no one called “{username}” here. Check the spelling.")
        if user.pk == self.project.owner_id:
            raise forms.ValidationError("That is the project's owner, who can already do everything.")
        return user


class DocumentForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["title", "body", "order"]
        widgets = {"body": forms.Textarea(attrs={"rows": 18, "class": "document-body-input"})}
        help_texts = {"body": embeds.HELP_TEXT}

    def clean_body(self) -> str:
        # Browsers send a textarea's lines with CRLF endings; the body is stored with plain newlines.
        return self.cleaned_data["body"].replace("\r\n", "\n").replace("\r", "\n")


class AttributesField(forms.CharField):
    """Ordered key-value pairs as a textarea of "Key: value" lines; order is kept as written."""

    widget = forms.Textarea(attrs={"rows": 6, "placeholder": "Hair: silver\nAge: 25"})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(f"{k}: {v}" for k, v in value)
        return value or ""

    # The text is typed as a CharField's, but the cleaned value is the pairs it spells.
    def to_python(self, value: Any) -> list[list[str]]:  # type: ignore[override]
        pairs: list[list[str]] = []
        for number, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, colon, rest = line.partition(":")
            if not colon or not key.strip():
                raise forms.ValidationError(
                    f"Line {number} (“{line.strip()[:40]}”) needs a name and a colon, like “Hair: silver”."
                )
            pairs.append([key.strip(), rest.strip()])
        return pairs


class AliasesField(forms.CharField):
    """Other names as one line, separated by commas: "Mira, the cartographer". Order kept, repeats dropped."""

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else (value or "")

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # a list field on a text input
        names = [" ".join(part.split()) for part in (value or "").replace("\n", ",").split(",")]
        unique: dict[str, str] = {}
        for name in names:
            if name:
                unique.setdefault(name.casefold(), name)
        for name in unique.values():
            if len(name) > 200:
                raise forms.ValidationError(
                    f"“{name[:40]}…” is too long for a name (at most 200 characters)."
                )
        return list(unique.values())


class ElementForm(forms.ModelForm):
    aliases = AliasesField(
        required=False,
        label="Also called",
        help_text="Other names a passage may use, separated by commas — e.g. <code>Mira, the cartographer</code>. "
        "“Illustrate” in a document finds the element by its name and by these.",
    )
    attributes = AttributesField(
        required=False,
        help_text="One per line, as <code>Key: value</code> — e.g. <code>Hair: silver</code>. The order is kept.",
    )
    remove_image = forms.BooleanField(required=False, label="Remove the image")

    class Meta:
        model = Element
        fields = ["kind", "name", "aliases", "description", "attributes"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (self.instance.pk and self.instance.image_id):
            del self.fields["remove_image"]
        else:
            self.fields["remove_image"].help_text = "Choose another from the Media tab."

    def save(self, commit: bool = True) -> Element:
        if self.cleaned_data.get("remove_image"):
            self.instance.image = None
        return super().save(commit=commit)
