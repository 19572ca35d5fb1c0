"""Mounted at projects/. The Media tab lives in media_library.urls (projects/<slug>/media/)."""

from django.urls import path

from .views import documents, elements, projects

app_name = "projects"
urlpatterns = [
    path("", projects.project_list, name="list"),
    path("new/", projects.create, name="create"),
    path("<slug:slug>/", projects.detail, name="detail"),
    path("<slug:slug>/edit/", projects.edit, name="edit"),
    path("<slug:slug>/delete/", projects.delete, name="delete"),
    path("<slug:slug>/members/", projects.member_add, name="member_add"),
    path("<slug:slug>/members/<int:pk>/remove/", projects.member_remove, name="member_remove"),
    path("<slug:slug>/documents/", documents.document_list, name="documents"),
    path("<slug:slug>/documents/new/", documents.document_create, name="document_create"),
    path("<slug:slug>/documents/<int:pk>/", documents.document_detail, name="document"),
    path("<slug:slug>/documents/<int:pk>/edit/", documents.document_edit, name="document_edit"),
    path("<slug:slug>/documents/<int:pk>/delete/", documents.document_delete, name="document_delete"),
    path("<slug:slug>/worldbuilding/", elements.element_list, name="elements"),
    path("<slug:slug>/worldbuilding/new/", elements.element_create, name="element_create"),
    path("<slug:slug>/worldbuilding/<int:pk>/", elements.element_detail, name="element"),
    path("<slug:slug>/worldbuilding/<int:pk>/edit/", elements.element_edit, name="element_edit"),
    path("<slug:slug>/worldbuilding/<int:pk>/delete/", elements.element_delete, name="element_delete"),
]
