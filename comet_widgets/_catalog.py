"""The model catalogue: what each image model accepts, and the payload builder that enforces it.

One table (``MODELS``) holds every model's rules and lifecycle, each entry with the source of
its facts (``source``, ``lifecycle_source``). ``build_payload`` validates the parameters of a
generation (declared once, in ``_types.py``) against it and returns the JSON body to send, or
raises ``InvalidParameterError`` naming the field, the value and what is allowed. Nothing
invalid reaches the network, and no parameter is sent to a model that rejects it (no
``response_format`` to GPT image models).

Unknown model names pass through with basic type checks only (gateways route many more), with
two exceptions: a name that is clearly a GPT image model (``gpt-image-*``, ``chatgpt-image-*``)
gets the GPT family's rules (never ``response_format`` or ``style``), and a name that equals a
known id once case and separators are ignored (``DALL-E-3``, ``gpt-image2``) is refused as a
typo with a did-you-mean.

Where the facts come from: the official ``openai`` SDK installed by the dev extras (3.57:
``openai/types/image_generate_params.py``, ``image_model.py``, ``images_response.py``),
OpenAI's deprecations page and CometAPI's Create-images page. To refresh them when models
change, read those files of a newer SDK and update the entries below with their sources
(docs/python-api.md, "The model catalogue", says the same).
"""

from __future__ import annotations

import difflib
import json
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from types import MappingProxyType
from typing import Any, Literal, TypeVar, get_args

from ._constants import DEFAULT_EDIT_MODEL, DEFAULT_MODEL, DEFAULT_N, DEFAULT_SIZE
from ._errors import InvalidParameterError
from ._types import (
    EDIT_PARAMETERS,
    PARAMETERS,
    Background,
    Complexity,
    EditParams,
    Model,
    Moderation,
    OutputFormat,
    Quality,
    ResponseFormat,
    Size,
    Style,
    SvgEffort,
    SvgOptions,
    choices,
)

__all__ = [
    "CURRENT",
    "EDIT_MODELS",
    "GPT_OPTIONS",
    "KINDS",
    "MODELS",
    "OUTPUT_TOKENS",
    "PARAMETERS",
    "PARTIAL_IMAGE_TOKENS",
    "PRICES",
    "SDK",
    "EditInput",
    "ModelInfo",
    "ModelLifecycleWarning",
    "ModelSpec",
    "Price",
    "Status",
    "build_edit_payload",
    "build_payload",
    "check_edit",
    "edit_models",
    "edit_rules_for",
    "get_model",
    "is_image_model",
    "refuse_unknown",
    "replacement_for",
    "rules_for",
    "typo_of",
    "validate_size",
    "warn_lifecycle",
]

_T = TypeVar("_T")
Status = Literal["current", "deprecated", "shut down"]
Family = Literal["dall-e", "gpt-image", "qwen"]

#: Options only the GPT image models accept.
GPT_OPTIONS = (
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "svg",
    "stream",
    "partial_images",
)
#: Output formats that cannot stream (GIF and SVG results arrive whole).
NO_STREAM_FORMATS = frozenset({"gif", "svg"})
#: ``partial_images`` accepts 0 to this many partial previews per image.
MAX_PARTIAL_IMAGES = 3
#: What an image input may be, for error messages.
KINDS = "a PIL.Image, a numpy array, bytes, a file path or a GeneratedImage"

#: The source most facts below come from (the SDK the dev extras install).
SDK = "openai SDK 3.57, types/image_generate_params.py"
_MODEL_DOC = "openai SDK 3.57, types/image_model.py (deprecated values)"
_SIZE_DOC = f"{SDK}: size"
_QUALITY_DOC = f"{SDK}: quality"

_SIZE_RE = re.compile(r"([1-9][0-9]{1,4})x([1-9][0-9]{1,4})")  # always .fullmatch


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts, whether it still works, and where those facts come from."""

    name: str
    family: Family
    sizes: tuple[str, ...]
    max_n: int
    max_prompt: int
    response_formats: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    options: frozenset[str] = field(default_factory=frozenset)
    #: Any WxH, both sides multiples of 16, ratio <= 3:1, 655,360..8,294,400 px.
    free_size: bool = False
    revises_prompt: bool = False
    returns_usage: bool = False
    #: As announced: "current", "deprecated" (``shutdown`` is the announced date) or "shut
    #: down" (on ``shutdown``); ``status`` is what holds today. ``replacements`` are the
    #: current models to use instead.
    announced: Status = "current"
    shutdown: str | None = None
    replacements: tuple[str, ...] = ()
    #: Where the rules above come from, and where the lifecycle comes from.
    source: str = SDK
    lifecycle_source: str = ""
    #: False for a rule set made up for an id the catalogue does not list (``rules_for``).
    listed: bool = True

    def accepts(self, option: str) -> bool:
        """Whether this model accepts ``option`` (a GPT-only option such as ``background``)."""
        return option in self.options

    @property
    def default_size(self) -> str:
        if not self.sizes:
            return DEFAULT_SIZE
        return DEFAULT_SIZE if DEFAULT_SIZE in self.sizes or self.free_size else self.sizes[0]

    @property
    def status(self) -> Status:
        """The lifecycle today (UTC): a deprecated model is shut down once its date has come."""
        return self.status_on(datetime.now(timezone.utc).date())

    def status_on(self, day: date) -> Status:
        """The lifecycle on ``day``."""
        due = self.shutdown is not None and date.fromisoformat(self.shutdown) <= day
        return "shut down" if self.announced == "deprecated" and due else self.announced

    @property
    def usable(self) -> bool:
        """False once the provider shut the model down (a gateway may still route it)."""
        return self.status != "shut down"

    def notice(self) -> str | None:
        """One line about this model's lifecycle, or None for a current model."""
        instead = " or ".join(self.replacements)
        if self.status == "shut down":
            verb = "retired" if self.family == "dall-e" else "shut down"
            return (
                f"{self.name} was {verb} by OpenAI on {self.shutdown}; CometAPI may no longer"
                f" route it; try {instead}"
            )
        if self.status == "deprecated":
            when = f" on {self.shutdown}" if self.shutdown else ""
            return f"{self.name} is deprecated and scheduled to shut down{when}; try {instead}"
        return None


