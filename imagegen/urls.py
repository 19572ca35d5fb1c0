from django.urls import path

from . import views

app_name = "imagegen"
urlpatterns = [
    path("", views.dialog, name="dialog"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/<int:pk>/", views.job, name="job"),
    path("jobs/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("jobs/<int:pk>/save/", views.save, name="save"),
    path("jobs/<int:pk>/again/", views.again, name="again"),
    path("variations/<int:pk>/", views.variations, name="variations"),
    path("candidates/<int:pk>/", views.candidate_file, name="candidate"),
]
