"""The open dialog's live channel: a running job's event stream, and the picture forming (imagegen/live.py)."""

from __future__ import annotations

from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from media_library.serving import IMAGE_POLICY
from projects.access import project_view
from projects.models import Project

from .live import JobState, job_stream
from .models import JobPreview
from .views import _job_context, _jobs_for

# A panel the stream sent still carries the polling fallback; it fires only if its own stream does not open by then.
STREAMED_POLL_DELAY = "2s"


@project_view("edit")
@require_GET
def job_events(request: HttpRequest, project: Project, pk: int) -> HttpResponseBase:
    """Server-sent events for one job panel: `progress` blocks while it runs, then the `job` panel that replaces it.

    `?shown=` is the panel's live_key as the browser has it, so a change made before the stream opened is sent at once.
    Under a WSGI server (`manage.py runserver`) a held stream would hold a whole thread: it answers 204 (which an
    EventSource takes as "no stream here"), and the panel polls.
    """
    job = get_object_or_404(_jobs_for(project), pk=pk)
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)

    def render_panel() -> str | None:
        current = _jobs_for(project).filter(pk=job.pk).first()
        if current is None:
            return None
        current.project = project  # the panel reads it: no second query for what the view already has
        context = _job_context(current, project=project, poll_delay=STREAMED_POLL_DELAY)
        return render_to_string("imagegen/_job.html", context, request=request)

    def render_progress(state: JobState) -> str:
        # From what the change feed read: no query per event, however many dialogs are open.
        context = {"job": state, "preview": state.preview, "project": project}
        return render_to_string("imagegen/_job_progress.html", context)

    # The view's own queries borrowed a connection; the stream may never need one again (the change feed reads for
    # it), so it goes back now rather than when the stream ends, minutes later, with the pool's others in use.
    close_old_connections()
    response = StreamingHttpResponse(
        job_stream(
            job.pk,
            shown=request.GET.get("shown", ""),
            render_panel=render_panel,
            render_progress=render_progress,
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response


@project_view("edit")
@require_GET
def job_preview(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    """The latest preview of a running job; gone (404) once the job has finished."""
    job = get_object_or_404(_jobs_for(project), pk=pk)
    preview = JobPreview.objects.filter(job=job).first()
    if preview is None or job.is_finished:
        raise Http404("This job has no preview now.")
    response = HttpResponse(bytes(preview.image), content_type=preview.content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = IMAGE_POLICY
    return response
