from django.contrib import admin

from .models import Document, Element, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "owner", "updated_at"]
    search_fields = ["title", "slug", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "cover"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [MembershipInline]


@admin.register(Element)
class ElementAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description", "project__title"]
    list_select_related = ["project"]
    raw_id_fields = ["project", "image"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "order", "updated_at"]
    search_fields = ["title", "project__title"]
    list_select_related = ["project"]
    raw_id_fields = ["project"]
