"""What a view's request carries, for the type checker: the attributes middleware and decorators add.

django-htmx and django-stubs both document typing requests this way; nothing here exists at run time
beyond the annotations.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """Any request: django-htmx's middleware sets `request.htmx` on every one."""

    htmx: HtmxDetails


class AuthenticatedRequest(HtmxRequest):
    """A request behind `login_required` (every `project_view` is): a signed-in user, never AnonymousUser."""

    user: User
