"""Iterating on an image: edit it, make variations of it, upscale it, generate an element's portrait.

Each is a job like any generation — limits, budget, cost accounting and the audit record are services.job_create's —
that also records what it starts from (imagegen/sources.py). Its images are saved as versions of that source.
Views and the command line both come through here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.files.storage import default_storage

from media_library.models import MediaItem
from projects.models import Element, Project

from . import services, sources
from .config import EffectiveConfig
from .edit_form import EditForm
from .generate_form import GenerateForm
from .models import GenerationJob
from .providers import PROVIDERS
from .upscale_form import UpscaleForm

Operation = GenerationJob.Operation


def _create(
    *,
    user: User,
    project: Project,
    form: GenerateForm | UpscaleForm,
    config: EffectiveConfig,
    fields: dict[str, Any],
    enqueue: bool = True,
) -> GenerationJob:
    assert form.composed is not None  # a valid form has composed its prompt (GenerateForm.clean)
    return services.job_create(
        user=user,
        project=project,
        options=form.options(),
        composed=form.composed,
        estimated_cost=form.estimated_cost,
        config=config,
        enqueue=enqueue,
        fields=fields,
    )


def edit_job_create(
    *, user: User, project: Project, form: EditForm, config: EffectiveConfig, enqueue: bool = True
) -> GenerationJob:
    """An edit of the form's source, with its mask kept for the worker. Raises LimitReached (and keeps no mask)."""
    mask_name = sources.store_mask(form.mask) if form.mask is not None else ""
    fields = {
        "operation": Operation.EDIT,
        **form.source.job_fields(),
        "mask": mask_name,
        "edit_details": form.edit_details(),
    }
    try:
        return _create(user=user, project=project, form=form, config=config, enqueue=enqueue, fields=fields)
    except BaseException:
        if mask_name:
            default_storage.delete(mask_name)
        raise


def variation_job_create(
    *,
    user: User,
    project: Project,
    form: GenerateForm,
    source: MediaItem,
    config: EffectiveConfig,
) -> GenerationJob:
    """Variations of a saved image: its settings with a new seed, saved as its versions."""
    fields = {
        "operation": Operation.VARIATION,
        "source_item": source,
        "edit_details": {"source_title": source.display_title},
    }
    return _create(user=user, project=project, form=form, config=config, fields=fields)


def portrait_job_create(
    *, user: User, project: Project, form: GenerateForm, element: Element, config: EffectiveConfig
) -> GenerationJob:
    """Generate portrait: a generation that remembers which element it is for ("Set as element image")."""
    return _create(user=user, project=project, form=form, config=config, fields={"target_element": element})


def cover_job_create(
    *, user: User, project: Project, form: GenerateForm, config: EffectiveConfig
) -> GenerationJob:
    """Generate cover: a generation whose images are meant as the project's cover ("Use as cover" comes first)."""
    return _create(
        user=user, project=project, form=form, config=config, fields={"purpose": GenerationJob.Purpose.COVER}
    )


def upscale_job_create(
    *,
    user: User,
    project: Project,
    form: UpscaleForm,
    config: EffectiveConfig,
    enqueue: bool = True,
) -> GenerationJob:
    source = form.source
    fields = {
        "operation": Operation.UPSCALE,
        "source_item": source.item,
        "edit_details": {"source_title": source.title, "source_size": [source.width, source.height]},
    }
    return _create(user=user, project=project, form=form, config=config, enqueue=enqueue, fields=fields)


# --- What is offered where ----------------------------------------------------------------------------------------


def editing_providers(config: EffectiveConfig) -> list[str]:
    """Available providers with models that edit (which models: the edit dialog lists them)."""
    return [p for p in config.available_providers() if p in PROVIDERS and PROVIDERS[p].offers_edits]


def upscaling_providers(config: EffectiveConfig) -> list[str]:
    return [p for p in config.available_providers() if p in PROVIDERS and PROVIDERS[p].offers_upscale]
