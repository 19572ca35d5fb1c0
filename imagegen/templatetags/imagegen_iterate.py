"""Template tags for iterating on an image: Edit and Upscale on an image's page, Generate portrait on an element's
page, and what a job panel says about the image it started from."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from media_library.models import MediaItem
from projects.models import Element, Project

from ..config import get_config
from ..failures import failure_for
from ..iterate import editing_providers, upscaling_providers
from ..models import GenerationJob

register = template.Library()
Operation = GenerationJob.Operation


@register.inclusion_tag("imagegen/_item_actions.html")
def image_actions(project: Project, item: MediaItem, can_edit: bool) -> dict[str, Any]:
    """Edit and Upscale on a saved image's page, each only where an available provider can do it."""
    config = get_config()
    show = bool(can_edit) and config.generation_available()
    return {
        "project": project,
        "item": item,
        "can_edit_image": show and bool(editing_providers(config)),
        "can_upscale": show and bool(upscaling_providers(config)),
    }


@register.inclusion_tag("imagegen/_portrait_button.html")
def portrait_button(project: Project, element: Element, can_edit: bool) -> dict[str, Any]:
    """Generate portrait on an element's page, where generation is available to this person."""
    return {
        "project": project,
        "element": element,
        "show": bool(can_edit) and get_config().generation_available(),
    }


@register.inclusion_tag("imagegen/_cover_button.html")
def cover_button(project: Project, can_edit: bool) -> dict[str, Any]:
    """Generate cover on the project's overview, where generation is available to this person."""
    return {"project": project, "show": bool(can_edit) and get_config().generation_available()}


@register.simple_tag
def edits_available() -> bool:
    """Whether Edit can be offered on a candidate (an available provider has models that edit)."""
    config = get_config()
    return config.generation_available() and bool(editing_providers(config))


@register.simple_tag
def again_url(job: GenerationJob) -> str:
    """Where Try again / Generate again leads: the same dialog the job came from, filled in as it was."""
    slug = job.project.slug if job.project else ""
    if job.operation == Operation.EDIT and (job.source_item_id or job.source_candidate_id):
        if job.source_item_id:
            url = reverse("imagegen:edit", kwargs={"slug": slug, "pk": job.source_item_id})
        else:
            url = reverse("imagegen:edit_candidate", kwargs={"slug": slug, "pk": job.source_candidate_id})
        return f"{url}?again={job.pk}"
    if job.operation == Operation.UPSCALE and job.source_item_id:
        url = reverse("imagegen:upscale", kwargs={"slug": slug, "pk": job.source_item_id})
        return f"{url}?factor={job.options.get('factor', '')}"
    if job.operation == Operation.VARIATION and job.source_item_id:
        return reverse("imagegen:variations", kwargs={"slug": slug, "pk": job.source_item_id})
    return reverse("imagegen:again", kwargs={"slug": slug, "pk": job.pk})


@register.inclusion_tag("imagegen/_failure.html")
def job_failure(job: GenerationJob) -> dict[str, Any]:
    """A failed job's one sentence and the actions that can fix it, main one first (imagegen/failures.py)."""
    return {"failure": failure_for(job, again=again_url(job), config=get_config())}


@register.filter
def job_title(job: GenerationJob) -> str:
    """A job in a list: its prompt, or for an upscale (which has none) what it upscaled."""
    if job.prompt:
        return job.prompt
    title = (job.edit_details or {}).get("source_title") or "an image"
    return f"{job.get_operation_display()} of “{title}”"


@register.filter
def source_line(job: GenerationJob) -> str:
    """What the job started from and how, in a line ("" for a plain generation)."""
    details = job.edit_details or {}
    title = details.get("source_title") or "an image"
    if job.operation == Operation.EDIT:
        mask = details.get("mask")
        if mask == "painted":
            share = details.get("repaint_fraction")
            where = (
                f"within the mask ({max(1, round(share * 100))}% of the image)"
                if share is not None
                else "within the mask"
            )
        elif mask == "empty":
            where = "the whole image (the mask marked nothing to repaint)"
        else:
            where = "the whole image"
        return f"Edit of “{title}”: {where}."
    if job.operation == Operation.VARIATION:
        return f"Variations of “{title}”."
    if job.operation == Operation.UPSCALE:
        size = job.options.get("size", "").replace("x", " × ")
        # The upscaler by the engine's own name: it is no catalog model, so it has no label of ours.
        return f"Upscale {job.options.get('factor', '?')}× of “{title}” with {job.model}, to {size} px."
    return ""


@register.filter
def source_thumbnail(job: GenerationJob) -> str:
    """A small picture of the image the job started from, beside its result ("" when it is gone)."""
    slug = job.project.slug if job.project else ""
    if job.source_item_id:
        return reverse("media:thumbnail", kwargs={"slug": slug, "pk": job.source_item_id})
    candidate = job.source_candidate if job.source_candidate_id else None
    if candidate is not None and candidate.saved_item_id:
        return reverse("media:thumbnail", kwargs={"slug": slug, "pk": candidate.saved_item_id})
    if candidate is not None and candidate.file:
        return reverse("imagegen:candidate", kwargs={"slug": slug, "pk": candidate.pk})
    return ""


@register.filter
def portraits_line(job: GenerationJob) -> str:
    """Which portraits went along, and which the model's limit left out."""
    details = job.edit_details or {}
    sent = [e["name"] for e in job.elements if e.get("send_image") and e.get("image_id")]
    left = details.get("portraits_left_out") or []
    if not sent and not left:
        return ""
    text = f"Portraits sent: {', '.join(sent)}." if sent else "No portrait was sent."
    if left:
        text += f" Left out (over the model's limit): {', '.join(left)}."
    return text
