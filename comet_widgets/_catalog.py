"""The model catalogue: what each image model accepts, and the payload builder that enforces it.

One table (``MODELS``) holds every model's rules. ``build_payload`` validates the parameters of a
generation against it and returns the JSON body to send, or raises ``InvalidParameterError``
naming the field, the value and what is allowed. Nothing invalid reaches the network, and no
parameter is sent to a model that rejects it (no ``response_format`` to GPT image models).
Unknown model names pass through with basic type checks only: gateways route many more.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._constants import DEFAULT_MODEL, DEFAULT_N, DEFAULT_SIZE
from ._errors import InvalidParameterError

__all__ = [
    "GPT_OPTIONS",
    "MODELS",
    "PARAMETERS",
    "ModelSpec",
    "build_payload",
    "get_model",
    "validate_size",
]

ResponseFormat = Literal["url", "b64_json"]

#: Options only the GPT image models accept.
GPT_OPTIONS = ("background", "output_format", "output_compression", "moderation", "stream")

_SIZE_RE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts."""

    name: str
    family: Literal["dall-e", "gpt-image", "qwen"]
    sizes: tuple[str, ...]
    max_n: int
    max_prompt: int
    response_formats: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    options: frozenset[str] = field(default_factory=frozenset)
    #: gpt-image-2: any WxH, both sides multiples of 16, ratio <= 3:1, 655,360..8,294,400 px.
    free_size: bool = False
    revises_prompt: bool = False
    returns_usage: bool = False

    def accepts(self, option: str) -> bool:
        """Whether this model accepts ``option`` (a GPT-only option such as ``background``)."""
        return option in self.options

    @property
    def default_size(self) -> str:
        return DEFAULT_SIZE if DEFAULT_SIZE in self.sizes or self.free_size else self.sizes[0]


_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_QUALITIES = ("low", "medium", "high", "auto")
_GPT = frozenset(GPT_OPTIONS)


def _gpt(name: str, *, free_size: bool = False) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="gpt-image",
        sizes=_GPT_SIZES,
        max_n=10,
        max_prompt=32000,
        qualities=_GPT_QUALITIES,
        options=_GPT,
        free_size=free_size,
        returns_usage=True,
    )


MODELS: Mapping[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="dall-e-2",
            family="dall-e",
            sizes=("256x256", "512x512", "1024x1024"),
            max_n=10,
            max_prompt=1000,
            response_formats=("url", "b64_json"),
            qualities=("standard",),
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
        ),
        _gpt("gpt-image-1"),
        _gpt("gpt-image-1-mini"),
        _gpt("gpt-image-1.5"),
        _gpt("gpt-image-2", free_size=True),
        ModelSpec(
            # CometAPI documents only "keep n at 1"; the sizes are Qwen-Image's native ones.
            name="qwen-image",
            family="qwen",
            sizes=("1024x1024", "1328x1328", "1664x928", "928x1664", "1472x1140", "1140x1472"),
            max_n=1,
            max_prompt=4000,
            response_formats=("url", "b64_json"),
        ),
    )
}

#: Every keyword ``generate`` accepts besides ``prompt``.
PARAMETERS = (
    "model",
    "n",
    "size",
    "response_format",
    "quality",
    "style",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "user",
    "stream",
    "extra_body",
)

_ENUMS: dict[str, tuple[str, ...]] = {
    "response_format": ("url", "b64_json"),
    "background": ("transparent", "opaque", "auto"),
    "output_format": ("png", "jpeg", "webp"),
    "moderation": ("low", "auto"),
}


def get_model(name: str) -> ModelSpec | None:
    """The catalogue entry for ``name``, or None for a model the catalogue does not know."""
    return MODELS.get(name)


def _one_of(values: tuple[str, ...]) -> str:
    return "choose one of " + ", ".join(values)


