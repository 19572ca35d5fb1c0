"""Create the demo accounts (and, once projects exist, the demo project). Safe to run again."""

import os
import secrets
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' and the writer 'writer' with a demo project. Idempotent: existing "
        "accounts keep their passwords. Passwords come from DEMO_ADMIN_PASSWORD / DEMO_WRITER_PASSWORD, "
        "else they are generated and printed once."
    )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        self._user("admin", "DEMO_ADMIN_PASSWORD", superuser=True)
        writer = self._user("writer", "DEMO_WRITER_PASSWORD", superuser=False)
        self._demo_content(writer)

    def _user(self, username: str, env_name: str, *, superuser: bool) -> User:
        user = User.objects.filter(username=username).first()
        if user is not None:
            self.stdout.write(f"User '{username}' already exists; its password is unchanged.")
            return user
        password = os.environ.get(env_name) or secrets.token_urlsafe(12)
        if superuser:
            user = User.objects.create_superuser(username, f"{username}@example.com", password)
        else:
            user = User.objects.create_user(username, f"{username}@example.com", password)
        shown = "from " + env_name if os.environ.get(env_name) else password
        self.stdout.write(self.style.SUCCESS(f"Created user '{username}' with password: {shown}"))
        return user

    def _demo_content(self, writer: User) -> None:
        # The projects app provides the demo project; imported here so accounts stays independent of it.
        try:
            from projects.demo import seed_demo_project
        except ImportError:
            return
        # The demo writer may generate images: the demo is about that (imagegen/permissions.py).
        from imagegen.permissions import allow_generating

        allow_generating(writer)
        created = seed_demo_project(writer)
        if created:
            self.stdout.write(self.style.SUCCESS("Created the demo project (slug 'demo')."))
        else:
            self.stdout.write("The demo project already exists.")