_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_QUALITIES = ("low", "medium", "high", "auto")
_CURRENT_SOURCE = "CometAPI Create-images page (starts with gpt-image-2); " + _MODEL_DOC


#: The GPT image family's rules: each GPT entry is this with its name, source and differences.
_GPT = ModelSpec(
    name="",
    family="gpt-image",
    sizes=_GPT_SIZES,
    max_n=10,
    max_prompt=32000,
    qualities=_GPT_QUALITIES,
    options=frozenset(GPT_OPTIONS),
    returns_usage=True,
    lifecycle_source=_CURRENT_SOURCE,
)


_RETIRED_DALLE = "2026-05-12"  # SDK image_model.py: "retired on May 12, 2026"
_FREE = f"{_SIZE_DOC} (free WxH for gpt-image-2 and -2.5)"
_XHIGH = f"{_FREE}; {_QUALITY_DOC} (xhigh, max for -2.5)"
#: The 2.5 family's qualities: the GPT ones plus xhigh and max (auto stays last).
_XHIGH_QUALITIES = (*_GPT_QUALITIES[:3], "xhigh", "max", "auto")

#: The model catalogue: each model id -> its ``ModelSpec`` (what it accepts, its lifecycle).
MODELS: Mapping[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # Current: CometAPI's Create-images page now starts with gpt-image-2.
        *(
            replace(_GPT, name=name, free_size=True, source=_FREE)
            for name in ("gpt-image-2", "gpt-image-2-2026-04-21")
        ),
        *(
            replace(_GPT, name=name, free_size=True, qualities=_XHIGH_QUALITIES, source=_XHIGH)
            for name in (
                "gpt-image-2.5-sunburst",
                "gpt-image-2.5-sunburst-2026-09-08",
                "gpt-image-2.5-flare",
                "gpt-image-2.5-flare-2026-09-08",
            )
        ),
        # The SDK lists 2.6 and chatgpt-image-latest as models but names neither in the free
        # size or xhigh/max rules: standard GPT sizes and qualities until it says otherwise.
        *(
            replace(_GPT, name=name, source=f"{SDK}: model; size and quality name no 2.6 rule")
            for name in ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare")
        ),
        replace(
            _GPT,
            name="chatgpt-image-latest",
            source=f"{SDK}: model (an alias; GPT image input rules)",
        ),
        # Deprecated: shutdown announced by secondary sources; the SDK still lists them.
        *(
            replace(
                _GPT,
                name=name,
                announced="deprecated",
                shutdown="2026-12-01",
                replacements=("gpt-image-2",),
                source=_SIZE_DOC,
                lifecycle_source="secondary sources (shutdown 2026-12-01); still in " + _MODEL_DOC,
            )
            for name in ("gpt-image-1.5", "gpt-image-1-mini")
        ),
        # Shut down.
        replace(
            _GPT,
            name="gpt-image-1",
            announced="shut down",
            shutdown="2026-10-23",
            replacements=("gpt-image-2.5-sunburst", "gpt-image-2.5-flare"),
            source=_SIZE_DOC,
            lifecycle_source=_MODEL_DOC + ': "shut down on October 23, 2026. Use'
            ' gpt-image-2.5-sunburst or gpt-image-2.5-flare instead"',
        ),
        ModelSpec(
            name="dall-e-3",
            family="dall-e",
            sizes=("1024x1024", "1792x1024", "1024x1792"),
            max_n=1,
            max_prompt=4000,
            response_formats=("url", "b64_json"),
            qualities=("standard", "hd"),
            styles=("vivid", "natural"),
            revises_prompt=True,
            announced="shut down",
            shutdown=_RETIRED_DALLE,
            replacements=("gpt-image-2",),
            source="OpenAI's OpenAPI document (images-openapi.json); CometAPI's seed page",
            lifecycle_source=_MODEL_DOC + ': "retired on May 12, 2026. Use a GPT image model"',
        ),
        ModelSpec(
            name="dall-e-2",
            family="dall-e",
            sizes=("256x256", "512x512", "1024x1024"),
            max_n=10,
            max_prompt=1000,
            response_formats=("url", "b64_json"),
            qualities=("standard",),
            announced="shut down",
            shutdown=_RETIRED_DALLE,
            replacements=("gpt-image-2",),
            source="OpenAI's OpenAPI document (images-openapi.json)",
            lifecycle_source=_MODEL_DOC + ': "retired on May 12, 2026. Use a GPT image model"',
        ),
        ModelSpec(
            # CometAPI documents only "keep n at 1"; the sizes are Qwen-Image's native ones.
            name="qwen-image",
            family="qwen",
            sizes=("1024x1024", "1328x1328", "1664x928", "928x1664", "1472x1140", "1140x1472"),
            max_n=1,
            max_prompt=4000,
            response_formats=("url", "b64_json"),
            source="CometAPI's Create-images page (n=1); Qwen-Image's native sizes",
            lifecycle_source="CometAPI's Create-images page (routed by CometAPI)",
        ),
    )
}

