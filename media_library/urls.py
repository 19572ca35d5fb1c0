"""Mounted at projects/<slug:slug>/media/ by inkweld/urls.py, so every view receives `slug`."""

from django.urls import path

from . import views

app_name = "media"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/set-cover/", views.set_cover, name="set_cover"),
    path("<int:pk>/insert/", views.insert_into_document, name="insert"),
    path("<int:pk>/set-element-image/", views.set_element_image, name="set_element_image"),
    path("<int:pk>/file/", views.serve_file, name="file"),
    path("<int:pk>/thumbnail/", views.serve_thumbnail, name="thumbnail"),
    path("<int:pk>/download/", views.download, name="download"),
]
