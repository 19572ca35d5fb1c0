from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile

from projects.models import Document, Element, Project

from .models import MediaItem

ACCEPT = "image/png,image/jpeg,image/webp,image/gif"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field taking one or several files (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    # Django's form metaclass moves declared fields into base_fields, so `self.files` stays the uploaded files.
    files = MultipleFileField(  # type: ignore[assignment]
        label="Images",
        help_text="Choose one image, or several at once.",
        error_messages={"required": "Choose at least one image to upload."},
    )


class MediaItemForm(forms.ModelForm):
    class Meta:
        model = MediaItem
        fields = ["title", "alt_text"]
        widgets = {"alt_text": forms.Textarea(attrs={"rows": 3})}


class MediaFilterForm(forms.Form):
    ORIGINS = [("", "All images"), *MediaItem.Origin.choices]
    origin = forms.ChoiceField(choices=ORIGINS, required=False, label="Show")
    q = forms.CharField(required=False, label="Search", max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(placeholder="Title or prompt", type="search")


class InsertIntoDocumentForm(forms.Form):
    """Which document, and where in it: right after a paragraph (1 is the first), or at the end when none is given.
    The Generate dialog asks both in one menu, `place` ("12" the end of document 12, "12:3" after its third
    paragraph); "Insert after this paragraph" sends `document` and `after_paragraph`."""

    document = forms.ModelChoiceField(queryset=Document.objects.none(), empty_label=None, required=False)
    place = forms.RegexField(regex=r"^[0-9]{1,18}(:[0-9]{1,6})?$", required=False)
    caption = forms.CharField(required=False, max_length=200)
    after_paragraph = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        cast(forms.ModelChoiceField, self.fields["document"]).queryset = Document.objects.filter(
            project=project
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if place := data.get("place"):
            document_id, _, after = place.partition(":")
            data["document"] = Document.objects.filter(project=self.project, pk=int(document_id)).first()
            data["after_paragraph"] = int(after) if after else None
        if not data.get("document"):
            raise forms.ValidationError("Choose one of this project's documents.")
        return data


class SetElementImageForm(forms.Form):
    element = forms.ModelChoiceField(queryset=Element.objects.none(), empty_label=None)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        elements = Element.objects.filter(project=project).order_by("kind", "name")
        cast(forms.ModelChoiceField, self.fields["element"]).queryset = elements