# -- prices ------------------------------------------------------------------------------------
# What each model costs, with where each figure comes from and when it was read. To refresh:
# read CometAPI's model page of each model (cometapi.com/models/openai/<model>/) or its public
# price list (GET https://api.cometapi.com/api/models: ``pricing`` in "USD / M Tokens"), and
# OpenAI's pricing page for the list prices; then update the entries below with their date
# (docs/costs.md says the same). A model without an entry is unpriced: its costs say
# so (``Cost.usd is None``), never zero.


@dataclass(frozen=True)
class Price:
    """What one model costs, in USD, and where that figure comes from.

    ``unit="token"``: billed per token, ``text_input``, ``image_input`` and ``image_output``
    USD per 1M tokens (all three given). ``unit="image"``: ``per_image`` USD per image made.
    ``source`` names the page or table the figures come from, ``as_of`` the day they were read
    (YYYY-MM-DD). Override or add prices with ``AsyncImageClient(prices={model: Price(...)})``.
    """

    unit: Literal["token", "image"]
    text_input: float | None = None
    image_input: float | None = None
    image_output: float | None = None
    per_image: float | None = None
    source: str = ""
    as_of: str = ""


_PRICES_READ = "2026-12-06"
#: OpenAI's list price for gpt-image-2 (and, per LiteLLM's price table 1.110, for 2.5 and 2.6):
#: used where CometAPI publishes no price, as an upper bound (CometAPI charges 80% of it for
#: gpt-image-2): an estimate made with it is a budget guard that errs high.
_OPENAI_LIST = Price(
    unit="token",
    text_input=5.0,
    image_input=8.0,
    image_output=30.0,
    source="OpenAI's list price (CometAPI publishes none for this model: an upper bound;"
    " LiteLLM's price table 1.110 for 2.5 and 2.6)",
    as_of=_PRICES_READ,
)

#: Prices by model id: CometAPI's where it publishes one, else OpenAI's list price as an upper
#: bound (``source`` says which). The deprecated, shut-down and non-GPT models have none:
#: their published prices are partial (gpt-image-1.5 and -1-mini: output only) or per image
#: with a unit CometAPI does not document (qwen-image).
PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "gpt-image-2": Price(
            unit="token",
            # CometAPI publishes one input price, for text and image input alike.
            text_input=4.0,
            image_input=4.0,
            image_output=24.0,
            source="CometAPI: cometapi.com/models/openai/gpt-image-2/ and GET"
            " https://api.cometapi.com/api/models (input $4, output $24 per 1M tokens)",
            as_of=_PRICES_READ,
        ),
        # The rest of the gpt-image-2 family: the dated snapshot, 2.5 and 2.6.
        **dict.fromkeys(
            (name for name in MODELS if name.startswith("gpt-image-2") and name != "gpt-image-2"),
            _OPENAI_LIST,
        ),
    }
)

#: Output image tokens of one 1024x1024 image by quality: community measurements of
#: gpt-image-1 (low 272, medium 1056, high 4160; a 1536x1024 image took 1.5 times as many,
#: so other sizes scale by pixel area). CometAPI's own gpt-image-2 example shows 208 tokens for
#: a low 1024x1024 image: these figures err high, as a budget guard should. xhigh and max have
#: no published measurement: twice and four times high, a guess that errs high.
OUTPUT_TOKENS: Mapping[str, int] = MappingProxyType(
    {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}
)
#: Output tokens each partial preview adds per image (OpenAI: "about 100").
PARTIAL_IMAGE_TOKENS = 100

#: The current models, newest family first (the panel's and the CLI's first choices).
CURRENT = tuple(name for name, spec in MODELS.items() if spec.status == "current")

_GPT_PREFIXES = ("gpt-image-", "chatgpt-image-")


def _squash(name: str) -> str:
    return re.sub(r"[\s._-]+", "", name).lower()


_SQUASHED = {_squash(name): name for name in MODELS}


#: Words in a model id that mark an image model the catalogue does not list.
_IMAGE_WORDS = (
    "image",
    "dall-e",
    "flux",
    "sdxl",
    "stable-diffusion",
    "midjourney",
    "imagen",
    "recraft",
    "ideogram",
    "seedream",
)


def is_image_model(name: str) -> bool:
    """Whether ``name`` is an image model: in the catalogue, a GPT image id, or an id with an
    image word in it (``flux-pro``, ``imagen-4``...)."""
    lowered = name.lower()
    return rules_for(name) is not None or any(word in lowered for word in _IMAGE_WORDS)


