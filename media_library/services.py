"""Workflows on media items that touch storage and other models. Views and other features call these.

* `media_item_create_from_bytes` — decode, check, normalise and store an upload.
* `media_item_create` — store an image decoded once already (a generated image, from its candidate).
* `media_item_references` — where an item is used: the project cover, elements, documents.
* `media_item_delete` — delete an item, clearing every reference to it and re-linking its versions first.
* `media_item_set_cover`, `media_item_set_element_image`, `media_item_insert_into_document`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from projects import embeds
from projects.models import Document, Element, Project

from . import versions
from .images import ImageRejected, ProcessedImage, process_image
from .models import MediaItem

__all__ = [
    "ImageRejected",
    "MediaReferences",
    "media_item_create",
    "media_item_create_from_bytes",
    "media_item_delete",
    "media_item_insert_into_document",
    "media_item_references",
    "media_item_set_cover",
    "media_item_set_element_image",
]

logger = logging.getLogger(__name__)


def _storage_names(project: Project, sha256: str, extension: str) -> tuple[str, str]:
    # Named by content hash, grouped per project, so a name never reveals a writer's file name.
    base = f"media/{project.pk}"
    return f"{base}/{sha256[:2]}/{sha256}.{extension}", f"{base}/thumbs/{sha256}.webp"


def media_item_create_from_bytes(
    *, project: Project, data: bytes, max_bytes: int | None = None, **fields: Any
) -> tuple[MediaItem, bool]:
    """Decode, check and store an image (an upload); returns `(item, created)` as `media_item_create` does.

    The bytes are decoded to decide what they are (PNG, JPEG, WebP or GIF), checked against
    MEDIA_MAX_UPLOAD_BYTES (or `max_bytes`) and MEDIA_MAX_PIXELS, turned upright and stripped of GPS data, and
    given a WebP thumbnail (media_library/images.py).

    Raises `ImageRejected` (message written for the writer) when the bytes are not an image we keep.
    """
    return media_item_create(project=project, image=process_image(data, max_bytes=max_bytes), **fields)


def media_item_create(
    *,
    project: Project,
    image: ProcessedImage,
    origin: str = MediaItem.Origin.UPLOADED,
    created_by: User | None = None,
    title: str = "",
    alt_text: str = "",
    generation: dict[str, Any] | None = None,
    source: MediaItem | None = None,
    operation: str = MediaItem.Operation.ORIGINAL,
) -> tuple[MediaItem, bool]:
    """Store an image already decoded and checked (`process_image`) in the project's library; returns
    `(item, created)`. A generated image comes here from its candidate without being decoded again.

    When the project already holds the same image (same SHA-256) nothing is stored and the existing item comes
    back with `created=False`.

    `origin` is `MediaItem.Origin.UPLOADED` or `.GENERATED`; `generation` is the metadata described on
    `MediaItem.generation` (prompt, provider, model, size, seed, options, elements).

    `source` and `operation` make the new item a version of `source` (media_library/versions.py). An image the
    project already holds keeps the place it has.
    """
    sha256 = image.sha256
    existing = MediaItem.objects.filter(project=project, sha256=sha256).first()
    if existing is not None:
        return existing, False

    file_name, thumb_name = _storage_names(project, sha256, image.extension)
    stored_file = default_storage.save(file_name, ContentFile(image.data))
    stored_thumb = default_storage.save(thumb_name, ContentFile(image.thumbnail))
    try:
        with transaction.atomic():
            item = MediaItem.objects.create(
                project=project,
                file=stored_file,
                thumbnail=stored_thumb,
                thumbnail_width=image.thumbnail_width,
                thumbnail_height=image.thumbnail_height,
                content_type=image.content_type,
                width=image.width,
                height=image.height,
                size_bytes=len(image.data),
                sha256=sha256,
                origin=origin,
                title=title.strip()[:200],
                alt_text=alt_text.strip()[:500],
                created_by=created_by,
                generation=generation or {},
                source=source,
                original_id=(source.original_id or source.pk) if source is not None else None,
                operation=operation if source is not None else MediaItem.Operation.ORIGINAL,
            )
    except IntegrityError:
        # The same image arrived twice at once; the other request won. Keep its item, drop our copies.
        delete_stored_files([stored_file, stored_thumb])
        return MediaItem.objects.get(project=project, sha256=sha256), False
    return item, True


@dataclass
class MediaReferences:
    """Where an item is used in its project."""

    is_cover: bool = False
    elements: list[Element] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    # After a deletion: the versions made from the item, and what they were re-linked to (media_library/versions.py).
    relinked: versions.Relinking | None = None

    def __bool__(self) -> bool:
        return self.is_cover or bool(self.elements) or bool(self.documents)


def media_item_references(item: MediaItem) -> MediaReferences:
    project = item.project
    # Documents are found by a cheap text match first, then confirmed by the real parser.
    candidates = Document.objects.filter(project=project, body__contains=f"[[image:{item.pk}")
    return MediaReferences(
        is_cover=project.cover_id == item.pk,
        elements=list(Element.objects.filter(project=project, image=item)),
        documents=[d for d in candidates if embeds.body_embeds(d.body, item.pk)],
    )


@transaction.atomic
def media_item_delete(*, item: MediaItem) -> MediaReferences:
    """Delete the item and its files, first clearing the cover, element images and document embeds that use it,
    and re-linking the versions made from it (media_library/versions.py).

    Returns what was cleared and re-linked so the writer can be told.
    """
    refs = media_item_references(item)
    refs.relinked = versions.relink_before_delete(item)
    if refs.is_cover:
        Project.objects.filter(pk=item.project_id, cover=item).update(cover=None)
    Element.objects.filter(image=item).update(image=None)
    for document in refs.documents:
        document.body = embeds.remove_embeds(document.body, item.pk)
        document.save(update_fields=["body", "updated_at"])
    # Its files go once the deletion is committed (media_library.signals), so a rolled-back delete keeps them.
    item.delete()
    return refs


def media_item_set_cover(*, item: MediaItem) -> None:
    Project.objects.filter(pk=item.project_id).update(cover=item)


def media_item_set_element_image(*, item: MediaItem, element: Element) -> None:
    if element.project_id != item.project_id:
        raise ValueError("The element belongs to another project.")
    element.image = item
    element.save(update_fields=["image", "updated_at"])


def media_item_insert_into_document(
    *, item: MediaItem, document: Document, caption: str = "", after_paragraph: int | None = None
) -> None:
    """Add an embed line for the item right after paragraph `after_paragraph` (1 is the first), or at the end."""
    if document.project_id != item.project_id:
        raise ValueError("The document belongs to another project.")
    if after_paragraph is None:
        document.body = embeds.append_embed(document.body, item.pk, caption)
    else:
        document.body = embeds.insert_embed_after_paragraph(document.body, after_paragraph, item.pk, caption)
    document.save(update_fields=["body", "updated_at"])


def delete_stored_files(names: list[str]) -> None:
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:  # a missing file must not turn a delete into an error page
            logger.warning("Could not delete media file %s", name, exc_info=True)
