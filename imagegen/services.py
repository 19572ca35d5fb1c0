"""Generation workflows: create a job, run it, cancel it. Saving its images and expiring the rest: saving.py.

Views, the task and the command line all come through here, so a job behaves the same however it was started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from media_library.images import thumbnail_of
from projects.models import Element, Project

from . import costs, sources
from . import options as generation_options
from .catalog import ModelSpec
from .config import EffectiveConfig, get_config
from .limits import check_limits
from .models import Candidate, GenerationJob, JobPreview
from .permissions import GenerationNotAllowed, can_generate
from .progress import JobMonitor
from .prompts import ComposedPrompt
from .providers import (
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ProviderError,
    get_provider,
    model_spec,
    provider_label,
)
from .recovery import job_fail_if_stale, jobs_fail_stuck

log = logging.getLogger(__name__)

Status = GenerationJob.Status

WORKER_STOPPED = "The worker was stopped while this job ran, so its images, if any, are lost. Try again."
# An arbitrary, fixed key for PostgreSQL's advisory lock around the monthly-budget check.
BUDGET_LOCK_ID = 7_341_001


@dataclass(frozen=True)
class GenerationOptions:
    """What the writer asked for, already validated against the model (see generate_form.py).

    `values` holds the generation options the model offers beyond size and count (imagegen.options), by name.
    """

    provider: str
    model: str
    prompt: str
    size: str = "1024x1024"
    count: int = 1
    values: Mapping[str, Any] = field(default_factory=dict)
    elements: Sequence[tuple[Element, str]] = field(default_factory=tuple)
    max_input_images: int = 0  # what the chosen model accepts (portraits go along up to this many)
    # The elements whose images go upstream (imagegen/portraits.py plans it); None: References, the old rule.
    send_images: frozenset[int] | None = None

    def as_job_options(self) -> dict[str, Any]:
        return {"size": self.size, "count": self.count, **self.values}


def recent_prompts(*, project: Project, user: User, limit: int = 6) -> list[str]:
    """The writer's latest prompts in this project, newest first, each once: to reuse or adjust in the dialog."""
    prompts: list[str] = []
    rows = (
        GenerationJob.objects.filter(project=project, user=user, operation=GenerationJob.Operation.GENERATE)
        .exclude(prompt="")
        .order_by("-created_at", "-pk")
        .values_list("prompt", flat=True)
    )
    # A writer retries a prompt many times: read a few pages of jobs, not the whole history, to find distinct ones.
    for prompt in rows[: limit * 10]:
        if prompt not in prompts:
            prompts.append(prompt)
            if len(prompts) == limit:
                break
    return prompts


def user_reference(user_id: int | None) -> str:
    """A stable stand-in for a writer that reveals nothing about them (OpenAI's safety_identifier)."""
    if user_id is None:
        return ""
    return salted_hmac("imagegen.safety_identifier", str(user_id), algorithm="sha256").hexdigest()[:32]


# --- Creating ---------------------------------------------------------------------------------------------------


def job_create(
    *,
    user: User,
    project: Project,
    options: GenerationOptions,
    composed: ComposedPrompt,
    estimated_cost: Decimal | None,
    config: EffectiveConfig | None = None,
    enqueue: bool = True,
    fields: Mapping[str, Any] | None = None,
) -> GenerationJob:
    """Check the permission and the limits, record the job, and queue it for a worker. Raises LimitReached
    (GenerationNotAllowed, a kind of it, for someone who may not spend the site's credit).

    `fields` are more of the job's own fields: what an edit, variation or upscale starts from (imagegen/iterate.py).
    """
    if not can_generate(user):
        raise GenerationNotAllowed()
    config = config or get_config()
    with transaction.atomic():
        # One submission at a time per writer: two quick clicks must not both pass the limits. (SQLite's
        # IMMEDIATE transactions serialize all writers anyway; on PostgreSQL this row lock does it.)
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if config.monthly_budget.value is not None and connection.vendor == "postgresql":
            # The budget is shared by everyone: one submission at a time may count against it.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUDGET_LOCK_ID])
        counted = check_limits(user=user, count=options.count, estimated_cost=estimated_cost, config=config)
        job = _job_row(
            user=user,
            project=project,
            options=options,
            composed=composed,
            cost=counted.cost,
            **(fields or {}),
        )
        if counted.assumed:
            GenerationJob.objects.filter(pk=job.pk).update(estimate_assumed=True)
            job.estimate_assumed = True
        if enqueue:
            from .tasks import run_generation_job  # the task module imports services; import late

            # The task row in the job's own transaction: a worker sees both or neither (PostgreSQL's NOTIFY is
            # sent at the commit too), and the submit waits for one commit, not two.
            run_generation_job.enqueue(job.pk)
    return job