@dataclass(frozen=True)
class ModelInfo:
    """One model of ``GET /v1/models``: ``id``, ``owned_by``, ``created`` and, in ``extra``,
    anything else the API sent (``shutdown_date``, a gateway's own fields)."""

    id: str
    owned_by: str | None = None
    created: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> ModelSpec | None:
        """The catalogue entry, or None for a model the catalogue does not list."""
        return MODELS.get(self.id)

    @property
    def is_image_model(self) -> bool:
        return is_image_model(self.id)

    def __str__(self) -> str:
        return self.id


class ModelLifecycleWarning(UserWarning):
    """The model is deprecated or shut down by its provider (a gateway may still route it).

    Issued once per model and process by ``generate()``; silence it with
    ``warnings.filterwarnings("ignore", category=comet_widgets.ModelLifecycleWarning)``.
    """


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_lifecycle(model: str, *, stacklevel: int = 2) -> None:
    """Warn (once per model and process) when ``model`` is deprecated or shut down."""
    spec = MODELS.get(model)
    notice = spec.notice() if spec is not None else None
    if notice is None:
        return
    with _warned_lock:
        if model in _warned:
            return
        _warned.add(model)
    warnings.warn(notice, ModelLifecycleWarning, stacklevel=stacklevel + 1)


def replacement_for(model: str | None) -> str:
    """The current model(s) to try instead of ``model`` ("gpt-image-2.5-sunburst or ...")."""
    spec = MODELS.get(model or "")
    if spec is not None and spec.replacements:
        return " or ".join(spec.replacements)
    if model == DEFAULT_MODEL:
        return next(name for name in CURRENT if name != DEFAULT_MODEL)
    return DEFAULT_MODEL


def get_model(name: str) -> ModelSpec | None:
    """The catalogue entry for ``name``, or None for a model the catalogue does not know."""
    return MODELS.get(name)


def typo_of(name: str) -> str | None:
    """The catalogue id ``name`` equals once case and separators (``-._`` and spaces) are
    ignored, when ``name`` itself is not in the catalogue (``DALL-E-3`` -> ``dall-e-3``)."""
    return None if name in MODELS else _SQUASHED.get(_squash(name))


def rules_for(name: str) -> ModelSpec | None:
    """The rules to check ``name`` by: its catalogue entry, GPT rules for an unlisted
    ``gpt-image-*``/``chatgpt-image-*`` id, or None (unknown: basic type checks only)."""
    spec = MODELS.get(name)
    if spec is not None:
        return spec
    if name.lower().startswith(_GPT_PREFIXES):
        # An unlisted id may take any size the gateway knows: only the form is checked.
        return replace(
            _GPT,
            name=name,
            sizes=(),
            qualities=tuple(q for q in choices("quality") if q not in ("standard", "hd")),
            source="not in the catalogue: the GPT image family's rules",
            lifecycle_source="",
            listed=False,
        )
    return None


def _one_of(values: tuple[str, ...]) -> str:
    return "choose one of " + ", ".join(values)


def _check_type(name: str, value: object, kind: type[_T], allowed: str) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidParameterError(
            name, value, allowed, reason=f"{name} must be {kind.__name__}, got {value!r}"
        )
    return value


def _check_int(name: str, value: object, low: int, high: int | None) -> int:
    allowed = f"a whole number from {low} to {high}" if high is not None else f"{low} or more"
    value = _check_type(name, value, int, allowed)
    if value < low or (high is not None and value > high):
        raise InvalidParameterError(name, value, allowed, reason=f"{name} {value} is out of range")
    return value


def validate_size(size: str, spec: ModelSpec | None) -> None:
    """Refuse a size the model does not accept; explain its rule."""
    _check_type("size", size, str, "a size like '1024x1024'")
    if spec is None or not spec.sizes:
        if size != "auto" and not _SIZE_RE.fullmatch(size):
            raise InvalidParameterError(
                "size",
                size,
                "write it as WIDTHxHEIGHT, e.g. '1024x1024', or 'auto'",
                reason=f"size {size!r} is malformed",
            )
        return
    if size in spec.sizes:
        return
    if not spec.free_size:
        raise InvalidParameterError(
            "size",
            size,
            _one_of(spec.sizes),
            reason=f"size {size!r} is not supported by {spec.name}",
        )
    rule = (
        f"{spec.name} takes {', '.join(spec.sizes)} or any WIDTHxHEIGHT with both sides multiples"
        " of 16, the longer side at most 3840, a ratio of at most 3:1 and 655,360 to 8,294,400"
        " pixels"
    )
    match = _SIZE_RE.fullmatch(size)
    if not match:
        raise InvalidParameterError("size", size, rule, reason=f"size {size!r} is malformed")
    width, height = int(match.group(1)), int(match.group(2))
    problems = []
    if width % 16 or height % 16:
        problems.append("both sides must be multiples of 16")
    if max(width, height) > 3840:
        problems.append("the longer side must be at most 3840")
    if max(width, height) > 3 * min(width, height):
        problems.append("the ratio must be at most 3:1")
    if not 655_360 <= width * height <= 8_294_400:
        problems.append(f"{width * height:,} pixels is outside 655,360..8,294,400")
    if problems:
        reason = f"size {size!r} is not supported by {spec.name} ({'; '.join(problems)})"
        raise InvalidParameterError("size", size, rule, reason=reason)


