"""Saving a job's images to the library, and expiring those nobody saved.

A candidate is kept CANDIDATE_MAX_AGE; saving makes it a media item (a version of its source for edits, variations
and upscales), named as the writer chose or by a short default, with the generation's metadata in the PNG too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from media_library.images import ProcessedImage, format_of, process_image
from media_library.models import MediaItem
from media_library.services import delete_stored_files, media_item_create

from . import sources
from .config import PROVIDER_LABELS
from .models import Candidate, GenerationJob
from .png_metadata import add_text_chunk, parameters_text
from .prompts import Role
from .services import model_label

CANDIDATE_MAX_AGE = timedelta(hours=24)
KEPT_FOR = f"{CANDIDATE_MAX_AGE // timedelta(hours=1)} hours"  # as writers are told it
# Generated images are saved up to this size whatever the upload limit (a 3840x2160 PNG can pass 20 MB).
GENERATED_MAX_BYTES = 64 * 1024 * 1024


def generation_metadata(job: GenerationJob, candidate: Candidate) -> dict[str, Any]:
    options = dict(job.options)
    return {
        "job_id": job.pk,
        "prompt": job.prompt,
        "composed_prompt": job.composed_prompt,
        "negative_prompt": options.get("negative_prompt", ""),
        "provider": job.provider,
        "provider_label": PROVIDER_LABELS.get(job.provider, job.provider),
        "model": job.model,
        "model_label": model_label(job.provider, job.model),
        "size": f"{candidate.width}x{candidate.height}",
        "requested_size": options.get("size", ""),
        "quality": options.get("quality", ""),
        "style": options.get("style", ""),
        "seed": candidate.seed,
        "revised_prompt": candidate.revised_prompt,
        "options": options,
        "elements": [{k: e.get(k) for k in ("id", "name", "kind", "role")} for e in job.elements],
        "cost": _cost_per_image(job),
        **sources.version_metadata(job),
    }


def _cost_per_image(job: GenerationJob) -> str | None:
    # The estimate covers the images asked for; a reported cost covers the images made.
    if job.actual_cost is not None:
        return str(job.actual_cost / max(job.images_made, 1))
    if job.estimated_cost is not None:
        return str(job.estimated_cost / max(job.images_requested, 1))
    return None


def job_subject_id(job: GenerationJob) -> int | None:
    """The element the images are of: the one they were made for, else the first Subject."""
    if job.target_element_id:
        return job.target_element_id
    subjects = [e.get("id") for e in job.elements if e.get("role") == Role.SUBJECT]
    return subjects[0] if subjects else None


def default_names(job: GenerationJob, candidates: Sequence[Candidate]) -> dict[int, str]:
    """Short, distinct names to save candidates under: what they show (the Subject, the cover, else the prompt's
    first words) and a number past the library's images of that name ("Mira Vale 3"). Edits, variations and
    upscales are named after the image they came from instead (candidates_save), so they get none here."""
    if job.operation != GenerationJob.Operation.GENERATE:
        return {}

    def first_named(role: str) -> str | None:
        return next((e.get("name") for e in job.elements if e.get("role") == role), None)

    if job.purpose == GenerationJob.Purpose.COVER:
        subject: str | None = f"{job.project_title or 'Project'} cover"
    elif job.target_element is not None:
        subject = job.target_element.name
    else:  # what it shows; a scene with nobody in it by where it is
        subject = first_named(Role.SUBJECT) or first_named(Role.SETTING)
    base = subject or _first_words(job.prompt) or "Image"
    taken = set(
        MediaItem.objects.filter(project=job.project, title__startswith=base).values_list("title", flat=True)
    )
    names, number = {}, 1
    for candidate in candidates:
        while f"{base} {number}" in taken:
            number += 1
        names[candidate.pk] = f"{base} {number}"
        number += 1
    return names


def _first_words(prompt: str, words: int = 4) -> str:
    first = prompt.strip().splitlines()[0] if prompt.strip() else ""
    return " ".join(first.split()[:words]).rstrip(",.;:")


def candidates_save(
    *,
    job: GenerationJob,
    candidates: Sequence[Candidate],
    user: User,
    names: Mapping[int, str] | None = None,
) -> list[MediaItem]:
    """Save chosen candidates to the job's project library, with the generation metadata (also in the PNG).
    `names` are the titles the writer gave, by candidate id; without one, the prompt's first line."""
    project = job.project
    assert project is not None  # candidates go with their project (imagegen/signals.py)
    items = []
    for candidate in candidates:
        if candidate.saved_item is not None:
            items.append(candidate.saved_item)
            continue
        metadata = generation_metadata(job, candidate)
        image = _candidate_image(candidate)
        image = image.with_data(add_text_chunk(image.data, "parameters", parameters_text(metadata)))
        given = (names or {}).get(candidate.pk, "").strip()
        title = given[:200] or (job.prompt.strip().splitlines()[0][:80] if job.prompt.strip() else "")
        # An edit, variation or upscale becomes a version of its source (imagegen/sources.py).
        version = sources.lineage(job, user, candidates_save)
        if not title and version:
            title = f"{version['source'].display_title} ({job.get_operation_display().lower()})"[:80]
        item, _created = media_item_create(
            project=project,
            image=image,
            origin=MediaItem.Origin.GENERATED,
            created_by=user,
            title=title,
            alt_text=(
                candidate.revised_prompt or job.prompt or (version["source"].alt_text if version else "")
            )[:500],
            generation=metadata,
            **version,
        )
        candidate.saved_item = item
        candidate.save(update_fields=["saved_item"])
        items.append(item)
    return items


def _candidate_image(candidate: Candidate) -> ProcessedImage:
    """The candidate as the library takes it: what the worker's one decode found, with no second decode."""
    with candidate.file.open("rb") as handle:
        data = handle.read()
    if not candidate.thumbnail:
        # Saved in the moment before the worker made its thumbnail (or kept before thumbnails were): decoded now.
        # A 4K PNG from a provider can pass the upload limit, and the writer cannot "make it smaller" here.
        return process_image(data, max_bytes=max(settings.MEDIA_MAX_UPLOAD_BYTES, GENERATED_MAX_BYTES))
    with candidate.thumbnail.open("rb") as handle:
        thumbnail = handle.read()
    return ProcessedImage(
        data=data,
        format=format_of(candidate.content_type),
        width=candidate.width,
        height=candidate.height,
        thumbnail=thumbnail,
        thumbnail_width=candidate.thumbnail_width,
        thumbnail_height=candidate.thumbnail_height,
    )


def candidates_expire(*, older_than: timedelta = CANDIDATE_MAX_AGE) -> int:
    """Delete unsaved candidates older than `older_than`, files included; returns how many.

    Saved ones live on as media items (a copy): their rows stay, linking the job to the library, but their files
    go too, so no image is stored twice for good.
    """
    cutoff = timezone.now() - older_than
    # Also a saved candidate whose library copy was deleted since: no file, no item, nothing left to show.
    old = Candidate.objects.filter(saved_item__isnull=True).filter(Q(created_at__lt=cutoff) | Q(file=""))
    count, _ = old.delete()  # their files go with them (imagegen/signals.py)
    saved = Candidate.objects.filter(saved_item__isnull=False, created_at__lt=cutoff).exclude(file="")
    names = [name for pair in saved.values_list("file", "thumbnail") for name in pair]
    saved.update(file="", thumbnail="")
    delete_stored_files(names)
    return count