def _job_row(
    *,
    user: User,
    project: Project,
    options: GenerationOptions,
    composed: ComposedPrompt,
    cost: Decimal | None,
    **fields: Any,
) -> GenerationJob:
    return GenerationJob.objects.create(
        user=user,
        project=project,
        project_title=project.title,
        provider=options.provider,
        model=options.model,
        options=options.as_job_options(),
        max_input_images=options.max_input_images,
        prompt=options.prompt,
        composed_prompt=composed.text,
        prompt_notes=list(composed.omissions),
        elements=[
            {
                "id": element.pk,
                "name": element.name,
                "kind": element.kind,
                "role": role,
                "image_id": element.image_id,
                **_sends_image(options, element, role),
            }
            for element, role in options.elements
        ],
        images_requested=options.count,
        estimated_cost=cost,
        **fields,
    )


def _sends_image(options: GenerationOptions, element: Element, role: str) -> dict[str, bool]:
    if options.send_images is None or not element.image_id:
        return {}  # no image to send; or the old rule applies when the job runs (imagegen.portraits.input_images)
    return {"send_image": element.pk in options.send_images}


# --- Running ----------------------------------------------------------------------------------------------------


def _claim(job_id: int, task_id: str = "") -> GenerationJob | None:
    """Move a queued job to running, exactly once, even with several workers; its first heartbeat."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return None
        job.status = Status.RUNNING
        job.started_at = job.heartbeat_at = timezone.now()
        job.task_id = task_id
        job.save(update_fields=["status", "started_at", "heartbeat_at", "task_id"])
    return job


def _finish(job: GenerationJob, status: str, *, refresh: bool = True, **fields: Any) -> GenerationJob:
    """Record the outcome, unless someone else already finished the job (stuck-job recovery, a queued cancel).

    `refresh=False` leaves reading the job back to the caller (unless the outcome was not recorded): inside a
    transaction it would be one more query before the commit the open dialog waits for."""
    fields = {**fields, "status": status, "finished_at": timezone.now()}
    if status in (Status.SUCCEEDED, Status.PARTLY_SUCCEEDED):
        fields["progress"] = 1.0
    with transaction.atomic():
        updated = GenerationJob.objects.filter(pk=job.pk, status__in=GenerationJob.UNFINISHED).update(
            **fields
        )
        JobPreview.objects.filter(job_id=job.pk).delete()  # the picture forming is over with the job
    if refresh or not updated:
        job.refresh_from_db()
    if not updated:
        log.warning(
            "Job %s was already %s; its late outcome (%s) is not recorded", job.pk, job.status, status
        )
    return job


def job_run(
    *, job_id: int, task_id: str = "", sleep: Callable[[float], None] = time.sleep
) -> GenerationJob | None:
    """Run a queued job to its end. Running a job that is not queued changes nothing.

    `task_id` is the task-queue row running it (recorded so recovery can end that row if this worker dies).
    """
    # Workers also sweep for dead workers' jobs when they start and while idle (imagegen/worker.py); a busy one
    # does it here too, at most once a minute.
    if cache.add("imagegen:stuck-sweep", True, timeout=60):
        jobs_fail_stuck()
    job = _claim(job_id, task_id)
    if job is None:
        return GenerationJob.objects.filter(pk=job_id).first()
    try:
        # The monitor beats the heartbeat for the whole run, storing the images included.
        with JobMonitor(job.pk) as monitor:
            job = _run_claimed(job, sleep, monitor)
    except Exception:
        # Whatever broke, the job must not stay "running": the writer gets an answer and the audit a record.
        log.exception("Job %s failed unexpectedly", job.pk)
        return _finish(
            job,
            Status.FAILED,
            error_class="internal",
            error_message="Something went wrong on our side while generating. It has been logged; please try again.",
        )
    except BaseException:
        # The worker was told to stop now (a second Ctrl-C or SIGTERM): say so on the job instead of leaving it to
        # the heartbeat sweep a minute later, then let the worker go.
        # The request may have been sent: it counts against the budget at its estimate.
        _finish(
            job, Status.FAILED, error_class="unavailable", error_message=WORKER_STOPPED, may_have_cost=True
        )
        raise
    finally:
        # The monitor has stopped: a preview it wrote while the outcome was being recorded goes too.
        JobPreview.objects.filter(job_id=job.pk).delete()
    try:
        candidates_thumbnail(job)
    except Exception:  # the job has its outcome: a database hiccup here must not fail its task
        log.exception("Could not make the thumbnails of job %s", job.pk)
    return job


def _run_claimed(job: GenerationJob, sleep: Callable[[float], None], monitor: JobMonitor) -> GenerationJob:
    config = get_config()
    availability = config.provider_status(job.provider)
    if not availability.available:
        label = provider_label(job.provider)
        return _finish(
            job,
            Status.FAILED,
            error_class="unavailable",
            error_message=f"{label} is not available: {availability.reason}. Ask an admin to check the settings.",
        )

    spec = model_spec(job.provider, job.model)
    try:
        # The operation, an edit's or upscale's source and mask, and the portraits (imagegen/sources.py).
        inputs = sources.request_inputs(job, spec)
    except sources.SourceGone as gone:
        return _finish(job, Status.FAILED, error_class="bad_request", error_message=str(gone))
    request = GenerationRequest(
        model=job.model,
        prompt=job.composed_prompt,
        size=job.options.get("size", "1024x1024"),
        count=job.images_requested,
        options=generation_options.request_options(job.options),
        user_ref=user_reference(job.user_id),
        **inputs,
    )
    provider = get_provider(job.provider, config.connection(job.provider), sleep=sleep)
    try:
        result = provider.perform(request, on_progress=monitor.report, should_cancel=monitor.should_cancel)
    except ProviderError as err:
        billed = {}
        if err.may_have_cost:
            # No image, but the upstream may have charged: what it reported, else the estimate of what was asked.
            unreported = GenerationResult(usage=err.usage, cost=err.cost)
            unreported.uncounted_images = (
                0 if (err.usage or err.cost is not None) else (err.images or request.count)
            )
            billed = {**_cost_fields(spec, request, unreported), "may_have_cost": True}
        return _finish(
            job,
            Status.FAILED,
            error_class=err.error_class,
            error_message=err.message,
            **{**billed, "request_ids": [err.request_id] if err.request_id else []},
        )

    common = _cost_fields(spec, request, result)
    with transaction.atomic():
        # Decide under a lock: recovery may have failed the job, or the writer cancelled it, while we waited.
        current = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if current.status not in GenerationJob.UNFINISHED:
            # Too late to show images, but the upstream may have charged: keep that on the record.
            GenerationJob.objects.filter(pk=job.pk).update(**common, images_made=len(result.images))
            log.warning("Job %s finished upstream after it was marked %s", job.pk, current.status)
            job.refresh_from_db()
            return job
        if current.cancel_requested:
            # The upstream may have charged already; the cost stays on the record, the images do not.
            _finish(job, Status.CANCELLED, refresh=False, **common)
        else:
            for index, image in enumerate(result.images):
                _store_candidate(job, index, image)
            _record_outcome(job, result, common)
    job.refresh_from_db()  # after the commit: the dialog is told as soon as it lands
    return job


def _cost_fields(
    spec: ModelSpec | None, request: GenerationRequest, result: GenerationResult
) -> dict[str, Any]:
    """The record of what the job used and cost: kept even when its images come too late to show."""
    cost = costs.actual_cost(
        spec,
        reported=result.cost,
        usage=result.usage,
        images_made=len(result.images),
        sent_images=bool(request.input_images or request.source_image),
        size=request.size,
        quality=str(request.option("quality", "")),
        uncounted_images=result.uncounted_images,
        prompt_chars=len(request.prompt),
        input_images=len(request.input_images) + (1 if request.source_image else 0),
    )
    return {
        "request_ids": result.request_ids,
        "usage": result.usage,
        "actual_cost": cost.amount,
        "cost_source": cost.source,
        **({"may_have_cost": True} if result.uncounted_images else {}),
    }


def _record_outcome(job: GenerationJob, result: GenerationResult, common: dict[str, Any]) -> None:
    """Finish the job as its images say, inside the caller's transaction (the caller reads the job back after it)."""
    made = len(result.images)
    errors = result.errors
    if made and not errors and made >= job.images_requested:
        _finish(job, Status.SUCCEEDED, images_made=made, refresh=False, **common)
    elif made:
        first = errors[0] if errors else None
        missing = job.images_requested - made
        message = f"{made} of {job.images_requested} images were made; {missing} failed"
        message += (
            f": {first.message}" if first else f" ({provider_label(job.provider)} returned fewer than asked)."
        )
        _finish(
            job,
            Status.PARTLY_SUCCEEDED,
            refresh=False,
            images_made=made,
            error_class=first.error_class if first else "bad_response",
            error_message=message,
            **common,
        )
    else:
        first = errors[0] if errors else None
        _finish(
            job,
            Status.FAILED,
            refresh=False,
            error_class=first.error_class if first else "bad_response",
            error_message=first.message
            if first
            else f"{provider_label(job.provider)} answered without any image. Try again.",
            **common,
        )


