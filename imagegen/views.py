"""The Generate Image dialog and its jobs. Thin views: the workflows live in services.py.

Every view answers three ways: into the open dialog (htmx targeting #generate-dialog-body: the dialog's whole
content), as a partial (other htmx requests: the panel only), or as a full page when JavaScript is off.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inkweld.http import AuthenticatedRequest, HtmxRequest
from media_library.services import ImageRejected
from media_library.serving import private_file_response
from projects.access import project_view
from projects.models import Element, Project
from projects.services import document_places

from .catalog import ModelOption
from .config import EffectiveConfig, get_config
from .generate_form import DOCUMENT, PARAGRAPH, GenerateForm, ModelsFor
from .history import HistoryFilter, history_page
from .limits import LimitReached
from .models import Candidate, GenerationJob
from .options import OPTION_BY_NAME
from .passages import PASSAGE, NoSuchPassage, passage_initial
from .permissions import NOT_ALLOWED, can_generate
from .providers import get_provider
from .saving import KEPT_FOR, candidates_save, default_names, job_subject_id
from .services import job_cancel, job_create
from .templatetags.imagegen_tags import recent_generation_jobs

DIALOG_TARGET = "generate-dialog-body"
# The query key of a recent prompt chosen to reuse (templates/imagegen/_recent_prompts.html).
REUSE = "reuse"
# The dialog's submit buttons: rebuild the form for another model, show the composed prompt, start the job.
DIALOG_ACTIONS = frozenset({"refresh", "preview", "generate"})


def models_for(config: EffectiveConfig) -> ModelsFor:
    def load(provider_id: str) -> list[ModelOption]:
        return get_provider(provider_id, config.connection(provider_id)).models()

    return load


def _form(
    project: Project,
    config: EffectiveConfig,
    data: Mapping[str, Any] | None = None,
    initial: MutableMapping[str, Any] | None = None,
    **extra: Any,
) -> GenerateForm:
    return GenerateForm(
        data,
        project=project,
        providers=config.available_providers(),
        default_provider=config.effective_default_provider(),
        models_for=models_for(config),
        initial=initial,
        **extra,
    )


def _render(
    request: HtmxRequest, project: Project, panel: str, context: Mapping[str, Any], status: int | None = None
) -> HttpResponse:
    """Render `panel` into the dialog, as a bare partial, or inside the full page."""
    context = {"project": project, "tab": "media", "panel": panel, **context}
    if request.htmx and request.htmx.target == DIALOG_TARGET:
        template = "imagegen/_dialog_content.html"
    elif request.htmx:
        template = panel
    else:
        template = "imagegen/page.html"
    return render(request, template, context, status=status)


def _jobs_for(project: Project) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(project=project)


# --- The dialog -------------------------------------------------------------------------------------------------


@project_view("edit")
def dialog(request: AuthenticatedRequest, project: Project) -> HttpResponse:
    config = get_config()
    status = config.generation_status()
    if not status.available:
        return _render(request, project, "imagegen/_unavailable.html", {"reason": status.reason})
    if not can_generate(request.user):
        return _not_allowed(request, project)

    if request.method != "POST":
        initial = _initial_from_query(request.GET)
        if REUSE in request.GET:
            # A recent prompt chosen in the open dialog: the rest of the form as it was (htmx sends it along),
            # still on the passage it was opened on, if any.
            initial["prompt"] = request.GET[REUSE]
            if request.GET.get(DOCUMENT):
                initial.update({DOCUMENT: request.GET[DOCUMENT], PARAGRAPH: request.GET.get(PARAGRAPH, "")})
        elif request.GET.get(DOCUMENT):
            initial.update(_initial_from_passage(project, request.GET))
        return _render(
            request, project, "imagegen/_form.html", {"form": _form(project, config, initial=initial)}
        )

    action = request.POST.get("action", "")
    if action not in DIALOG_ACTIONS:
        # Only the dialog's own buttons: anything else (a tampered or garbled form) must not start a paid job.
        return HttpResponseBadRequest(
            "Unknown action: use the dialog's buttons (reload the page if it is old)."
        )
    if action == "refresh":
        # Provider or model changed: rebuild the form for them, keeping what the writer typed, showing no errors.
        form = _form(project, config, initial=request.POST.dict())
        return _render(request, project, "imagegen/_form.html", {"form": form})

    form = _form(project, config, data=request.POST)
    if not form.is_valid():
        return _render(request, project, "imagegen/_form.html", {"form": form})
    if action == "preview":
        return _render(request, project, "imagegen/_form.html", {"form": form, "preview": form.composed})
    assert form.composed is not None  # a valid form has composed its prompt (GenerateForm.clean)
    try:
        job = job_create(
            user=request.user,
            project=project,
            options=form.options(),
            composed=form.composed,
            estimated_cost=form.estimated_cost,
            config=config,
            fields=form.passage_target(),
        )
    except LimitReached as limit:
        form.add_error(None, limit.message)
        return _render(request, project, "imagegen/_form.html", {"form": form})
    if not request.htmx:
        return redirect("imagegen:job", slug=project.slug, pk=job.pk)
    return _render(request, project, "imagegen/_job.html", _job_context(job))


def _not_allowed(request: HtmxRequest, project: Project) -> HttpResponse:
    """The sentence that says why this editor cannot generate, and what to do (a refused POST is a 403)."""
    status = 403 if request.method == "POST" else 200
    return _render(request, project, "imagegen/_not_allowed.html", {"message": NOT_ALLOWED}, status=status)


def _initial_from_query(query: Mapping[str, str]) -> dict[str, Any]:
    """A dialog opened from a link may be filled in by its query: the core fields, any option, element roles."""
    allowed = {"provider", "model", "prompt", "custom_size", *OPTION_BY_NAME}
    return {k: v for k, v in query.items() if k in allowed or k.startswith("element_")}


def _initial_from_passage(project: Project, query: Mapping[str, str]) -> dict[str, Any]:
    """Illustrate this passage: the dialog opened on a paragraph of one of this project's documents (else 404)."""
    document = get_object_or_404(project.documents.all(), pk=_number(query.get(DOCUMENT)))
    try:
        return passage_initial(
            document=document, paragraph=_number(query.get(PARAGRAPH)), passage=query.get(PASSAGE, "")
        )
    except NoSuchPassage:
        raise Http404(
            "That paragraph is no longer in the document. Reload the page and choose again."
        ) from None


