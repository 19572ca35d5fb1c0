"""Projects and what lives in them: members, worldbuilding elements and documents.

Media items live in `media_library`; a project points at one of them as its cover, an element at one as its image.
Who may do what is decided in `projects.access`, never here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

RESERVED_SLUGS = {"new"}


class Project(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_projects"
    )
    title = models.CharField(max_length=200)
    # Unique across the site because it is the whole of the project's address.
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    # SET_NULL: deleting the media item must never take the project with it.
    cover = models.ForeignKey(
        "media_library.MediaItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # One of the project's Style elements, added to every generation unless the writer takes it out (so covers,
    # portraits and scenes match). SET_NULL: deleting the element only ends the house style.
    house_style = models.ForeignKey(
        "Element", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("projects:detail", kwargs={"slug": self.slug})

    @staticmethod
    def unique_slug_for(title: str) -> str:
        """A slug for a new project: the title's, with -2, -3… appended when it is taken."""
        base = slugify(title)[:70].strip("-") or "project"
        slug, n = base, 1
        # "new" is the address of the create page, so a project may not take it.
        while slug in RESERVED_SLUGS or Project.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug


class Membership(models.Model):
    """A person other than the owner who may see the project, and perhaps change it."""

    class Role(models.TextChoices):
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"


class Element(models.Model):
    """A worldbuilding element: a character, a place, a style… that a writer describes and generation can draw on."""

    class Kind(models.TextChoices):
        # The order here is the order of the groups on the Worldbuilding tab.
        CHARACTER = "character", "Character"
        LOCATION = "location", "Location"
        ITEM = "item", "Item"
        FACTION = "faction", "Faction"
        STYLE = "style", "Style"
        OTHER = "other", "Other"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="elements")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHARACTER)
    name = models.CharField(max_length=200)
    # Other names a passage may use for it ("Mira", "the cartographer"): matched like the name (projects.mentions).
    aliases = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    # Ordered [key, value] pairs as the writer entered them, e.g. [["Hair", "silver"], ["Age", "25"]].
    # A list rather than an object because the writer's order matters (prompts keep it).
    attributes = models.JSONField(default=list, blank=True)
    image = models.ForeignKey(
        "media_library.MediaItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:element", kwargs={"slug": self.project.slug, "pk": self.pk})

    @property
    def names(self) -> list[str]:
        """Its name and then its aliases: every way a passage may mention it."""
        return [self.name, *self.aliases]


class Document(models.Model):
    """A piece of writing. The body is plain text; images are embedded with the syntax in `projects.embeds`."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    order = models.PositiveIntegerField(
        default=0, help_text="Documents are listed by this number, lowest first."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("projects:document", kwargs={"slug": self.project.slug, "pk": self.pk})