def _check_enum(name: str, value: object, allowed: tuple[str, ...], model: str) -> None:
    if value not in allowed:
        if not allowed:
            raise InvalidParameterError(
                name,
                value,
                f"leave {name} unset for {model}",
                reason=f"{name} is not supported by {model}",
            )
        raise InvalidParameterError(
            name, value, _one_of(allowed), reason=f"{name} {value!r} is not supported by {model}"
        )


def refuse_unknown(params: Mapping[str, object], known: tuple[str, ...] = PARAMETERS) -> None:
    """Refuse the first of ``params`` not ``known`` with ``InvalidParameterError`` (with a
    did-you-mean and the known names)."""
    for name, value in params.items():
        if name in known:
            continue
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise InvalidParameterError(
            name,
            value,
            f"{hint}known parameters: {', '.join(known)}; "
            "pass provider-specific fields as extra_body={...}",
            reason=f"unknown parameter {name!r}",
        )


def _check_model(model: object) -> None:
    model = _check_type("model", model, str, "a model name such as 'gpt-image-2'")
    if not model.strip():
        raise InvalidParameterError(
            "model", model, "a model name such as 'gpt-image-2'", reason="model must not be empty"
        )
    known = typo_of(model)
    if known is not None:
        raise InvalidParameterError(
            "model",
            model,
            f"did you mean {known!r}? Model names are exact (case and separators count)",
            reason=f"model {model!r} is not a known model",
        )


def _check_svg(svg: object) -> dict[str, Any]:
    shape = "a dict like {'model': 'AUTHOR-MODEL', 'reasoning': {'effort': 'low'}}"
    if not isinstance(svg, Mapping):
        raise InvalidParameterError("svg", svg, shape, reason="svg must be a dict")
    extra = sorted(set(svg) - {"model", "reasoning"})
    if extra:
        raise InvalidParameterError(
            "svg", dict(svg), shape, reason=f"svg has unknown key(s) {', '.join(extra)}"
        )
    author = svg.get("model")
    if not isinstance(author, str) or not author.strip():
        raise InvalidParameterError(
            "svg", dict(svg), shape, reason="svg needs 'model': the model that authors the SVG"
        )
    reasoning = svg.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, Mapping) or set(reasoning) - {"effort"}:
            raise InvalidParameterError(
                "svg", dict(svg), shape, reason="svg reasoning must be {'effort': ...}"
            )
        effort = reasoning.get("effort")
        if effort is not None and effort not in _SVG_EFFORTS:
            raise InvalidParameterError(
                "svg",
                dict(svg),
                "choose the effort from " + ", ".join(_SVG_EFFORTS),
                reason=f"svg reasoning effort {effort!r} is not allowed",
            )
    return dict(svg)


_SVG_EFFORTS: tuple[str, ...] = get_args(SvgEffort)
#: Parameters whose values are a closed ``Literal`` set (checked against it for any model).
_ENUMS: dict[str, tuple[str, ...]] = {
    name: values for name in PARAMETERS if (values := choices(name, closed_only=True))
}


