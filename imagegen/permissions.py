"""Who may spend the site's provider credit: Django's own permission "Can generate images".

Being able to edit a project is not enough to generate in it: a generation costs the operator money, and anyone who
can reach a site with sign-up open can make an account. So generating also needs the permission
`imagegen.generate_images` (declared on GenerationJob, shown in admin under a user's permissions). Migration 0004
gave it to every account that existed then and `seed_demo` gives it to its writer; an account that signs itself up
gets it only when the operator sets SIGNUP_CAN_GENERATE=true. `services.job_create` is the authority; the dialog,
the Generate Image button and `imagegen generate --user` ask the same question first, to explain instead of fail.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Permission, User

from .limits import LimitReached

APP_LABEL, CODENAME = "imagegen", "generate_images"
GENERATE_IMAGES = f"{APP_LABEL}.{CODENAME}"
PERMISSION_NAME = "Can generate images (spends the site's provider credit)"

NOT_ALLOWED = (
    "Generating images spends this site’s paid credit, so an admin has to allow it for your account first — "
    "ask an admin of this site to turn it on for you."
)


class GenerationNotAllowed(LimitReached):
    """This person may edit the project but not spend credit; the message says what to do."""

    def __init__(self, message: str = NOT_ALLOWED) -> None:
        super().__init__(message, limit="permission")


def can_generate(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(GENERATE_IMAGES))


def allow_generating(user: User) -> None:
    """Give `user` the permission (sign-up with SIGNUP_CAN_GENERATE, seed_demo, tests and benchmarks)."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label=APP_LABEL, codename=CODENAME))
    # has_perm caches per user object; forget it so this same object answers True from now on.
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
