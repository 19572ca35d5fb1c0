"""Django admin for image generation: the AI Image Generation settings singleton."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.safestring import SafeString
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from imagegen.config import PROVIDER_IDS, EffectiveConfig, get_config
from imagegen.connection_check import LiveCheck, run_checks
from imagegen.forms import KEY_INPUTS, ImageGenerationSettingsForm, SettingsForm, key_saved
from imagegen.models import ImageGenerationSettings
from imagegen.retirement import retirement_warnings
from imagegen.saved_settings import load_saved
from imagegen.setting_specs import GLOBAL_SPECS, LIMIT_SPECS, PROVIDER_LABELS, Spec, provider_specs
from inkweld.http import HtmxRequest

if TYPE_CHECKING:
    # django-stubs' names for what get_fieldsets returns.
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec

logger = logging.getLogger(__name__)

# Test connection's results travel to the change page through the session (post/redirect/get): a reload then
# shows the saved status instead of re-sending the POST. They hold verdicts and reasons only, never a key.
LIVE_CHECKS_SESSION_KEY = "imagegen_live_checks"


def render_provider_status(
    config: EffectiveConfig,
    *,
    request: HttpRequest | None = None,
    live: list[LiveCheck] | None = None,
    checked_at: datetime | None = None,
) -> SafeString:
    """The status block: generation as a whole, then each provider with the reason it is unavailable.

    Kept separate so that a live check (Test connection) can re-render just this block. With `request` the block
    carries the Test connection form (it needs the CSRF token); `live` adds each provider's live result.
    """
    live_by_id = {check.provider_id: check for check in live or []}
    providers = [
        {
            "provider_id": pid,
            "label": p.label,
            "status": p.status(),
            "enabled": p.enabled,
            "live": live_by_id.get(pid),
        }
        for pid in PROVIDER_IDS
        for p in [config.provider(pid)]
    ]
    default = config.effective_default_provider()
    opts = ImageGenerationSettings._meta
    return render_to_string(
        "admin/imagegen/_provider_status.html",
        {
            "retirements": [w.message() for w in retirement_warnings(config)],
            "generation": config.generation_status(),
            "default_provider": config.provider(default).label if default else "",
            "providers": providers,
            "test_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_test_connection")
            if request
            else "",
            "checked_at": checked_at if live else None,
        },
        request=request,
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

    def get_fieldsets(
        self, request: HttpRequest, obj: ImageGenerationSettings | None = None
    ) -> _FieldsetSpec:
        """One section for image generation as a whole, one per provider (its declared settings), the limits."""
        saved = load_saved(obj) if obj is not None else None

        def names(spec: Spec) -> str | tuple[str, str]:
            if not spec.secret:
                return spec.field
            # The remove checkbox is only offered when there is something to remove.
            kept = saved is not None and key_saved(saved.get(spec))
            return (f"{spec.field}_new", f"{spec.field}_remove") if kept else f"{spec.field}_new"

        providers: list[tuple[str, _FieldOpts]] = [
            (PROVIDER_LABELS[pid], {"fields": [names(spec) for spec in provider_specs(pid)]})
            for pid in PROVIDER_IDS
        ]
        return [
            (
                None,
                {
                    "fields": [spec.field for spec in GLOBAL_SPECS],
                    "description": "A blank field, or a switch on “Use environment”, takes the environment "
                    "variable, else the default. Under each field: the value in effect now and where it comes from.",
                },
            ),
            *providers,
            ("Limits", {"fields": [spec.field for spec in LIMIT_SPECS]}),
        ]

    def save_model(
        self,
        request: HttpRequest,
        obj: ImageGenerationSettings,
        form: SettingsForm,
        change: bool,
    ) -> None:
        obj.save()
        form.save_provider_settings()  # the providers' settings are rows of their own, not the singleton's columns

    @method_decorator(sensitive_post_parameters(*KEY_INPUTS))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Popped on any visit: results are shown once, and a save makes them stale anyway.
        saved = request.session.pop(LIVE_CHECKS_SESSION_KEY, None)
        live = [LiveCheck.from_dict(item) for item in saved["checks"]] if saved else None
        checked_at = datetime.fromisoformat(saved["checked_at"]) if saved else None
        status = render_provider_status(get_config(), request=request, live=live, checked_at=checked_at)
        extra_context = {**(extra_context or {}), "imagegen_status": status}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        own = [
            path(
                "test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name=f"{opts.app_label}_{opts.model_name}_test_connection",
            )
        ]
        # First: the default patterns end in a catch-all for object ids.
        return own + super().get_urls()

    @method_decorator(require_POST)
    def test_connection_view(self, request: HtmxRequest) -> HttpResponse:
        """Test connection: check every configured provider now; back to the settings page with the results.

        A POST, because it calls out to every upstream with the saved keys on the admin's behalf, and a GET could be
        set off by any page the admin visits (an <img> pointing here). From htmx only the status block is answered, to be swapped in place.
        """
        if not self.has_change_permission(request):
            raise PermissionDenied
        config = get_config()
        checks = run_checks(config)
        logger.info(
            "AI image connection test by %s: %s",
            request.user.get_username(),
            ", ".join(f"{c.provider_id}={c.status}" for c in checks),
        )
        now = timezone.now()
        if request.htmx:
            return HttpResponse(render_provider_status(config, request=request, live=checks, checked_at=now))
        request.session[LIVE_CHECKS_SESSION_KEY] = {
            "checked_at": now.isoformat(),
            "checks": [c.as_dict() for c in checks],
        }
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[self.model.SINGLETON_PK])
        )
