"""MediaItem: one image in a project's library, uploaded by a writer or generated.

Files are private. They are stored through Django's default storage under ``media/<project id>/`` and are only ever
served by `media_library.views.serve_file` / `serve_thumbnail`, which check project access.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from .images import format_of


class MediaItem(models.Model):
    class Origin(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        GENERATED = "generated", "Generated"

    class Operation(models.TextChoices):
        """How a version was made from its source (media_library/versions.py). An original has none."""

        ORIGINAL = "", "Original"
        EDIT = "edit", "Edit"
        VARIATION = "variation", "Variation"
        UPSCALE = "upscale", "Upscale"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="media_items")
    file = models.FileField(max_length=300)
    # WebP, long side at most 320 px. The Media grid only ever loads these.
    thumbnail = models.FileField(max_length=300)
    thumbnail_width = models.PositiveIntegerField(default=0)
    thumbnail_height = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField("bytes")
    # SHA-256 of the stored file: the same picture uploaded twice to a project is stored once.
    sha256 = models.CharField("SHA-256", max_length=64)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.UPLOADED)
    title = models.CharField(max_length=200, blank=True)
    alt_text = models.CharField(
        "alt text", max_length=500, blank=True, help_text="Describes the image for people who cannot see it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Filled for generated images. Keys (all optional):
    #   prompt (the writer's prompt), composed_prompt (what was sent), provider, provider_label, model, size, seed,
    #   options (dict of the other options), elements ([{"id", "name", "kind", "role"}, ...]), job_id.
    generation = models.JSONField(default=dict, blank=True)
    # Versions: the item this one was made from (an edit, a variation, an upscale), and the first image of its
    # version history, so a history is one indexed query. Both empty for an original. Deleting an item re-links
    # its versions first (versions.relink_before_delete); SET_NULL only covers deletions that skip that.
    source = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    original = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=True
    )
    operation = models.CharField(max_length=10, choices=Operation.choices, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["project", "sha256"], name="media_item_unique_sha256")]
        indexes = [models.Index(fields=["project", "-created_at"], name="media_item_project_recent")]

    def __str__(self) -> str:
        return self.display_title

    def get_absolute_url(self) -> str:
        return self._url("media:detail")

    @property
    def display_title(self) -> str:
        return self.title or f"Image {self.pk}"

    @property
    def is_generated(self) -> bool:
        return self.origin == self.Origin.GENERATED

    @property
    def extension(self) -> str:
        return format_of(self.content_type).extension

    @property
    def format_label(self) -> str:
        return format_of(self.content_type).label

    def _url(self, name: str) -> str:
        return reverse(name, kwargs={"slug": self.project.slug, "pk": self.pk})

    def file_url(self) -> str:
        return self._url("media:file")

    def thumbnail_url(self) -> str:
        return self._url("media:thumbnail")

    def generation_elements(self) -> list[dict[str, Any]]:
        elements = self.generation.get("elements") if isinstance(self.generation, dict) else None
        return [e for e in elements or [] if isinstance(e, dict)]
