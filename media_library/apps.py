from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    verbose_name = "Media library"
    name = "media_library"

    def ready(self) -> None:
        from . import signals  # noqa: F401  connects the file clean-up on delete
