from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

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
    ]

    @admin.display(description="image")
    def image_link(self, item: MediaItem) -> str:
        return format_html('<a href="{}">{}</a>', item.get_absolute_url(), item.file.name)

    @admin.display(description="size")
    def dimensions(self, item: MediaItem) -> str:
        return f"{item.width} x {item.height}"

    @admin.display(description="bytes", ordering="size_bytes")
    def size(self, item: MediaItem) -> str:
        return filesizeformat(item.size_bytes)
