"""Template tags the Media tab uses to show Generate Image and the project's recent jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser, User

from projects.models import Project

from ..config import get_config
from ..live import panel_key
from ..live import preview_number as live_preview_number
from ..models import GenerationJob
from ..permissions import NOT_ALLOWED, can_generate
from ..services import CANDIDATE_MAX_AGE
from ..services import model_label as label_of_model
from ..services import recent_prompts as services_recent_prompts
from ..usage import cost_text

register = template.Library()

RECENT_JOBS = 6


@register.inclusion_tag("imagegen/_button.html", takes_context=True)
def generate_image_button(context: dict[str, Any], project: Project, can_edit: bool) -> dict[str, Any]:
    """Shown only to people who may edit the project, when generation is on and a provider is available. An editor
    who may not spend the site's credit sees, in its place, the one sentence that says why and what to do."""
    user = context["request"].user
    available = bool(can_edit) and get_config().generation_available()
    allowed = available and can_generate(user)
    return {
        "project": project,
        "show": allowed,
        "not_allowed": NOT_ALLOWED if available and not allowed else "",
        # Said in one line rather than leaving the button out: staff get the settings, writers whom to ask.
        "not_set_up": bool(can_edit) and not available,
        "staff": user.is_staff,
    }


@register.inclusion_tag("imagegen/_recent_prompts.html", takes_context=True)
def recent_prompts(context: dict[str, Any], project: Project) -> dict[str, Any]:
    """The writer's recent prompts in this project, offered in the Generate dialog to reuse."""
    return {
        "project": project,
        "prompts": services_recent_prompts(project=project, user=context["request"].user),
    }


@register.filter(name="can_generate")
def can_generate_filter(user: User | AnonymousUser) -> bool:
    return can_generate(user)


@register.inclusion_tag("imagegen/_recent_jobs.html")
def recent_generation_jobs(project: Project, can_edit: bool) -> dict[str, Any]:
    """The project's latest jobs (newest first); `running` keeps the list polling while any is unfinished."""
    if not can_edit:
        return {"project": project, "jobs": [], "hidden": True}
    jobs = list(GenerationJob.objects.filter(project=project).select_related("user")[:RECENT_JOBS])
    return {"project": project, "jobs": jobs, "running": any(not j.is_finished for j in jobs)}


@register.filter
def kept_until(created_at: datetime) -> datetime:
    """When an unsaved image made at `created_at` expires."""
    return created_at + CANDIDATE_MAX_AGE


@register.filter
def images_line(job: GenerationJob) -> str:
    """How many images a job made, in words: "4 images", or "2 of 4 images" while some are missing."""
    asked = job.images_requested
    noun = "image" if asked == 1 else "images"
    if job.is_finished and job.images_made == asked:
        return f"{asked} {noun}"
    return f"{job.images_made} of {asked} {noun}"


@register.filter
def announcement(job: GenerationJob) -> str:
    """What the live region says of a job: a failure by its sentence ("Failed: OpenAI is too busy…"), not by the
    images it did not make."""
    if job.status == GenerationJob.Status.FAILED:
        from ..failures import failure_sentence  # failures imports the provider registry, as services does

        return f"{job.get_status_display()}: {failure_sentence(job).rstrip('.')}"
    return f"{job.get_status_display()}: {images_line(job)}"


@register.filter
def percent(value: float | None) -> int:
    return round((value or 0) * 100)


@register.filter
def model_label(job: GenerationJob) -> str:
    """The model as writers know it ("GPT Image 2.6 Sunburst"), not its id."""
    return label_of_model(job.provider, job.model)


@register.filter
def cost_summary(job: GenerationJob) -> str:
    """The estimate before, and once the job is over, what it actually cost and how we know."""
    return cost_text(job)


@register.filter
def live_key(job: GenerationJob) -> str:
    """What the open panel shows besides progress: its event stream sends the whole panel when this changes."""
    return panel_key(job)


@register.filter
def preview_number(job: GenerationJob) -> int | None:
    """The number of the picture forming for a running job (None when the provider sent none yet)."""
    return None if job.is_finished else live_preview_number(job.pk)
