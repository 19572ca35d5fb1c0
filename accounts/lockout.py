"""Password guessing: what django-axes needs from us — the client's address, and the page a locked-out person sees.

Axes (configured in inkweld/settings.py) counts failed sign-ins per username and address, on the site's sign-in and
the admin's, and after LOGIN_FAILURE_LIMIT of them refuses that pair for LOGIN_COOLOFF_MINUTES.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_address(request: HttpRequest) -> str | None:
    """The address that failed: REMOTE_ADDR, or behind the TLS-terminating proxy (SECURE_PROXY_SSL_HEADER is set)
    the address that proxy appended to X-Forwarded-For — the right-most entry. Entries to its left were written by
    the client and prove nothing; trusting them would let a guesser pick a fresh address for every try."""
    remote = request.META.get("REMOTE_ADDR")
    if not getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return remote


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """429: too many wrong passwords; says until when, in the site's time zone."""
    username = get_client_username(request, credentials) or ""
    until = _locked_until(request, username)
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    context = {"username": username, "until": timezone.localtime(until), "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


def _locked_until(request: HttpRequest, username: str) -> datetime:
    cool_off = get_cool_off(request) or settings.AXES_COOLOFF_TIME
    last = (
        AccessAttempt.objects.filter(username=username, ip_address=getattr(request, "axes_ip_address", None))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    return (last or timezone.now()) + cool_off
