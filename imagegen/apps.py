from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    verbose_name = "AI image generation"
    name = "imagegen"

    def ready(self) -> None:
        from django.core import checks

        from imagegen import (  # noqa: F401  register the job and price admins
            admin_jobs,
            admin_prices,
            signals,
        )
        from imagegen.checks import check_environment

        checks.register(check_environment, "imagegen")