def _check_type(name: str, value: object, kind: type, allowed: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidParameterError(
            name, value, allowed, reason=f"{name} must be {kind.__name__}, got {value!r}"
        )


def validate_size(size: str, spec: ModelSpec | None) -> None:
    """Refuse a size the model does not accept; explain its rule."""
    _check_type("size", size, str, "a size like '1024x1024'")
    model = spec.name if spec else "this model"
    if spec is None:
        if size != "auto" and not _SIZE_RE.match(size):
            raise InvalidParameterError(
                "size",
                size,
                "write it as WIDTHxHEIGHT, e.g. '1024x1024', or 'auto'",
                reason=f"size {size!r} is malformed",
            )
        return
    if size in spec.sizes:
        return
    if spec.free_size:
        _check_free_size(size, spec)
        return
    raise InvalidParameterError(
        "size", size, _one_of(spec.sizes), reason=f"size {size!r} is not supported by {model}"
    )


def _check_free_size(size: str, spec: ModelSpec) -> None:
    rule = (
        f"{spec.name} takes {', '.join(spec.sizes)} or any WIDTHxHEIGHT with both sides multiples"
        " of 16, the longer side at most 3840, a ratio of at most 3:1 and 655,360 to 8,294,400"
        " pixels"
    )
    match = _SIZE_RE.match(size)
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


def _check_unknown(extra: Mapping[str, object]) -> None:
    for name, value in extra.items():
        guess = difflib.get_close_matches(name, PARAMETERS, n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise InvalidParameterError(
            name,
            value,
            f"{hint}known parameters: {', '.join(PARAMETERS)}; "
            "pass provider-specific fields as extra_body={...}",
            reason=f"unknown parameter {name!r}",
        )


def build_payload(
    prompt: object,
    *,
    model: str = DEFAULT_MODEL,
    n: int | None = None,
    size: str | None = None,
    response_format: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    background: str | None = None,
    output_format: str | None = None,
    output_compression: int | None = None,
    moderation: str | None = None,
    user: str | None = None,
    stream: bool | None = None,
    extra_body: Mapping[str, Any] | None = None,
    **unknown: Any,
) -> dict[str, Any]:
    """Validate the parameters of one generation and return the JSON body to send.

    ``None`` means "not given": the catalogue's default is used for ``n`` and ``size`` and other
    fields are left out. Raises ``InvalidParameterError`` (a ``ValueError``) naming the field, the
    value and what is allowed.
    """
    _check_unknown(unknown)
    _check_type("model", model, str, "a model name such as 'dall-e-3'")
    if not model.strip():
        raise InvalidParameterError(
            "model", model, "a model name such as 'dall-e-3'", reason="model must not be empty"
        )
    spec = get_model(model)
    _check_type("prompt", prompt, str, "a non-empty text describing the image")
    assert isinstance(prompt, str)
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
    _check_type("n", n, int, f"a whole number from 1 to {max_n}")
    if not 1 <= n <= max_n:
        only = f"{model} accepts only n=1" if max_n == 1 else f"choose 1 to {max_n}"
        raise InvalidParameterError("n", n, only, reason=f"n {n} is not allowed")
    payload["n"] = n

    size = (spec.default_size if spec else DEFAULT_SIZE) if size is None else size
    validate_size(size, spec)
    payload["size"] = size

    name = spec.name if spec else model
    if response_format is not None:
        allowed = spec.response_formats if spec else _ENUMS["response_format"]
        if spec and not allowed:
            raise InvalidParameterError(
                "response_format",
                response_format,
                f"leave it unset: {model} always answers with base64 images",
                reason=f"response_format is not supported by {model}",
            )
        _check_enum("response_format", response_format, allowed, name)
        payload["response_format"] = response_format
    if quality is not None:
        _check_type("quality", quality, str, "a quality name")
        if spec:
            _check_enum("quality", quality, spec.qualities, name)
        payload["quality"] = quality
    if style is not None:
        _check_type("style", style, str, "a style name")
        if spec:
            _check_enum("style", style, spec.styles, name)
        payload["style"] = style

    gpt_values = {
        "background": background,
        "output_format": output_format,
        "moderation": moderation,
    }
    for option, value in gpt_values.items():
        if value is None:
            continue
        if spec and not spec.accepts(option):
            _check_enum(option, value, (), name)
        _check_enum(option, value, _ENUMS[option], name)
        payload[option] = value
    if output_compression is not None:
        if spec and not spec.accepts("output_compression"):
            _check_enum("output_compression", output_compression, (), name)
        _check_type("output_compression", output_compression, int, "a whole number 0 to 100")
        if not 0 <= output_compression <= 100:
            raise InvalidParameterError(
                "output_compression",
                output_compression,
                "choose 0 to 100",
                reason=f"output_compression {output_compression} is out of range",
            )
        payload["output_compression"] = output_compression
    if background == "transparent" and payload.get("output_format") == "jpeg":
        raise InvalidParameterError(
            "background",
            background,
            "use output_format 'png' or 'webp' with it",
            reason="a transparent background cannot be saved as jpeg",
        )
    if stream:
        raise InvalidParameterError(
            "stream",
            stream,
            "leave stream unset: this client waits for the finished images",
            reason="streaming is not supported",
        )
    if user is not None:
        _check_type("user", user, str, "an end-user id string")
        payload["user"] = user
    if extra_body is not None:
        if not isinstance(extra_body, Mapping):
            raise InvalidParameterError(
                "extra_body",
                extra_body,
                "a dict of extra JSON fields",
                reason="extra_body must be a mapping",
            )
        clashes = sorted(set(extra_body) & (set(PARAMETERS) | {"prompt"}))
        if clashes:
            raise InvalidParameterError(
                "extra_body",
                dict(extra_body),
                f"pass {', '.join(clashes)} as keyword argument(s), where they are validated",
                reason=f"extra_body must not override {', '.join(clashes)}",
            )
        payload.update(extra_body)
    return payload
