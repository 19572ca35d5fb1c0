from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    verbose_name = "Media library"
    name = "media_library"