def _number(value: str | None) -> int:
    """A query's id or paragraph number; anything that is not a plain number a database can hold is no such thing."""
    if not value or not re.fullmatch(r"[0-9]{1,18}", value):
        raise Http404("No such passage.")
    return int(value)


def _initial_from_job(job: GenerationJob, *, new_seed: bool = False) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "provider": job.provider,
        "model": job.model,
        "prompt": job.prompt,
        **job.options,
    }
    for element in job.elements:
        initial[f"element_{element['id']}"] = element.get("role", "")
    house_style = job.project.house_style_id if job.project is not None else None
    if house_style:
        # Again means as it was: a house style left out of the job (or set after it) stays out.
        initial.setdefault(f"element_{house_style}", "")
    if job.target_document_id and job.target_paragraph:
        # Generate again on a passage still illustrates it (Insert after this paragraph stays one click).
        initial.update({DOCUMENT: job.target_document_id, PARAGRAPH: job.target_paragraph})
    if new_seed and "seed" in initial:
        initial["seed"] = random.randrange(2**32)
    return initial


@project_view("edit")
@require_GET
def again(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    """Generate again: the dialog, filled in with a job's settings."""
    job = get_object_or_404(_jobs_for(project), pk=pk)
    if not can_generate(request.user):
        return _not_allowed(request, project)
    config = get_config()
    initial = _initial_from_job(job)
    if request.GET.get("provider") in config.available_providers():
        # "Use … instead" on a failure: the same request on another provider, starting on its preferred model.
        initial["provider"] = request.GET["provider"]
    form = _form(project, config, initial=initial)
    return _render(request, project, "imagegen/_form.html", {"form": form})


# --- Jobs -------------------------------------------------------------------------------------------------------


def _job_context(job: GenerationJob, **extra: Any) -> dict[str, Any]:
    candidates = list(job.candidates.select_related("saved_item__project"))
    unsaved = [c for c in candidates if not c.saved_item_id and c.file]
    names = default_names(job, unsaved) if unsaved and job.project else {}
    for candidate in unsaved:
        candidate.default_name = names.get(candidate.pk, "")  # type: ignore[attr-defined]  # for the template
    return {"job": job, "candidates": candidates, "unsaved": unsaved, "kept_for": KEPT_FOR, **extra}


# The open dialog is told about its job over an event stream (imagegen/live.py); where that cannot be had, it polls an
# unfinished job at a pace the panel renders. The first poll after submitting comes at 1 s;
# then every POLL_FRACTION of the time waited so far (at least POLL_MIN_S), so the poll notices a finished job
# within ~3 % of its run time whether it took 2 s or 2 min, and a long job settles to once a second. All open
# dialogs together poll at most about POLL_BUDGET times a second (each waits at least unfinished jobs ÷ budget),
# so twenty writers generating at once cannot crowd the web workers.
POLL_MIN_S, POLL_MAX_S, POLL_FRACTION, POLL_BUDGET = 0.04, 1.0, 0.025, 20


def _unfinished_count() -> int:
    return GenerationJob.objects.filter(status__in=GenerationJob.UNFINISHED).count()


def poll_delay(job: GenerationJob, *, unfinished: int | None = None) -> str:
    """The pause before this dialog's next poll, as htmx's `delay:` takes it."""
    age = max(0.0, (timezone.now() - job.created_at).total_seconds())
    delay = min(POLL_MAX_S, max(POLL_MIN_S, POLL_FRACTION * age))
    if unfinished is None:
        unfinished = cache.get_or_set("imagegen:poll:unfinished", _unfinished_count, timeout=1) or 0
    # The budget applies above the 1 s cap too: 100 open dialogs poll every 5 s, not 100 times a second.
    delay = max(delay, unfinished / POLL_BUDGET)
    return f"{round(1000 * delay)}ms"


@project_view("edit")
@require_GET
def job(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    job = get_object_or_404(_jobs_for(project), pk=pk)
    extra = {} if job.is_finished else {"poll_delay": poll_delay(job)}
    return _render(request, project, "imagegen/_job.html", _job_context(job, **extra))


@project_view("edit")
@require_GET
def jobs(request: AuthenticatedRequest, project: Project) -> HttpResponse:
    """The project's running and recent jobs, for the Media tab (the same list its template tag renders)."""
    return render(request, "imagegen/_recent_jobs.html", recent_generation_jobs(project, can_edit=True))


@project_view("edit")
@require_GET
def history(request: AuthenticatedRequest, project: Project) -> HttpResponse:
    """Every job of the project, newest first, filtered and paged; unsaved images can be saved from a job's page."""
    filters = HistoryFilter(request.GET or None, project=project)
    page, rows = history_page(filters.jobs(), request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "project": project,
        "tab": "media",
        "filters": filters,
        "page": page,
        "rows": rows,
        "page_query": query.urlencode(),
        "filtered": any(request.GET.get(name) for name in filters.fields),  # a page number alone is no filter
        "kept_for": KEPT_FOR,
    }
    return render(request, "imagegen/history.html", context)


@project_view("edit")
@require_POST
def cancel(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    job = job_cancel(job=get_object_or_404(_jobs_for(project), pk=pk))
    if not request.htmx:
        messages.info(request, "Cancelled." if job.is_finished else "Asked the provider to stop.")
        return redirect("imagegen:job", slug=project.slug, pk=job.pk)
    return _render(request, project, "imagegen/_job.html", _job_context(job))


@project_view("edit")
@require_POST
def save(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    job = get_object_or_404(_jobs_for(project), pk=pk)
    # Only plain ids a database integer can hold: "²" passes isdigit(), a 30-digit number overflows SQLite.
    ids = [int(i) for i in request.POST.getlist("candidate") if re.fullmatch(r"[0-9]{1,18}", i)]
    chosen = list(job.candidates.filter(pk__in=ids).exclude(file=""))
    if not chosen:
        context = _job_context(job, save_error="Select at least one image to save.")
        return _render(request, project, "imagegen/_job.html", context)
    try:
        # The names the writer gave; one left empty gets the name the field started with.
        names = default_names(job, chosen)
        names.update({c.pk: n for c in chosen if (n := request.POST.get(f"name_{c.pk}", "").strip())})
        items = candidates_save(job=job, candidates=chosen, user=request.user, names=names)
    except ImageRejected as exc:
        return _render(request, project, "imagegen/_job.html", _job_context(job, save_error=str(exc)))
    context = _job_context(
        job,
        saved=items,
        documents=document_places(project, start=job.target_document_id),  # a passage's job: its own document
        elements=Element.objects.filter(project=project).only("pk", "name", "kind"),
        subject_id=job_subject_id(job),
    )
    if not request.htmx:
        noun = "image" if len(items) == 1 else "images"
        messages.success(request, f"Saved {len(items)} {noun} to the library.")
    response = _render(request, project, "imagegen/_job.html", context)
    # The Media grid behind the dialog refreshes itself and marks these as new (static/js/inkweld.js).
    response["HX-Trigger"] = json.dumps({"media-saved": {"items": [item.pk for item in items]}})
    return response


@project_view("edit")
@require_GET
def candidate_file(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponseBase:
    candidate = get_object_or_404(Candidate.objects.select_related("job"), pk=pk, job__project=project)
    if not candidate.file:
        raise Http404("This image has expired.")
    if request.GET.get("size") == "thumbnail" and candidate.thumbnail:
        # Lists (the generation history) show the small WebP the worker made with the candidate, not megabytes.
        return private_file_response(
            request,
            name=candidate.thumbnail.name,
            content_type="image/webp",
            etag_value=f"candidate-{candidate.pk}-thumbnail",
        )
    return private_file_response(
        request,
        name=candidate.file.name,
        content_type=candidate.content_type,
        etag_value=f"candidate-{candidate.pk}-{candidate.bytes}",
    )