def _store_candidate(job: GenerationJob, index: int, image: GeneratedImage) -> Candidate:
    decoded = image.image
    candidate = Candidate(
        job=job,
        index=index,
        content_type=decoded.content_type,
        width=decoded.width,
        height=decoded.height,
        bytes=len(decoded.data),
        seed=image.seed,
        revised_prompt=image.revised_prompt or "",
        extra=image.extra or {},
    )
    # Its thumbnail comes after the job has finished (candidates_thumbnail).
    candidate.file.save(f"{index + 1}.{decoded.extension}", ContentFile(decoded.data), save=False)
    candidate.save()
    return candidate


def candidates_thumbnail(job: GenerationJob) -> None:
    """Thumbnails for a job's images, made once the job has finished and the writer has been told.

    The open dialog shows the full images; the thumbnails serve the history and the library (saving one before its
    thumbnail is made makes it then, imagegen/saving.py). Each is decoded again from the stored file, one at a time,
    so the worker's peak memory is not the decoded pixels of every image at once. A thumbnail that cannot be made
    leaves its candidate without one (the history then shows the full image): the job has succeeded regardless.
    """
    if not job.images_made:
        return
    for candidate in Candidate.objects.filter(job=job, thumbnail="").exclude(file=""):
        try:
            with candidate.file.open("rb") as handle:
                thumb, width, height = thumbnail_of(handle.read())
            name = candidate.thumbnail.field.generate_filename(candidate, f"{candidate.index + 1}-thumb.webp")
            name = candidate.thumbnail.storage.save(name, ContentFile(thumb))
        except Exception:
            log.exception("Could not make the thumbnail of candidate %s", candidate.pk)
            continue
        # Only while it still has its file and no thumbnail: the writer may have discarded it meanwhile.
        updated = (
            Candidate.objects.filter(pk=candidate.pk, thumbnail="")
            .exclude(file="")
            .update(thumbnail=name, thumbnail_width=width, thumbnail_height=height)
        )
        if not updated:
            candidate.thumbnail.storage.delete(name)


# --- Cancelling and recovering ----------------------------------------------------------------------------------


def job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Stop a queued job now; ask a running one to stop (Stable Diffusion is interrupted, others finish unseen).

    A running job whose worker died (no heartbeat) is failed at once, saying so: nobody is left to stop.
    """
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if job.status == Status.QUEUED:
            _finish(job, Status.CANCELLED)
        elif job.status == Status.RUNNING:
            if job_fail_if_stale(job):
                job.refresh_from_db()
                return job
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
    return job


def model_label(provider_id: str, model_id: str) -> str:
    """How a model is named to writers ("GPT Image 2.6 Sunburst"), from its family; its id when unknown."""
    spec = model_spec(provider_id, model_id)
    return spec.label if spec is not None and spec.label else model_id
