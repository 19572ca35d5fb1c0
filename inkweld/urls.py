from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("projects/", include("projects.urls")),
    path("projects/<slug:slug>/media/", include("media_library.urls")),
    path("projects/<slug:slug>/generate/", include("imagegen.urls")),
]

handler404 = "accounts.views.page_not_found"
handler403 = "accounts.views.permission_denied"
handler500 = "accounts.views.server_error"
