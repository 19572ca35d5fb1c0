"""Django admin for generation jobs: the read-only audit record, the total cost of a filtered list, and usage.

Jobs are never added, changed or deleted here — they are what happened, failures included. The usage page
(images and spend per month, per user, per provider) hangs off the job changelist and asks the same permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html

from . import usage
from .config import PROVIDER_IDS, PROVIDER_LABELS
from .models import Candidate, GenerationJob

# --- The list ---------------------------------------------------------------------------------------------------


class ProviderFilter(admin.SimpleListFilter):
    """By provider, named as admins know them ("Stable Diffusion", not "stable-diffusion")."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        used: set[str] = set(model_admin.get_queryset(request).values_list("provider", flat=True).distinct())
        known = [pid for pid in PROVIDER_IDS if pid in used]
        return [(pid, PROVIDER_LABELS.get(pid, pid)) for pid in known + sorted(used - set(known))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(provider=self.value()) if self.value() else queryset


class ErrorClassFilter(admin.SimpleListFilter):
    """By error class, with "No error" for jobs that stored none (a blank value would show as an empty link)."""

    title = "error class"
    parameter_name = "error_class"
    NONE = "-"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        used = model_admin.get_queryset(request).exclude(error_class="").values_list("error_class", flat=True)
        return [(self.NONE, "No error"), *((c, c) for c in sorted(set(used)))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(error_class="" if self.value() == self.NONE else self.value())


class CandidateInline(admin.TabularInline):
    model = Candidate
    extra = 0
    can_delete = False
    fields = (
        "index",
        "file_name",
        "dimensions",
        "bytes",
        "seed",
        "revised_prompt",
        "saved_to_library",
        "created_at",
    )
    readonly_fields = fields
    verbose_name_plural = "Candidates (images the job returned)"

    # Candidates belong to the job: whoever may see the job sees them, nobody edits them.
    def has_view_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        opts = GenerationJob._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or request.user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        )

    def has_add_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    @admin.display(description="file")
    def file_name(self, candidate: Candidate) -> str:
        # The name only: media is served through the library's access checks, never from MEDIA_URL.
        return candidate.file.name

    @admin.display(description="size")
    def dimensions(self, candidate: Candidate) -> str:
        return f"{candidate.width}×{candidate.height}"

    @admin.display(description="saved to library")
    def saved_to_library(self, candidate: Candidate) -> str:
        item = candidate.saved_item
        if item is None:
            return "—"
        return format_html('<a href="{}">{}</a>', item.get_absolute_url(), item.display_title)


def _all_fields() -> list[str]:
    return [f.name for f in GenerationJob._meta.concrete_fields if f.name != "id"]


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = (
        "created",
        "user",
        "project_name",
        "provider_label",
        "model",
        "status",
        "images",
        "estimated",
        "actual",
        "error_class",
    )
    list_display_links = ("created",)
    list_filter = (
        "status",
        "operation",
        ProviderFilter,
        "model",
        ErrorClassFilter,
        ("user", admin.RelatedOnlyFieldListFilter),
        ("project", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "created_at"
    search_fields = ("prompt", "composed_prompt")
    list_select_related = ("user",)
    actions = None  # no bulk actions on an audit record
    empty_value_display = "—"
    inlines = [CandidateInline]
    fieldsets = (
        (None, {"fields": ("status", "user", "project", "project_title", "provider", "model")}),
        ("Prompt", {"fields": ("prompt", "composed_prompt", "prompt_notes", "elements")}),
        (
            "What it was for: edits, variations, upscales, portraits, covers",
            {
                "fields": (
                    "operation",
                    "source_item",
                    "source_candidate",
                    "mask",
                    "target_element",
                    "purpose",
                    "edit_details",
                )
            },
        ),
        ("Illustrated passage", {"fields": ("target_document", "target_paragraph")}),
        (
            "Options",
            {
                "fields": (
                    "options",
                    "max_input_images",
                    "images_requested",
                    "images_made",
                    "progress",
                    "cancel_requested",
                )
            },
        ),
        (
            "Cost",
            {
                "fields": (
                    "estimated_cost",
                    "estimate_assumed",
                    "actual_cost",
                    "cost_source",
                    "may_have_cost",
                    "usage",
                )
            },
        ),
        ("Outcome", {"fields": ("error_class", "error_message", "request_ids")}),
        ("Times", {"fields": ("created_at", "started_at", "finished_at", "heartbeat_at", "task_id")}),
    )
    readonly_fields = _all_fields()

    # --- read-only: the audit record is what happened ---------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    # --- columns -------------------------------------------------------------------------------------------------

    @admin.display(description="provider", ordering="provider")
    def provider_label(self, job: GenerationJob) -> str:
        return PROVIDER_LABELS.get(job.provider, job.provider)

    @admin.display(description="created", ordering="created_at")
    def created(self, job: GenerationJob) -> str:
        # Compact, so that the cost columns fit beside the filters without scrolling.
        return f"{timezone.localtime(job.created_at):%Y-%m-%d %H:%M}"

    @admin.display(description="project", ordering="project_title")
    def project_name(self, job: GenerationJob) -> str:
        return job.project_title  # kept as text: the project may be gone, the record stays

    @admin.display(description="images")
    def images(self, job: GenerationJob) -> str:
        return f"{job.images_made} of {job.images_requested}"

    @admin.display(description="estimate", ordering="estimated_cost")
    def estimated(self, job: GenerationJob) -> str:
        return usage.format_usd(job.estimated_cost) if job.estimated_cost is not None else "—"

    @admin.display(description="cost", ordering="actual_cost")
    def actual(self, job: GenerationJob) -> str:
        if job.actual_cost is None:
            return "—"
        return f"{usage.format_usd(job.actual_cost)} ({job.get_cost_source_display()})"

    # --- the total under the list ----------------------------------------------------------------------------

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if changelist is not None:  # None on redirects, e.g. after an invalid filter
            # The filtered and searched queryset, every page of it, not just the rows shown.
            totals = usage.usage_of(changelist.queryset)
            context["jobs_total"] = totals
            context["jobs_total_spend"] = usage.spend_text(totals)
            context["jobs_total_estimated"] = usage.format_usd(totals.estimated)
        return response

    # --- usage ---------------------------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "usage/",
                self.admin_site.admin_view(self.usage_view),
                name=f"{opts.app_label}_{opts.model_name}_usage",
            ),
            *super().get_urls(),
        ]

    def usage_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        months = usage.usage_by_month(12)
        # Only the months on the page: anything else (9999-12, garbage) falls back to the latest.
        listed = {m.month for m in months}
        asked = parse_month(request.GET.get("month", ""))
        month = asked if asked in listed else months[-1].month
        since = timezone.make_aware(datetime(month.year, month.month, 1))
        next_month = usage.add_months(month, 1)
        until = timezone.make_aware(datetime(next_month.year, next_month.month, 1))
        by_user = usage.usage_by("user", since, until)
        by_provider = usage.usage_by("provider", since, until)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Image generation usage",
            "months": [_month_row(m, month) for m in reversed(months)],
            "months_total": usage.total(months),
            "months_total_spend": usage.spend_text(usage.total(months)),
            "spend_chart": bar_chart(
                "Spend per month",
                "usage-spend",
                [
                    (usage.month_label(m.month, short=True), m.spend, usage.format_usd(m.spend))
                    for m in months
                ],
            ),
            "images_chart": bar_chart(
                "Images per month",
                "usage-images",
                [(usage.month_label(m.month, short=True), Decimal(m.images), str(m.images)) for m in months],
            ),
            "month": month,
            "month_label": usage.month_label(month),
            "month_choices": [(f"{m.month:%Y-%m}", usage.month_label(m.month)) for m in reversed(months)],
            "month_value": f"{month:%Y-%m}",
            "by_user": group_rows(by_user),
            "by_provider": group_rows(by_provider),
            "month_total": usage.total(by_provider),
        }
        return TemplateResponse(request, "admin/imagegen/generationjob/usage.html", context)


