from django.urls import path

from . import iterate_views, live_views, views

app_name = "imagegen"
urlpatterns = [
    path("", views.dialog, name="dialog"),
    path("jobs/", views.jobs, name="jobs"),
    path("history/", views.history, name="history"),
    path("jobs/<int:pk>/", views.job, name="job"),
    path("jobs/<int:pk>/events/", live_views.job_events, name="job_events"),
    path("jobs/<int:pk>/preview/", live_views.job_preview, name="preview"),
    path("jobs/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("jobs/<int:pk>/save/", views.save, name="save"),
    path("jobs/<int:pk>/again/", views.again, name="again"),
    path("candidates/<int:pk>/", views.candidate_file, name="candidate"),
    # Iterating on an image (iterate_views.py): each result is saved as a version of its source.
    path("variations/<int:pk>/", iterate_views.variations, name="variations"),
    path("edit/<int:pk>/", iterate_views.edit_item, name="edit"),
    path("candidates/<int:pk>/edit/", iterate_views.edit_candidate, name="edit_candidate"),
    path("upscale/<int:pk>/", iterate_views.upscale, name="upscale"),
    path("portrait/<int:pk>/", iterate_views.portrait, name="portrait"),
    path("cover/", iterate_views.cover, name="cover"),
]
