"""`/healthz`: the process answers. No database, no session, no template: for load balancers and probes.

A middleware, first in the stack, rather than a view: probes usually speak plain HTTP to an IP address, which
the HTTPS redirect and the ALLOWED_HOSTS check further down would answer with 301 or 400.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PATH = "/healthz"


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == PATH and request.method in ("GET", "HEAD"):
            response = HttpResponse("ok", content_type="text/plain")
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
