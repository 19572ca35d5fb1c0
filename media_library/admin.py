from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from . import services
from .models import MediaItem


@admin.register(MediaItem)
class MediaItemAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "project",
        "origin",
        "content_type",
        "dimensions",
        "size",
        "created_by",
        "created_at",
    ]
    list_filter = ["origin", "content_type"]
    search_fields = ["title", "alt_text", "sha256", "project__title"]
    list_select_related = ["project", "created_by"]
    raw_id_fields = ["project", "created_by"]
    # The files are private (no public MEDIA_URL): show where they are served, through the access check.
    exclude = ["file", "thumbnail"]
    readonly_fields = [
        "image_link",
        "thumbnail_width",
        "thumbnail_height",
        "content_type",
        "width",
        "height",
        "size_bytes",
        "sha256",
        "created_at",
        # Versions are made and re-linked by the app (media_library/versions.py), not by hand.
        "source",
        "original",
        "operation",
    ]

    def delete_model(self, request: HttpRequest, obj: MediaItem) -> None:
        # The same deletion as the Media tab: references cleared, versions re-linked (media_library/versions.py).
        services.media_item_delete(item=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MediaItem]) -> None:
        for item in queryset:
            services.media_item_delete(item=item)

    @admin.display(description="image")
    def image_link(self, item: MediaItem) -> str:
        return format_html('<a href="{}">{}</a>', item.get_absolute_url(), item.file.name)

    @admin.display(description="size")
    def dimensions(self, item: MediaItem) -> str:
        return f"{item.width} x {item.height}"

    @admin.display(description="bytes", ordering="size_bytes")
    def size(self, item: MediaItem) -> str:
        return filesizeformat(item.size_bytes)
