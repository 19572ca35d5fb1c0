from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.debug import sensitive_post_parameters

from .forms import SignUpForm


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("projects:list")


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is closed on this site.")
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        if settings.SIGNUP_CAN_GENERATE:
            # The operator opted in; otherwise an admin allows each new account (imagegen/permissions.py).
            from imagegen.permissions import allow_generating

            allow_generating(user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to Inkweld, {user.username}.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


# Error pages: our templates, rendered without anything that could itself fail (no DB queries).
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may be in one of them, or in the database.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