def build_payload(
    prompt: object,
    *,
    model: Model = DEFAULT_MODEL,
    n: int | None = None,
    size: Size | None = None,
    response_format: ResponseFormat | None = None,
    quality: Quality | None = None,
    style: Style | None = None,
    background: Background | None = None,
    output_format: OutputFormat | None = None,
    output_compression: int | None = None,
    moderation: Moderation | None = None,
    complexity: Complexity | None = None,
    frame_count: int | None = None,
    frame_duration_ms: int | None = None,
    svg: SvgOptions | None = None,
    safety_identifier: str | None = None,
    user: str | None = None,
    stream: bool | None = None,
    partial_images: int | None = None,
    extra_body: Mapping[str, Any] | None = None,
    **unknown: Any,
) -> dict[str, Any]:
    """Validate the parameters of one generation and return the JSON body to send.

    ``None`` means "not given": the catalogue's default is used for ``n`` and ``size`` and other
    fields are left out. ``partial_images`` 1-3 (GPT image models) turns streaming on. Raises
    ``InvalidParameterError`` (a ``ValueError``) naming the field, the
    value and what is allowed.
    """
    refuse_unknown(unknown)
    _check_model(model)
    spec = rules_for(model)
    prompt = _check_type("prompt", prompt, str, "a non-empty text describing the image")
    if not prompt.strip():
        raise InvalidParameterError(
            "prompt",
            prompt,
            "write a non-empty text describing the image",
            reason="prompt is empty",
        )
    if spec and len(prompt) > spec.max_prompt:
        raise InvalidParameterError(
            "prompt",
            prompt,
            f"shorten it to at most {spec.max_prompt} characters",
            reason=f"prompt is {len(prompt)} characters, over {model}'s limit",
        )

    payload: dict[str, Any] = {"model": model, "prompt": prompt}

    n = DEFAULT_N if n is None else n
    max_n = spec.max_n if spec else 10
    if output_format == "svg":
        max_n = 1
    _check_type("n", n, int, f"a whole number from 1 to {max_n}")
    if not 1 <= n <= max_n:
        if output_format == "svg" and max_n == 1:
            only = "SVG output takes only n=1"
        elif max_n == 1:
            only = f"{model} accepts only n=1"
        else:
            only = f"choose 1 to {max_n}"
        raise InvalidParameterError("n", n, only, reason=f"n {n} is not allowed")
    payload["n"] = n

    size = (spec.default_size if spec else DEFAULT_SIZE) if size is None else size
    validate_size(size, spec)
    payload["size"] = size

    if response_format is not None:
        allowed = spec.response_formats if spec else _ENUMS["response_format"]
        if spec and not allowed:
            raise InvalidParameterError(
                "response_format",
                response_format,
                f"leave it unset: {model} always answers with base64 images",
                reason=f"response_format is not supported by {model}",
            )
        _check_enum("response_format", response_format, allowed, model)
        payload["response_format"] = response_format
    value: object  # each loop below checks parameters of different types
    for option, value, allowed_by in (
        ("quality", quality, spec.qualities if spec else None),
        ("style", style, spec.styles if spec else None),
    ):
        if value is None:
            continue
        _check_type(option, value, str, f"a {option} name")
        if allowed_by is not None:  # an unknown model's own values pass (gateways differ)
            _check_enum(option, value, allowed_by, model)
        payload[option] = value

    def gpt_only(option: str, value: object) -> None:
        if spec and not spec.accepts(option):
            _check_enum(option, value, (), model)

    for option, value in (
        ("background", background),
        ("output_format", output_format),
        ("moderation", moderation),
        ("complexity", complexity),
    ):
        if value is None:
            continue
        gpt_only(option, value)
        _check_enum(option, value, _ENUMS[option], model)
        payload[option] = value
    fmt = payload.get("output_format")
    if output_compression is not None:
        gpt_only("output_compression", output_compression)
        payload["output_compression"] = _check_int("output_compression", output_compression, 0, 100)
        if fmt not in ("jpeg", "webp"):
            shown = f"output_format {fmt!r}" if fmt else "no output_format (png)"
            raise InvalidParameterError(
                "output_compression",
                output_compression,
                "set output_format 'jpeg' or 'webp' with it, or leave output_compression unset",
                reason=f"output_compression applies to jpeg and webp only, not to {shown}",
            )
    for option, value, check, needs in (
        ("frame_count", frame_count, lambda v: _check_int("frame_count", v, 2, 16), "gif"),
        (
            "frame_duration_ms",
            frame_duration_ms,
            lambda v: _check_int("frame_duration_ms", v, 0, None),
            "gif",
        ),
        ("svg", svg, _check_svg, "svg"),
    ):
        if value is None:
            continue
        gpt_only(option, value)
        payload[option] = check(value)
        if fmt != needs:
            raise InvalidParameterError(
                option,
                value,
                f"set output_format='{needs}' with it, or leave it unset",
                reason=f"{option} applies to {needs} output only",
            )
    if background == "transparent" and fmt == "jpeg":
        raise InvalidParameterError(
            "background",
            background,
            "use output_format 'png' or 'webp' with it",
            reason="a transparent background cannot be saved as jpeg",
        )
    # partial_images 1-3 streams partial previews (stream: true); None or 0 does not stream,
    # unless stream=True asks for a stream with no partials (the final image only).
    if partial_images is not None:
        _check_int("partial_images", partial_images, 0, MAX_PARTIAL_IMAGES)
    if stream is not None:
        _check_type("stream", stream, bool, "True or False")
    if stream is False and partial_images:
        raise InvalidParameterError(
            "stream",
            stream,
            "leave stream unset: partial_images turns streaming on",
            reason=f"stream=False contradicts partial_images={partial_images}",
        )
    streams = bool(partial_images or stream)
    field_name, value = ("partial_images", partial_images) if partial_images else ("stream", stream)
    if streams and spec is not None and not spec.accepts("stream"):
        raise InvalidParameterError(
            field_name,
            value,
            f"leave it unset (or 0) for {model}: only GPT image models stream partial images",
            reason=f"{field_name} {value!r} is not supported by {model}",
        )
    if streams and fmt in NO_STREAM_FORMATS:
        raise InvalidParameterError(
            field_name,
            value,
            f"leave it unset (or 0) with output_format {fmt!r}, or choose png, jpeg or webp",
            reason=f"{field_name} {value!r} is not supported with output_format {fmt!r}"
            f" ({str(fmt).upper()} results arrive whole)",
        )
    if streams:
        payload["stream"] = True
        if partial_images is not None:
            payload["partial_images"] = partial_images
    for option, value in (("safety_identifier", safety_identifier), ("user", user)):
        if value is not None:
            _check_type(option, value, str, "an end-user id string (hash it)")
            payload[option] = value
    if extra_body is not None:
        if not isinstance(extra_body, Mapping):
            raise InvalidParameterError(
                "extra_body",
                extra_body,
                "a dict of extra JSON fields",
                reason="extra_body must be a mapping",
            )
        odd_keys = [key for key in extra_body if not isinstance(key, str)]
        if odd_keys:
            raise InvalidParameterError(
                "extra_body",
                odd_keys[0],
                "use text keys: JSON objects have string keys",
                reason=f"extra_body has a {type(odd_keys[0]).__name__} key {odd_keys[0]!r}",
            )
        _refuse_overrides(extra_body, {"prompt", *PARAMETERS})
        payload.update(extra_body)
    _check_json(payload, extra=set(extra_body or ()))
    return payload


