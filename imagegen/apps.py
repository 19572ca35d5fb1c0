from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    verbose_name = "AI image generation"
    name = "imagegen"

    def ready(self) -> None:
        from django.core import checks
        from django_tasks.signals import task_enqueued

        from imagegen import (  # noqa: F401  register the job and price admins
            admin_jobs,
            admin_prices,
            signals,
        )
        from imagegen.checks import check_environment
        from imagegen.wakeup import wake_workers

        task_enqueued.connect(wake_workers, dispatch_uid="imagegen.wake_workers")

        checks.register(check_environment, "imagegen")
