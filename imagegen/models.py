"""Image generation models."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from encrypted_fields.fields import EncryptedTextField

from imagegen.config import SPEC_BY_NAME

if TYPE_CHECKING:
    from .pricing import PerImage, PerToken

# --- Settings singleton ---------------------------------------------------------------------------------------


class UndecryptableKey(str):
    """A saved key the current SECRET_KEY / SALT_KEY cannot open.

    As text it is empty, so anything that tests or sends "the key" sends nothing; the ciphertext rides along
    only so that saving the row again writes it back unchanged (restoring the old secret as a fallback would
    make it readable again).
    """

    undecryptable = True
    ciphertext: str

    def __new__(cls, ciphertext: str) -> UndecryptableKey:
        obj = super().__new__(cls, "")
        obj.ciphertext = ciphertext
        return obj

    def __repr__(self) -> str:
        return "UndecryptableKey()"


# A Fernet token: version byte 0x80 base64-encoded ("gAAAAA…"), then at least IV, HMAC and one block.
FERNET_TOKEN = re.compile(r"^gAAAAA[A-Za-z0-9_-]{94,}={0,2}$")


class SecretKeyField(EncryptedTextField):
    """An encrypted API key that says so when it cannot be decrypted.

    django-fernet-encrypted-fields returns the ciphertext itself when decryption fails, which would then be sent
    upstream as if it were the key; this field returns an `UndecryptableKey` instead.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        try:
            return self.f.decrypt(value.encode("utf-8")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            return UndecryptableKey(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, UndecryptableKey) or not isinstance(value, str) or not FERNET_TOKEN.match(value):
            return value  # a plain key typed into a form
        # loaddata hands us the ciphertext dumpdata wrote. The library would return it unchanged when it cannot be
        # decrypted (another server's secrets), and it would then be sent upstream as the key.
        try:
            return self.f.decrypt(value.encode("utf-8")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            return UndecryptableKey(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, UndecryptableKey):
            return value.ciphertext or None
        return super().get_prep_value(value)

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata would otherwise print the key in plain text; loaddata decrypts this again (to_python).
        return self.get_prep_value(self.value_from_object(obj)) or ""


class ImageGenerationSettings(models.Model):
    """The one row of admin-entered settings of image generation as a whole. A blank field means "use the
    environment"; see imagegen/config.py. Each provider's own settings are ProviderSetting rows."""

    SINGLETON_PK = 1

    enabled = models.BooleanField(
        "Enable image generation",
        null=True,
        blank=True,
        default=None,
        help_text="The master switch. Default: on, when a provider is available.",
    )
    # No `choices=`: the admin form offers the registry's providers, so adding a provider needs no migration.
    default_provider = models.CharField(
        "Default provider",
        max_length=32,
        blank=True,
        default="",
        help_text="Used when available; otherwise the first available one.",
    )

    daily_limit = models.PositiveIntegerField(
        "Daily image limit per user", null=True, blank=True, help_text="Blank everywhere = no limit."
    )
    monthly_budget = models.DecimalField(
        "Monthly budget (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Blank everywhere = no budget.",
    )

    unknown_price = models.CharField(
        "When a model's price is unknown",
        max_length=10,
        blank=True,
        default="",
        choices=[("", "Use environment"), *SPEC_BY_NAME["unknown_price"].choices],
        help_text="Applies while a monthly budget is set: refuse such jobs, or let them run and count the assumed "
        "price per image against the budget.",
    )
    assumed_price = models.DecimalField(
        "Assumed price per image (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Counted against the budget for a model whose price is unknown, when such jobs are allowed.",
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI Image Generation"
        verbose_name_plural = "AI Image Generation"

    def __str__(self) -> str:
        return "Settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.SINGLETON_PK  # one row, whoever saves it
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> ImageGenerationSettings:
        obj, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return obj


class ProviderSetting(models.Model):
    """One provider setting an admin saved (`imagegen set sd.endpoint …`, or the settings page), stored the same way
    for every provider, so a new provider needs no new columns. Keys go in `secret`, encrypted; everything else is
    text in `value`, parsed by the setting's kind (imagegen.setting_specs)."""

    provider = models.CharField(max_length=40)
    key = models.CharField(max_length=60)
    value = models.TextField(blank=True, default="")
    # null, not "": the encrypted field stores an empty value as NULL.
    secret = SecretKeyField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "key"], name="provider_setting_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.provider}.{self.key}"


# --- Generation jobs ------------------------------------------------------------------------------------------


class GenerationJob(models.Model):
    """One request to generate images: the audit record, failures included."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTLY_SUCCEEDED = "partly_succeeded", "Partly succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="generation_jobs"
    )
    # Jobs outlive their project for the audit: the title is kept as text.
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_jobs"
    )
    project_title = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=200)
    # size, quality, style, count, negative_prompt, seed, steps — whatever the model allowed.
    options = models.JSONField(default=dict, blank=True)
    prompt = models.TextField(help_text="What the writer typed.")
    composed_prompt = models.TextField(help_text="What was sent upstream, with worldbuilding context.")
    prompt_notes = models.JSONField(default=list, blank=True, help_text="What context was left out to fit.")
    # [{"id", "name", "kind", "role"}]: a snapshot, so renaming an element later doesn't rewrite history.
    elements = models.JSONField(default=list, blank=True)
    # How many Reference images the model accepts: kept here because live-only models are not in the catalog.
    max_input_images = models.PositiveSmallIntegerField(default=0)
    images_requested = models.PositiveSmallIntegerField(default=1)
    images_made = models.PositiveSmallIntegerField(default=0)

    class Operation(models.TextChoices):
        """What the job does. Edits, variations and upscales start from an image and save as its versions."""

        GENERATE = "generate", "Generation"
        EDIT = "edit", "Edit"
        VARIATION = "variation", "Variation"
        UPSCALE = "upscale", "Upscale"

    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.GENERATE)
    # The image it starts from: a saved one, or a candidate not saved yet (edits only). SET_NULL: a job outlives
    # its source for the audit; a queued job whose source is gone fails saying so.
    source_item = models.ForeignKey(
        "media_library.MediaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_candidate = models.ForeignKey(
        "Candidate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The painted mask, in the one convention (transparent = repaint; imagegen/masks.py), kept for the audit
    # and for Try again. Empty for a whole-image edit.
    mask = models.FileField(upload_to="masks/", blank=True, max_length=300)
    # Generate portrait: the element the image is meant for ("Set as element image" is offered for it).
    target_element = models.ForeignKey(
        "projects.Element", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Purpose(models.TextChoices):
        """What the images are for, where the dialog was opened for one thing: it decides the first action."""

        ANY = "", "Any"
        COVER = "cover", "Project cover"

    purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True, default="")

    # Illustrate this passage: the document and paragraph (1 is the first) it illustrates, so a saved image can be
    # inserted right after that paragraph. SET_NULL: the job outlives the document for the audit.
    target_document = models.ForeignKey(
        "projects.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_paragraph = models.PositiveIntegerField(null=True, blank=True)
    # The settings of an edit or upscale beyond `options`, as the writer saw them: the source's title and size,
    # how much the mask marked, which portraits went along and which were left out (imagegen/iterate.py).
    edit_details = models.JSONField(default=dict, blank=True)

    class CostSource(models.TextChoices):
        """Where a job's actual cost came from, best first."""

        PROVIDER = "provider", "reported by the provider"
        TOKENS = "tokens", "computed from the tokens used"
        ESTIMATE = "estimate", "estimated (nothing better was reported)"
        FREE = "free", "self-hosted, free"
        UNKNOWN = "", "unknown"

    estimated_cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    # The model's price was unknown and the budget policy let the job run, counting an assumed price per image.
    estimate_assumed = models.BooleanField(default=False)
    actual_cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_source = models.CharField(max_length=10, choices=CostSource.choices, blank=True, default="")
    # The upstream may have charged although no image came of it: an answer never arrived, arrived unusable, or
    # the worker died mid-call. Such a job counts against the budget at its cost, else at its estimate.
    may_have_cost = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(null=True, blank=True, help_text="0–1 where the provider reports it.")
    cancel_requested = models.BooleanField(default=False)
    error_class = models.CharField(max_length=40, blank=True, db_index=True)
    error_message = models.TextField(blank=True)
    request_ids = models.JSONField(default=list, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written every few seconds while a worker runs the job (imagegen/progress.py); a running job whose heartbeat
    # stops is failed by any worker (imagegen/recovery.py), so a killed worker's job does not stay "running".
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The task-queue row running the job (django-tasks' result id), so recovery can end that row too.
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["project", "created_at"]),
        ]
        # Spending the site's provider credit is a permission of its own (imagegen/permissions.py).
        permissions = [("generate_images", "Can generate images (spends the site's provider credit)")]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.provider}/{self.model}, {self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def cost(self) -> Decimal | None:
        return self.actual_cost if self.actual_cost is not None else self.estimated_cost


# The jobs that may have cost money: still running, made an image, have a cost on record, or may have been billed
# without an image. The budget (limits.py) and the usage reports (usage.py) count exactly these.
MAY_HAVE_COST = (
    models.Q(status__in=GenerationJob.UNFINISHED)
    | models.Q(images_made__gt=0)
    | models.Q(actual_cost__isnull=False)
    | models.Q(may_have_cost=True)
)


def candidate_path(candidate: Candidate, filename: str) -> str:
    return f"candidates/{candidate.job_id}/{filename}"


class Candidate(models.Model):
    """An image a job returned, kept until the writer saves it to the library or it expires."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="candidates")
    index = models.PositiveSmallIntegerField()
    file = models.FileField(upload_to=candidate_path, max_length=300)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    # Made by the worker from the one decode of the image; the library takes it over when the image is saved.
    # Empty for candidates from before thumbnails were kept.
    thumbnail = models.FileField(upload_to=candidate_path, max_length=300, blank=True)
    thumbnail_width = models.PositiveIntegerField(default=0)
    thumbnail_height = models.PositiveIntegerField(default=0)
    seed = models.BigIntegerField(null=True, blank=True)
    revised_prompt = models.TextField(blank=True)
    extra = models.JSONField(default=dict, blank=True)
    saved_item = models.ForeignKey(
        "media_library.MediaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="candidate_unique_index")]

    def __str__(self) -> str:
        return f"Candidate {self.index + 1} of job {self.job_id}"


class JobPreview(models.Model):
    """The picture forming while a job runs (the provider's latest preview), for the open dialog.

    Never a file and never in the library: one row per running job, overwritten as previews arrive, deleted when the
    job finishes (services._finish, and after the worker's monitor stops). `number` counts previews, so a dialog
    can tell a new one from the one it shows.
    """

    job = models.OneToOneField(
        GenerationJob, on_delete=models.CASCADE, primary_key=True, related_name="preview"
    )
    image = models.BinaryField()
    content_type = models.CharField(max_length=50)
    number = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"Preview {self.number} of job {self.job_id}"


# --- Prices an admin sets ---------------------------------------------------------------------------------------


class ModelPrice(models.Model):
    """An admin's price for a model or a whole family, used instead of the built-in one for estimates and for
    costs computed from tokens. Gateways charge differently and prices move; a provider's reported cost still wins."""

    class Kind(models.TextChoices):
        PER_IMAGE = "per_image", "Per image"
        PER_TOKEN = "per_token", "Per million tokens"

    # No `choices=` on provider fields: the registry's providers are offered by the admin forms, so adding a
    # provider needs no migration.
    provider = models.CharField(max_length=40)
    model = models.CharField(
        max_length=200,
        help_text="A model id (gpt-image-2.6-sunburst) or a family (gpt-image-2). A family's price applies to "
        "every model in it that has no price of its own here.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PER_TOKEN)
    per_image = models.DecimalField(
        "USD per image",
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    text_in = models.DecimalField(
        "text in (USD per 1M tokens)",
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    image_in = models.DecimalField(
        "image in (USD per 1M tokens)",
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    image_out = models.DecimalField(
        "image out (USD per 1M tokens)",
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    note = models.CharField(
        max_length=200, blank=True, help_text="Where the price comes from, e.g. the gateway's page."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "model price"
        ordering = ["provider", "model"]
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="model_price_unique_model")]

    def __str__(self) -> str:
        from .providers import provider_label

        return f"{self.model} ({provider_label(self.provider)})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == self.Kind.PER_IMAGE and self.per_image is None:
            raise ValidationError({"per_image": "Enter the price of one image."})
        if self.kind == self.Kind.PER_TOKEN:
            missing = {
                name: "Enter the price per million tokens."
                for name in ("text_in", "image_in", "image_out")
                if getattr(self, name) is None
            }
            if missing:
                raise ValidationError(missing)

    def as_price(self) -> PerImage | PerToken:
        from .pricing import PerImage, PerToken

        source = f"admin override{f' ({self.note})' if self.note else ''}"
        as_of = self.updated_at.date() if self.updated_at else None
        if self.kind == self.Kind.PER_IMAGE:
            return PerImage(flat=self.per_image, source=source, as_of=as_of)
        return PerToken(
            text_in=self.text_in or Decimal(0),
            image_in=self.image_in or Decimal(0),
            image_out=self.image_out or Decimal(0),
            source=source,
            as_of=as_of,
        )