def _refuse_overrides(extra_body: Mapping[str, Any], names: set[str]) -> None:
    clashes = ", ".join(sorted(set(extra_body) & names))
    if clashes:
        raise InvalidParameterError(
            "extra_body",
            dict(extra_body),
            f"pass {clashes} as keyword argument(s), where they are validated",
            reason=f"extra_body must not override {clashes}",
        )


def _check_json(payload: Mapping[str, Any], *, extra: set[str]) -> None:
    """Refuse what cannot be sent as UTF-8 JSON (a lone surrogate, NaN, an object, nesting
    deep enough to exhaust the stack), naming the field that holds it."""
    for name, value in payload.items():
        try:
            json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            field = f"extra_body[{name!r}]" if name in extra else name
            if isinstance(exc, RecursionError):
                why = "it is nested too deeply"
            elif isinstance(exc, UnicodeEncodeError):
                why = "it holds a lone surrogate, which is not valid UTF-8"
            else:
                why = f"{type(exc).__name__}: {exc}"
            raise InvalidParameterError(
                field,
                value,
                "use JSON values: text without lone surrogates, finite numbers, lists and dicts"
                " (at most a few hundred levels deep)",
                reason=f"{field} cannot be sent as JSON ({why})",
            ) from None


# -- edits (POST /v1/images/edits) --------------------------------------------------------------
# Which models edit, and what their inputs must be. Kept apart from the generation rules above:
# an edit is checked by both (its common parameters by ``build_payload``, its files here).

_MB = 1024 * 1024


@dataclass(frozen=True)
class EditRules:
    """What one model accepts as edit inputs."""

    model: str
    max_images: int
    #: Input formats as sniffed from the bytes ("png", "jpeg", "webp").
    formats: tuple[str, ...]
    max_bytes: int
    square: bool = False
    mask_max_bytes: int = 4 * _MB
    #: The ``input_fidelity`` values the model takes (empty: leave it unset).
    input_fidelity: tuple[str, ...] = ()
    #: Whether the model takes a ``markup`` file.
    markup: bool = False


_GPT_EDIT = EditRules("gpt-image", 16, ("png", "webp", "jpeg"), 50 * _MB)

#: Models the catalogue knows to edit. GPT image models: up to 16 png/webp/jpg inputs under
#: 50 MB each; input_fidelity high/low on gpt-image-1 and -1.5, only low on -1-mini, none on
#: gpt-image-2 and later (the SDK's ``image_edit_params.py``). dall-e-2: one square PNG < 4 MB.
#: qwen-image-edit: CometAPI routes it for edits; one input (its limits are not documented: the
#: GPT byte limit is assumed).
EDIT_MODELS: Mapping[str, EditRules] = {
    rules.model: rules
    for rules in (
        EditRules("dall-e-2", 1, ("png",), 4 * _MB, square=True),
        replace(_GPT_EDIT, model="gpt-image-1", input_fidelity=("high", "low")),
        replace(_GPT_EDIT, model="gpt-image-1.5", input_fidelity=("high", "low")),
        replace(_GPT_EDIT, model="gpt-image-1-mini", input_fidelity=("low",)),
        EditRules("qwen-image-edit", 1, ("png", "jpeg", "webp"), 50 * _MB),
    )
}

#: Models that generate but cannot edit, with what to use instead.
NO_EDITS: Mapping[str, str] = {
    "dall-e-3": "dall-e-3 cannot edit images; use gpt-image-2",
    "qwen-image": "qwen-image does not edit; use qwen-image-edit",
}


def edit_rules_for(model: str) -> EditRules | None:
    """The edit rules of ``model``: its entry, the GPT family's for any GPT image id, or None
    for a model the catalogue does not know (only basic checks). Raises
    ``InvalidParameterError`` for a model that cannot edit."""
    if model in NO_EDITS:
        raise InvalidParameterError(
            "model",
            model,
            "choose a model that edits: " + ", ".join(edit_models()),
            reason=NO_EDITS[model],
        )
    rules = EDIT_MODELS.get(model)
    if rules is not None:
        return rules
    if model.lower().startswith(_GPT_PREFIXES):
        # An unlisted GPT id may be a newer model: it is not refused a markup.
        markup = model in MARKUP_MODELS or model not in MODELS
        return replace(_GPT_EDIT, model=model, markup=markup)
    return None


#: The models whose edits take ``markup`` (the SDK's image_edit_params.py: "Supports GPT Image
#: 2.5"): the gpt-image-2.5 models and their snapshots.
MARKUP_MODELS = tuple(name for name in MODELS if name.startswith("gpt-image-2.5-"))
_FIDELITIES = choices("input_fidelity", declaration=EditParams)
#: Generation keywords an edit does not take, and what to do instead.
_NOT_FOR_EDITS = {
    "moderation": "leave moderation out: it applies to generations only",
    "style": "leave style out: it applies to (legacy dall-e-3) generations only",
}


