"""Provider settings move from one column each on the settings singleton to ProviderSetting rows (provider, key),
so adding a provider needs no new columns. Saved keys move as they are: the same encrypted field on both sides
decrypts the old value and encrypts it again; a key that can no longer be decrypted moves as its ciphertext."""

from django.db import migrations, models

import imagegen.models

# old column → (provider id, key); the kinds decide how a value is written as text.
MOVED = {
    "openai_enabled": ("openai", "enabled"),
    "openai_api_key": ("openai", "api_key"),
    "openai_base_url": ("openai", "base_url"),
    "openai_timeout": ("openai", "timeout"),
    "openrouter_enabled": ("openrouter", "enabled"),
    "openrouter_api_key": ("openrouter", "api_key"),
    "openrouter_base_url": ("openrouter", "base_url"),
    "openrouter_timeout": ("openrouter", "timeout"),
    "sd_enabled": ("stable-diffusion", "enabled"),
    "sd_endpoint": ("stable-diffusion", "endpoint"),
    "sd_api_key": ("stable-diffusion", "api_key"),
    "sd_timeout": ("stable-diffusion", "timeout"),
}


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def columns_to_rows(apps, schema_editor):
    Settings = apps.get_model("imagegen", "ImageGenerationSettings")
    ProviderSetting = apps.get_model("imagegen", "ProviderSetting")
    for row in Settings.objects.all():
        for column, (provider, key) in MOVED.items():
            value = getattr(row, column)
            undecryptable = getattr(value, "undecryptable", False)
            if value is None or (value == "" and not undecryptable):
                continue
            if key == "api_key":
                ProviderSetting.objects.create(provider=provider, key=key, secret=value)
            else:
                ProviderSetting.objects.create(provider=provider, key=key, value=_text(value))


def rows_to_columns(apps, schema_editor):
    Settings = apps.get_model("imagegen", "ImageGenerationSettings")
    ProviderSetting = apps.get_model("imagegen", "ProviderSetting")
    row = Settings.objects.filter(pk=1).first()
    if row is None:
        return
    by_place = {place: column for column, place in MOVED.items()}
    for stored in ProviderSetting.objects.all():
        column = by_place.get((stored.provider, stored.key))
        if column is None:
            continue  # a provider the old columns never knew (e.g. ComfyUI): cannot go back
        if stored.key == "api_key":
            setattr(row, column, stored.secret)
        elif stored.key == "enabled":
            setattr(row, column, stored.value == "true")
        elif stored.key == "timeout":
            setattr(row, column, int(stored.value))
        else:
            setattr(row, column, stored.value)
    row.save()


class Migration(migrations.Migration):
    dependencies = [
        ("imagegen", "0005_costs_and_prices"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProviderSetting",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=40)),
                ("key", models.CharField(max_length=60)),
                ("value", models.TextField(blank=True, default="")),
                ("secret", imagegen.models.SecretKeyField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("provider", "key"), name="provider_setting_unique_key")
                ],
            },
        ),
        migrations.RunPython(columns_to_rows, rows_to_columns),
        *(migrations.RemoveField(model_name="imagegenerationsettings", name=column) for column in MOVED),
        migrations.AlterField(
            model_name="imagegenerationsettings",
            name="default_provider",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Used when available; otherwise the first available one.",
                max_length=32,
                verbose_name="Default provider",
            ),
        ),
    ]
