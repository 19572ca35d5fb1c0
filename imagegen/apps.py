from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    verbose_name = "AI image generation"
    name = "imagegen"