def build_edit_payload(prompt: object, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the parameters of one edit (``EditParams``; the files ``mask`` and ``markup``
    only for whether they are given) and return its form fields, without the files (those are
    ``check_edit``'s). The generation rules apply to what edits share with generations; ``n``
    and ``size`` left unset are not sent (the API follows the input)."""
    for name, value in params.items():
        if name in _NOT_FOR_EDITS:
            raise InvalidParameterError(
                name, value, _NOT_FOR_EDITS[name], reason=f"edits take no {name}"
            )
    refuse_unknown(params, EDIT_PARAMETERS)
    model = params.get("model", DEFAULT_EDIT_MODEL)
    shared = {k: v for k, v in params.items() if k in PARAMETERS}
    payload = build_payload(prompt, **{**shared, "model": model})
    _refuse_overrides(params.get("extra_body") or {}, {"image", *EDIT_PARAMETERS})
    rules = edit_rules_for(model)
    for name in ("n", "size"):
        if params.get(name) is None:
            payload.pop(name)
    fidelity = params.get("input_fidelity")
    if fidelity is not None:
        _check_enum("input_fidelity", fidelity, _FIDELITIES, model)
        if rules is not None:
            _check_enum("input_fidelity", fidelity, rules.input_fidelity, model)
        payload["input_fidelity"] = fidelity
    mask, markup = params.get("mask"), params.get("markup")
    if markup is not None and mask is not None:
        raise InvalidParameterError(
            "markup",
            "a markup with a mask",
            "give either a mask (where to edit) or a markup (marks that guide the edit)",
            reason="a markup cannot be combined with a mask",
        )
    if markup is not None and rules is not None and not rules.markup:
        raise InvalidParameterError(
            "markup",
            model,
            f"leave markup out for {model}, or use one of " + ", ".join(MARKUP_MODELS),
            reason=f"{model} takes no markup (gpt-image-2.5 models only)",
        )
    if mask is not None and payload.get("output_format") == "gif":
        raise InvalidParameterError(
            "mask",
            "a mask with output_format 'gif'",
            "leave the mask out for GIF output, or choose png, jpeg or webp",
            reason="GIF output takes no mask",
        )
    return payload


def edit_models() -> tuple[str, ...]:
    """The catalogue's models that edit and are not shut down (listed GPT image ids included;
    a gateway may still route a shut-down one, which is then checked by its own rules)."""
    gpt = tuple(name for name, spec in MODELS.items() if spec.family == "gpt-image")
    names = dict.fromkeys((*gpt, *EDIT_MODELS))
    return tuple(name for name in names if name not in MODELS or MODELS[name].usable)


@dataclass(frozen=True)
class EditInput:
    """What the catalogue needs to know of one upload: never its bytes."""

    name: str
    format: str
    width: int
    height: int
    size: int
    #: True when the image has an alpha channel (a mask must have one).
    alpha: bool = True


def check_edit(
    model: str,
    images: list[EditInput],
    mask: EditInput | None,
    markup: EditInput | None = None,
) -> None:
    """Refuse edit files ``model`` does not accept, naming the field, the value and what is
    allowed. ``images[0]`` is the one a mask or a markup applies to."""
    rules = edit_rules_for(model)
    if not images:
        raise InvalidParameterError(
            "image", [], f"give one image or a list of them ({KINDS})", reason="no image to edit"
        )
    limit = rules.max_images if rules else 16
    if len(images) > limit:
        raise InvalidParameterError(
            "image",
            [i.name for i in images],
            f"give at most {limit} image{'s' if limit > 1 else ''} to {model}",
            reason=f"{len(images)} input images are too many for {model}",
        )
    for number, item in enumerate(images):
        field_name = "image" if len(images) == 1 else f"image[{number}]"
        if rules and item.format not in rules.formats:
            raise InvalidParameterError(
                field_name,
                item.name,
                f"{model} takes {', '.join(rules.formats)} inputs",
                reason=f"{item.name} is {item.format}, which {model} does not edit",
            )
        if rules and item.size >= rules.max_bytes:
            raise InvalidParameterError(
                field_name,
                item.name,
                f"{model} takes inputs under {rules.max_bytes // _MB} MB",
                reason=f"{item.name} is {item.size:,} bytes",
            )
        if rules and rules.square and item.width != item.height:
            raise InvalidParameterError(
                field_name,
                item.name,
                f"{model} edits square images only; crop it first",
                reason=f"{item.name} is {item.width}x{item.height}",
            )
    first = images[0]
    for name, overlay, what in (
        ("mask", mask, "a PNG whose fully transparent pixels mark where to edit, or a bool array"),
        ("markup", markup, "a PNG with transparent pixels and the marks that guide the edit"),
    ):
        if overlay is None:
            continue
        if overlay.format != "png":
            raise InvalidParameterError(
                name, overlay.name, what, reason=f"the {name} {overlay.name} is {overlay.format}"
            )
        if not overlay.alpha:
            raise InvalidParameterError(
                name, overlay.name, what, reason=f"the {name} {overlay.name} has no alpha channel"
            )
        if (overlay.width, overlay.height) != (first.width, first.height):
            raise InvalidParameterError(
                name,
                overlay.name,
                f"a {name} of the first image's size, {first.width}x{first.height}",
                reason=f"the {name} is {overlay.width}x{overlay.height}",
            )
    if mask is not None:
        mask_limit = rules.mask_max_bytes if rules else 4 * _MB
        if mask.size >= mask_limit:
            raise InvalidParameterError(
                "mask",
                mask.name,
                f"a mask under {mask_limit // _MB} MB",
                reason=f"the mask is {mask.size:,} bytes",
            )