def parse_month(text: str) -> date | None:
    """'2025-03' → date(2025, 3, 1); anything else → None (the page then shows this month)."""
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        return None
    return date(parsed.year, parsed.month, 1)


def _month_row(row: usage.MonthUsage, chosen: date) -> dict[str, Any]:
    return {
        "usage": row,
        "label": usage.month_label(row.month),
        "value": f"{row.month:%Y-%m}",
        "spend": usage.spend_text(row),
        "estimated": usage.format_usd(row.estimated) if row.estimated else "",
        "chosen": row.month == chosen,
    }


# --- Charts: plain SVG whose numbers are also written out as text -----------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as a person reads it
    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def value_y(self) -> float:
        return self.y - 4


CHART_HEIGHT = 160  # the bars' area; labels go above and below it
CHART_TOP = 18
BAR_WIDTH = 40
BAR_GAP = 12


def bar_chart(title: str, chart_id: str, values: list[tuple[str, Decimal, str]]) -> dict[str, Any]:
    """Geometry for a vertical bar chart; the template draws it. Heights are relative to the largest value."""
    peak = max((v for _, v, _ in values), default=Decimal(0))
    bars = []
    for i, (label, value, text) in enumerate(values):
        height = float(value / peak * CHART_HEIGHT) if peak else 0.0
        # A non-zero value gets at least a sliver, so "small" never looks like "none".
        height = max(height, 2.0) if value else 0.0
        x = BAR_GAP / 2 + i * (BAR_WIDTH + BAR_GAP)
        bars.append(Bar(label, text, x, CHART_TOP + CHART_HEIGHT - height, BAR_WIDTH, height))
    return {
        "id": chart_id,
        "title": title,
        "bars": bars,
        "width": len(values) * (BAR_WIDTH + BAR_GAP),
        "height": CHART_TOP + CHART_HEIGHT + 22,
        "baseline": CHART_TOP + CHART_HEIGHT,
        "label_y": CHART_TOP + CHART_HEIGHT + 15,
        "summary": "; ".join(f"{label}: {text}" for label, _, text in values),
    }


def group_rows(rows: list[usage.GroupUsage]) -> list[dict[str, Any]]:
    """Table rows with a bar length in percent: of the largest spend, or of the most images when nothing cost
    anything (self-hosted Stable Diffusion only) — the caption says which."""
    by_spend = any(r.spend for r in rows)
    peak = max((r.spend if by_spend else Decimal(r.images) for r in rows), default=Decimal(0))
    return [
        {
            "usage": r,
            "label": r.label,
            "spend": usage.spend_text(r),
            "percent": round(float((r.spend if by_spend else Decimal(r.images)) / peak * 100), 1)
            if peak
            else 0,
            "measure": "spend" if by_spend else "images",
        }
        for r in rows
    ]
