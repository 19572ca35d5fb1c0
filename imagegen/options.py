"""The generation options, declared once: size, quality, style, count, negative prompt, seed, steps …

Each option is one `Option`: its name (the key in the dialog's form, the job record and the request a provider
builds), its label, whether a model offers it (read from the `ModelSpec`), the form field(s) it needs, and the rule a
value must meet. The Generate Image form builds its fields from `OPTIONS`, `manage.py imagegen generate` builds its
arguments from them and validates through the same form, `validate_request` checks a request against the same rules
before anything is sent, and a saved image's page lists them by the same labels.

An option also says which operations take it (`operations`): a generation, an edit of an image, or both. An edit
takes no size (the result follows the source: see Provider.edit_size) but may take a strength.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .catalog import ModelSpec
from .sizes import AUTO, PRESETS, fit, offered_sizes, parse_size, size_label, size_of

CUSTOM = "custom"
MAX_SEED = 2**32 - 1
MAX_STEPS = 150
DEFAULT_STEPS = 30
CFG_RANGE = (1.0, 30.0)
DEFAULT_CFG_SCALE = 7.0
DEFAULT_STRENGTH = 0.75  # the WebUI's own default for img2img

GENERATE = "generate"
EDIT = "edit"


def _listing(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "none"


@dataclass(frozen=True)
class Option:
    """One generation option. Subclasses say when a model offers it and how a value is checked."""

    name: str
    label: str
    help: str = ""
    cli_help: str = ""
    metavar: str = "VALUE"
    # Shown on a saved image's page and kept in the job record; "count" is the job's own field instead.
    recorded: bool = True
    # The operations whose form offers it: a generation, an edit, or both.
    operations: tuple[str, ...] = (GENERATE, EDIT)

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def offered(self, spec: ModelSpec) -> bool:
        raise NotImplementedError

    def offered_for(self, spec: ModelSpec, operation: str) -> bool:
        return operation in self.operations and self.offered(spec)

    def fields(self, spec: ModelSpec) -> dict[str, forms.Field]:
        """The form field(s) this option needs for `spec` (the first is named after the option)."""
        raise NotImplementedError

    def value(self, cleaned: Mapping[str, Any]) -> Any:
        """The option's value from a form's cleaned data ("" / None when the writer left it to the model)."""
        return cleaned.get(self.name)

    def as_data(self, spec: ModelSpec, value: Any) -> dict[str, Any]:
        """Form data that selects `value` (for Generate again, a link's query, or the command line)."""
        return {} if value in (None, "") else {self.name: value}

    def problem(self, spec: ModelSpec, value: Any) -> str:
        """Why `spec` refuses `value`, as a sentence; "" when it takes it (the last line of defence, before sending)."""
        return ""

    def display(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class SizeOption(Option):
    def offered(self, spec: ModelSpec) -> bool:
        return True

    def choices(self, spec: ModelSpec) -> list[tuple[str, str]]:
        choices = offered_sizes(spec)
        if spec.size_rule is not None:
            choices.append((CUSTOM, "Custom size…"))
        return choices

    def fields(self, spec: ModelSpec) -> dict[str, forms.Field]:
        choices = self.choices(spec)
        offered = ", ".join(label for _, label in choices)
        fields: dict[str, forms.Field] = {
            self.name: forms.ChoiceField(
                label=self.label,
                choices=choices,
                initial=spec.initial_size,
                error_messages={
                    "invalid_choice": f"{spec.label} makes these sizes: {offered}. “%(value)s” is not one of them."
                },
            )
        }
        if spec.size_rule is not None:
            example = fit(1200, 1800, spec) or spec.initial_size
            fields["custom_size"] = forms.CharField(
                label="Custom size",
                required=False,
                max_length=13,
                help_text=f"Width x height in pixels, e.g. {example}; {spec.size_rule.summary()}.",
                # data-custom-size: shown only while "Custom size…" is chosen (static/js/inkweld.js); always
                # shown without JavaScript.
                widget=forms.TextInput(attrs={"placeholder": example, "data-custom-size": ""}),
            )
        return fields

    def value(self, cleaned: Mapping[str, Any]) -> Any:
        size = cleaned.get(self.name)
        if size == CUSTOM:
            return (cleaned.get("custom_size") or "").strip().lower()
        # A preset offered on a size an earlier one took ("1024x1536@print-6x9") is that size.
        return size_of(size) if isinstance(size, str) else size

    def as_data(self, spec: ModelSpec, value: Any) -> dict[str, Any]:
        if value in (None, ""):
            return {}
        if value in {v for v, _ in self.choices(spec)} or spec.size_rule is None:
            return {self.name: value}
        return {self.name: CUSTOM, "custom_size": value}

    def problem(self, spec: ModelSpec, value: Any) -> str:
        if value == CUSTOM or not isinstance(value, str) or not value:
            return f"Choose a size, or write one as width x height, e.g. {spec.initial_size}."
        return spec.size_problem(value)

    def display(self, value: Any) -> str:
        return size_label(str(value)) if value != AUTO else "Auto"


# Engines name samplers and schedulers by ids ("sgm_uniform", "dpmpp_2m_sde"), APIs their formats ("webp"); writers
# read the names the engines' own menus show. Parts of an id that are acronyms, spelled as the WebUI spells them:
_SPELLED = {
    "sgm": "SGM", "ddim": "DDIM", "ddpm": "DDPM", "kl": "KL", "lcm": "LCM", "dpm": "DPM", "dpmpp": "DPM++",
    "sde": "SDE", "gpu": "GPU", "cfg": "CFG", "pp": "++", "ays": "AYS", "deis": "DEIS", "ipndm": "iPNDM",
    "uni": "Uni", "pc": "PC", "2m": "2M", "3m": "3M", "2s": "2S", "res": "RES", "gits": "GITS",
    "png": "PNG", "jpeg": "JPEG", "webp": "WebP",
}  # fmt: skip


def words_of(value: str) -> str:
    """A choice as writers read it: "sgm_uniform" → "SGM uniform", "dpmpp_2m_sde" → "DPM++ 2M SDE", "high" →
    "High"; a name that is already words ("DPM++ 2M", "Euler a") stays as it is."""
    if "_" not in value and value != value.lower():
        return value
    text = " ".join(_SPELLED.get(part, part) for part in value.split("_")).replace(" ++", "++")
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class ChoiceOption(Option):
    """A choice from a tuple on the spec (`attribute`), e.g. qualities or styles."""

    attribute: str = ""
    required: bool = True

    def values(self, spec: ModelSpec) -> tuple[str, ...]:
        return tuple(getattr(spec, self.attribute))

    def offered(self, spec: ModelSpec) -> bool:
        return bool(self.values(spec))

    def initial(self, spec: ModelSpec) -> str:
        if self.name == "quality":
            return spec.initial_quality
        values = self.values(spec)
        return "" if not self.required else (values[-1] if self.name == "complexity" else values[0])

    def fields(self, spec: ModelSpec) -> dict[str, forms.Field]:
        values = self.values(spec)
        choices = [(v, self.display(v)) for v in values]
        if not self.required:
            choices.insert(0, ("", "The model's default"))
        return {
            self.name: forms.ChoiceField(
                label=self.label,
                choices=choices,
                required=self.required,
                initial=self.initial(spec),
                help_text=self.help,
                error_messages={
                    "invalid_choice": f"{spec.label} offers {self.label.lower()} {_listing(values)}; "
                    "“%(value)s” is not one of them."
                },
            )
        }

    def problem(self, spec: ModelSpec, value: Any) -> str:
        if value in (None, ""):
            return ""
        values = self.values(spec)
        if value not in values:
            if not values:
                return f"{spec.label} takes no {self.label.lower()}."
            return (
                f"{spec.label} offers {self.label.lower()} {_listing(values)}; “{value}” is not one of them."
            )
        return ""

    def display(self, value: Any) -> str:
        return words_of(str(value))


@dataclass(frozen=True)
class NumberOption(Option):
    """A whole number (or, with `decimal`, a number) within bounds; `flag` names the spec's switch for it."""

    flag: str = ""
    minimum: float = 0
    maximum: float = 0
    default: float | None = None
    decimal: bool = False
    dynamic_maximum: str = ""  # a spec attribute that sets the maximum instead (count: max_images_per_job)

    def offered(self, spec: ModelSpec) -> bool:
        return bool(getattr(spec, self.flag)) if self.flag else True

    def bounds(self, spec: ModelSpec) -> tuple[float, float]:
        maximum = getattr(spec, self.dynamic_maximum) if self.dynamic_maximum else self.maximum
        return self.minimum, maximum

    def fields(self, spec: ModelSpec) -> dict[str, forms.Field]:
        low, high = self.bounds(spec)
        help_text = self.help or (f"{low:g} to {high:g}." if self.default is not None else "")
        kwargs: dict[str, Any] = {
            "label": self.label,
            # Blank takes the default (value()), so a form posted without the field still means something.
            "required": False,
            "initial": self.default,
            "help_text": help_text,
            "error_messages": {
                "min_value": f"{self.label} must be at least {low:g}.",
                "max_value": f"{self.label} may be at most {high:g} for {spec.label}.",
            },
        }
        if self.decimal:
            return {self.name: forms.FloatField(min_value=low, max_value=high, **kwargs)}
        return {self.name: forms.IntegerField(min_value=int(low), max_value=int(high), **kwargs)}

    def value(self, cleaned: Mapping[str, Any]) -> Any:
        value = cleaned.get(self.name)
        return self.default if value is None else value

    def problem(self, spec: ModelSpec, value: Any) -> str:
        if value is None:
            return ""
        if not self.offered(spec):
            return f"{spec.label} takes no {self.label.lower()}."
        low, high = self.bounds(spec)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            return f"{self.label} must be {low:g} to {high:g} for {spec.label}."
        return ""


@dataclass(frozen=True)
class TextOption(Option):
    flag: str = ""
    max_length: int = 2000

    def offered(self, spec: ModelSpec) -> bool:
        return bool(getattr(spec, self.flag))

    def fields(self, spec: ModelSpec) -> dict[str, forms.Field]:
        return {
            self.name: forms.CharField(
                label=self.label,
                required=False,
                max_length=self.max_length,
                help_text=self.help,
                widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What the image should avoid"}),
            )
        }

    def value(self, cleaned: Mapping[str, Any]) -> Any:
        return (cleaned.get(self.name) or "").strip()

    def problem(self, spec: ModelSpec, value: Any) -> str:
        if value and not self.offered(spec):
            return f"{spec.label} takes no {self.label.lower()}."
        return ""


# An edit's size follows its source (Provider.edit_size), so the edit form offers none.
SIZE = SizeOption(
    "size",
    "Size",
    cli_help="a named size's pixels or any WxH the model allows, or what you make: "
    + ", ".join(p.key for p in PRESETS)
    + " (the nearest size the model makes)",
    metavar="WxH|NAME",
    operations=(GENERATE,),
)
COUNT = NumberOption(
    "count",
    "Images",
    cli_help="how many images (default 1)",
    metavar="N",
    minimum=1,
    default=1,
    dynamic_maximum="max_images_per_job",
    recorded=False,
)

OPTIONS: tuple[Option, ...] = (
    SIZE,
    ChoiceOption(
        "quality", "Quality", cli_help="e.g. low, medium, high (what the model offers)", attribute="qualities"
    ),
    ChoiceOption("style", "Style", cli_help="e.g. vivid, natural (DALL·E 3)", attribute="styles"),
    ChoiceOption(
        "complexity",
        "Detail",
        help="How much detail the model works into the picture; more takes longer.",
        cli_help="low, medium or high (GPT Image 2.6)",
        attribute="complexities",
    ),
    COUNT,
    TextOption(
        "negative_prompt",
        "Negative prompt",
        cli_help="what the image should avoid",
        metavar="TEXT",
        flag="negative_prompt",
    ),
    NumberOption(
        "seed",
        "Seed",
        help="Blank for a random seed; the same seed and settings repeat an image.",
        cli_help="repeat an image (models that take a seed)",
        metavar="N",
        flag="seed",
        maximum=MAX_SEED,
    ),
    NumberOption(
        "steps",
        "Steps",
        cli_help=f"sampling steps (self-hosted engines; default {DEFAULT_STEPS})",
        metavar="N",
        flag="steps",
        minimum=1,
        maximum=MAX_STEPS,
        default=DEFAULT_STEPS,
    ),
    NumberOption(
        "cfg_scale",
        "Prompt strength",
        help="How closely the image follows the prompt (CFG scale); 7 is usual.",
        cli_help=f"CFG scale, how closely to follow the prompt (default {DEFAULT_CFG_SCALE:g})",
        metavar="N",
        flag="cfg_scale",
        minimum=CFG_RANGE[0],
        maximum=CFG_RANGE[1],
        default=DEFAULT_CFG_SCALE,
        decimal=True,
    ),
    ChoiceOption(
        "sampler", "Sampler", cli_help="a sampler the engine lists", attribute="samplers", required=False
    ),
    ChoiceOption(
        "scheduler",
        "Scheduler",
        cli_help="a scheduler the engine lists",
        attribute="schedulers",
        required=False,
    ),
    NumberOption(
        "strength",
        "Change strength",
        help="How far the result may move from the image: 0.3 keeps most of it, 0.75 (usual) repaints freely, "
        "1 ignores what was there.",
        cli_help=f"edits: how far to move from the image, 0.05 to 1 (default {DEFAULT_STRENGTH:g})",
        metavar="N",
        flag="strength",
        minimum=0.05,
        maximum=1.0,
        default=DEFAULT_STRENGTH,
        decimal=True,
        operations=(EDIT,),
    ),
)
OPTION_BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}


def offered(spec: ModelSpec, operation: str = GENERATE) -> list[Option]:
    return [o for o in OPTIONS if o.offered_for(spec, operation)]


def form_fields(spec: ModelSpec, operation: str = GENERATE) -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for option in offered(spec, operation):
        fields.update(option.fields(spec))
    return fields


def values_from(spec: ModelSpec, cleaned: Mapping[str, Any], operation: str = GENERATE) -> dict[str, Any]:
    """The options a valid form chose, without the ones left to the model ("" / None)."""
    values = {o.name: o.value(cleaned) for o in offered(spec, operation)}
    return {name: value for name, value in values.items() if value not in ("", None)}


def clean_size(spec: ModelSpec, cleaned: dict[str, Any]) -> None:
    """The size rule, checked where the form can name the field: a custom size must fit the model."""
    if cleaned.get(SIZE.name) != CUSTOM:
        return
    text = (cleaned.get("custom_size") or "").strip().lower().replace(" ", "").replace("×", "x")
    cleaned["custom_size"] = text
    problem = SIZE.problem(spec, text) if text else "Write the custom size as width x height, e.g. 1200x1800."
    if problem:
        raise ValidationError({"custom_size": problem})


def request_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """A job's recorded options minus the two every request carries on its own (size and count)."""
    return {k: v for k, v in values.items() if k not in (SIZE.name, COUNT.name)}


def problems(
    spec: ModelSpec, size: str, count: int, values: Mapping[str, Any], operation: str = GENERATE
) -> list[str]:
    """Every reason `spec` would refuse these options; empty when it takes them all. The size is checked for
    every operation: an edit's size is chosen for the model (Provider.edit_size), never by the writer."""
    found = [SIZE.problem(spec, size), COUNT.problem(spec, count)]
    for name, value in values.items():
        option = OPTION_BY_NAME.get(name)
        if option is None:
            found.append(f"{spec.label} takes no option {name!r}.")
        elif operation not in option.operations and value not in (None, ""):
            found.append(
                f"{option.label} applies to edits only."
                if option.operations == (EDIT,)
                else f"{option.label} does not apply to an edit."
            )
        else:
            found.append(option.problem(spec, value))
    return [p for p in found if p]


def display_rows(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for a saved image's page, in the declared order."""
    return [
        (o.label, o.display(values[o.name]))
        for o in OPTIONS
        if o.recorded and values.get(o.name) not in (None, "")
    ]


def parse_size_text(text: str) -> tuple[int, int] | None:
    return parse_size(text.strip().lower().replace(" ", "").replace("×", "x"))
