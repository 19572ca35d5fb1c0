"""What an edit, variation or upscale starts from, and how its result joins the source's versions.

* `EditSource` — the image a job starts from: a saved media item, or (edits only) a candidate not saved yet.
* `request_inputs` — when a job runs: the operation, the source's bytes, the mask and the portraits for its request.
* `lineage` / `version_metadata` — when its result is saved: the new media item's source and operation, and the
  settings used, kept in its generation record.

Saving the edit of a candidate nobody saved also saves that candidate, as the first version: a version history
starts from an image in the library, so the writer can always walk back to what was edited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.urls import reverse

from media_library.models import MediaItem

from . import portraits
from .catalog import ModelSpec
from .masks import Mask
from .models import Candidate, GenerationJob
from .providers.results import EDIT, GENERATE, UPSCALE

Operation = GenerationJob.Operation
# A job's operation → what its request asks the provider to do (a variation is a generation with a new seed).
REQUEST_OPERATION: dict[str, str] = {
    Operation.GENERATE: GENERATE,
    Operation.VARIATION: GENERATE,
    Operation.EDIT: EDIT,
    Operation.UPSCALE: UPSCALE,
}


class SourceGone(Exception):
    """The image a job starts from is no longer there. The message is for the writer."""


@dataclass(frozen=True)
class EditSource:
    """The image an edit or an upscale starts from."""

    item: MediaItem | None = None
    candidate: Candidate | None = None

    def __post_init__(self) -> None:
        assert (self.item is None) != (self.candidate is None), "a source is an item or a candidate"

    @property
    def width(self) -> int:
        return self.item.width if self.item else self.candidate.width  # type: ignore[union-attr]  # one of them, asserted

    @property
    def height(self) -> int:
        return self.item.height if self.item else self.candidate.height  # type: ignore[union-attr]  # as width

    @property
    def title(self) -> str:
        if self.item is not None:
            return self.item.display_title
        assert self.candidate is not None
        return f"Image {self.candidate.index + 1} of the last generation"

    @property
    def image_url(self) -> str:
        if self.item is not None:
            return self.item.file_url()
        assert self.candidate is not None
        project = self.candidate.job.project
        assert project is not None  # a candidate goes with its project (imagegen/signals.py)
        return reverse("imagegen:candidate", kwargs={"slug": project.slug, "pk": self.candidate.pk})

    @property
    def item_id(self) -> int | None:
        return self.item.pk if self.item else None

    def job_fields(self) -> dict[str, Any]:
        return {"source_item": self.item, "source_candidate": self.candidate}


def store_mask(mask: Mask) -> str:
    """Keep a checked mask for the job (the worker reads it; Try again offers it again). Returns its name."""
    return default_storage.save(f"masks/{uuid.uuid4().hex}.png", ContentFile(mask.png))


def _read(file: FieldFile) -> bytes:
    with file.open("rb") as handle:
        return handle.read()


def _source_bytes(job: GenerationJob) -> bytes:
    if job.source_item_id is not None:
        item = MediaItem.objects.filter(pk=job.source_item_id, project=job.project_id).first()
        if item is not None:
            return _read(item.file)
    if job.source_candidate_id is not None:
        candidate = job.source_candidate
        if candidate is not None and candidate.file:
            return _read(candidate.file)
        if candidate is not None and candidate.saved_item_id:
            return _read(candidate.saved_item.file)  # type: ignore[union-attr]  # saved_item_id is set
    what = "edit" if job.operation == Operation.EDIT else "upscale"
    raise SourceGone(
        f"The image to {what} is no longer there (it was deleted, or it expired before it was saved). "
        "Open the image again and start over."
    )


def request_inputs(job: GenerationJob, spec: ModelSpec | None) -> dict[str, Any]:
    """The request's operation, source image, mask and portraits for this job. Raises SourceGone."""
    operation = REQUEST_OPERATION.get(job.operation, GENERATE)
    # The limit recorded with the job (the model as offered then; 0 means it takes none), not today's catalog.
    limit = job.max_input_images
    inputs: dict[str, Any] = {"operation": operation}
    if operation in (EDIT, UPSCALE):
        inputs["source_image"] = _source_bytes(job)
    if operation == EDIT:
        inputs["mask"] = _read(job.mask) if job.mask else b""
        # The source is the first of the model's images where it takes images; portraits get the rest.
        limit = max(0, limit - 1)
    if operation != UPSCALE:
        inputs["input_images"] = portraits.input_images(job, limit)
    return inputs


# --- Saving a result as a version -------------------------------------------------------------------------------


def lineage(
    job: GenerationJob,
    user: User,
    save_candidates: Callable[..., Sequence[MediaItem]],
) -> dict[str, Any]:
    """The new item's `source` and `operation` when the job made a version ({} for a plain generation).

    `save_candidates` is saving.candidates_save: an edited candidate that was never saved is saved first.
    """
    if job.operation not in (Operation.EDIT, Operation.VARIATION, Operation.UPSCALE):
        return {}
    source = (
        MediaItem.objects.filter(pk=job.source_item_id, project=job.project_id).first()
        if job.source_item_id is not None
        else None
    )
    if source is None and job.source_candidate_id is not None:
        candidate = Candidate.objects.select_related("job").filter(pk=job.source_candidate_id).first()
        if candidate is not None and candidate.saved_item_id:
            source = candidate.saved_item
        elif candidate is not None and candidate.file and candidate.job.project_id == job.project_id:
            source = save_candidates(job=candidate.job, candidates=[candidate], user=user)[0]
    if source is None:
        return {}  # the source was deleted meanwhile: the result is an original of its own
    return {"source": source, "operation": job.operation}


def version_metadata(job: GenerationJob) -> dict[str, Any]:
    """What the generation record of a version adds: how it was made and from what (shown on its page)."""
    if job.operation == Operation.GENERATE:
        return {}
    details = job.edit_details or {}
    return {
        "operation": job.operation,
        "source_id": job.source_item_id,
        **{
            k: details[k] for k in ("mask", "repaint_fraction", "source_title", "source_size") if k in details
        },
    }
