"""A project's generation history: every job, newest first, filtered and paged, with what is left to save."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from projects.models import Element, Project

from .models import Candidate, GenerationJob
from .saving import CANDIDATE_MAX_AGE
from .services import model_label

PER_PAGE = 20


class HistoryFilter(forms.Form):
    """The history page's filters; every choice is built from what the project's jobs hold."""

    status = forms.ChoiceField(required=False, label="Status")
    model = forms.ChoiceField(required=False, label="Model")
    element = forms.TypedChoiceField(required=False, label="Element", coerce=int, empty_value=None)

    def __init__(self, data: Mapping[str, Any] | None, *, project: Project) -> None:
        super().__init__(data)
        self.project = project
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            ("", "Any status"),
            *GenerationJob.Status.choices,
        ]
        used = (
            GenerationJob.objects.filter(project=project)
            .values_list("provider", "model")
            .distinct()
            .order_by("provider", "model")
        )
        # A model is named by its label; two providers may serve one id, so the choice carries both.
        labels = {f"{provider}:{model}": model_label(provider, model) for provider, model in used}
        cast(forms.ChoiceField, self.fields["model"]).choices = [
            ("", "Any model"),
            *sorted(labels.items(), key=lambda kv: kv[1]),
        ]
        elements = Element.objects.filter(project=project).order_by("name").values_list("pk", "name")
        cast(forms.ChoiceField, self.fields["element"]).choices = [("", "Any element"), *elements]

    def jobs(self) -> QuerySet[GenerationJob]:
        jobs = GenerationJob.objects.filter(project=self.project).select_related("user")
        if not self.is_valid():
            return jobs
        if status := self.cleaned_data["status"]:
            jobs = jobs.filter(status=status)
        if model := self.cleaned_data["model"]:
            provider, _, model_id = model.partition(":")
            jobs = jobs.filter(provider=provider, model=model_id)
        if (element := self.cleaned_data["element"]) is not None:
            jobs = jobs.filter(pk__in=_jobs_naming(self.project, element))
        return jobs


def _jobs_naming(project: Project, element_id: int) -> list[int]:
    """The jobs whose context included the element, or that were made for it. The snapshot of elements is JSON,
    which SQLite cannot search by key, so it is read here: one project's jobs, two columns."""
    rows = GenerationJob.objects.filter(project=project).values_list("pk", "elements", "target_element_id")
    return [
        pk
        for pk, elements, target in rows
        if target == element_id or any(e.get("id") == element_id for e in elements or [])
    ]


@dataclass(frozen=True)
class HistoryRow:
    job: GenerationJob
    images: list[
        Candidate
    ]  # what is left to show, in order: saved ones (their library copy) and unsaved ones
    unsaved: int
    expires_at: datetime | None  # when the first of its unsaved images goes


def history_page(
    jobs: QuerySet[GenerationJob], number: str | int | None
) -> tuple[Page[GenerationJob], list[HistoryRow]]:
    """One page of jobs, each with its images and how many are still waiting to be saved and until when.

    One query fetches every shown job's images (with their library items, for the thumbnails), and what waits is
    counted from them, so a page costs the same however many jobs and images it holds."""
    page = Paginator(jobs, PER_PAGE).get_page(number)
    shown = (
        Candidate.objects.filter(job_id__in=[j.pk for j in page.object_list])
        .filter(
            Q(saved_item__isnull=False) | ~Q(file="")
        )  # an expired, unsaved image has nothing left to show
        .select_related("saved_item")
        .order_by("job_id", "index")
    )
    by_job: dict[int, list[Candidate]] = {}
    for candidate in shown:
        by_job.setdefault(candidate.job_id, []).append(candidate)
    rows = []
    for job in page.object_list:
        images = by_job.get(job.pk, [])
        waiting = [c.created_at for c in images if c.saved_item_id is None]
        expires_at = min(waiting) + CANDIDATE_MAX_AGE if waiting else None
        rows.append(HistoryRow(job, images, len(waiting), expires_at))
    return page, rows
