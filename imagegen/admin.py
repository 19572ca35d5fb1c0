"""Django admin for image generation: the AI Image Generation settings singleton."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.safestring import SafeString
from django.views.decorators.debug import sensitive_post_parameters

from imagegen.config import PROVIDER_IDS, EffectiveConfig, get_config
from imagegen.forms import KEY_FIELDS, ImageGenerationSettingsForm, key_saved
from imagegen.models import ImageGenerationSettings

KEY_INPUTS = [f"{name}_new" for name in KEY_FIELDS]


def render_provider_status(config: EffectiveConfig) -> SafeString:
    """The status block: generation as a whole, then each provider with the reason it is unavailable.

    Kept separate so that a live check (Test connection) can re-render just this block.
    """
    providers = [
        {"provider_id": pid, "label": p.label, "status": p.status(), "enabled": p.enabled}
        for pid in PROVIDER_IDS
        for p in [config.provider(pid)]
    ]
    default = config.effective_default_provider()
    return render_to_string(
        "admin/imagegen/_provider_status.html",
        {
            "generation": config.generation_status(),
            "default_provider": config.provider(default).label if default else "",
            "providers": providers,
        },
    )


class SingletonModelAdmin(admin.ModelAdmin):
    """django-solo's pattern: no add, no delete, the list opens the one form."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        if object_id == str(self.model.SINGLETON_PK):
            return self.model.load()
        return super().get_object(request, object_id, from_field)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[self.model.SINGLETON_PK])
        return HttpResponseRedirect(url)


@admin.register(ImageGenerationSettings)
class ImageGenerationSettingsAdmin(SingletonModelAdmin):
    form = ImageGenerationSettingsForm

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Seeing the settings is as sensitive as changing them: view-only staff get the usual refusal.
        return self.has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[tuple[str | None, dict[str, Any]]]:
        def key(field: str) -> tuple[str, ...]:
            # The remove checkbox is only offered when there is something to remove.
            saved = obj is not None and key_saved(getattr(obj, field))
            return (f"{field}_new", f"{field}_remove") if saved else (f"{field}_new",)

        return [
            (
                None,
                {
                    "fields": ["enabled", "default_provider"],
                    "description": "A blank field, or a switch on “Use environment”, takes the environment "
                    "variable, else the default. Under each field: the value in effect now and where it comes from.",
                },
            ),
            (
                "OpenAI",
                {"fields": ["openai_enabled", key("openai_api_key"), "openai_base_url", "openai_timeout"]},
            ),
            (
                "OpenRouter",
                {
                    "fields": [
                        "openrouter_enabled",
                        key("openrouter_api_key"),
                        "openrouter_base_url",
                        "openrouter_timeout",
                    ]
                },
            ),
            ("Stable Diffusion", {"fields": ["sd_enabled", "sd_endpoint", key("sd_api_key"), "sd_timeout"]}),
            ("Limits", {"fields": ["daily_limit", "monthly_budget"]}),
        ]

    @method_decorator(sensitive_post_parameters(*KEY_INPUTS))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "imagegen_status": render_provider_status(get_config())}
        return super().changeform_view(request, object_id, form_url, extra_context)
