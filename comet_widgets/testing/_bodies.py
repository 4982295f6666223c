"""Success bodies of the fake: the ``ImagesResponse`` JSON with its images, GPT fields, usage.

Every success body validates against the official SDK's ``ImagesResponse``: the GPT-only
top-level fields are resolved the way OpenAI reports them ("auto" becomes what was actually
made), and ``size`` is always there, a free gpt-image-2 size too (the SDK types it as any
string; the older OpenAPI document's enum lists only the three fixed sizes).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._catalog import PARTIAL_IMAGE_TOKENS, get_model, rules_for
from .._cost import image_tokens, text_tokens
from . import _images as images
from ._faults import BAD_BASE64
from ._streams import coarseness, image_event

if TYPE_CHECKING:
    from ._faults import MalformKind, UrlPlan
    from ._files import FileStore

__all__ = ["REVISION", "ImageBodies", "image_spec"]

#: Appended to the prompt to make dall-e-3's ``revised_prompt``.
REVISION = ", rendered in soft natural light."


_B64_CACHE_MIN = 256 * 1024
_SCHEMA_QUALITIES = frozenset({"low", "medium", "high", "xhigh", "max"})


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def encode_images_response(
    created: int,
    items: Sequence[Mapping[str, Any]],
    b64: Sequence[bytes | None],
    extra: Mapping[str, Any],
) -> bytes:
    """The JSON body ``{"created", "data": [...], **extra}``.

    ``b64[i]`` (already base64, ASCII) becomes item i's ``b64_json``. It is spliced in as is
    rather than passed through ``json.dumps``, which would scan megabytes for escapes.
    """
    # One join at the end: each `+` of a multi-megabyte bytes copies it (and a fresh allocation
    # that size costs page faults too): ~3.5 ms a body that way, ~0.1 ms with one join.
    parts: list[bytes] = [b'{"created":', str(int(created)).encode(), b',"data":[']
    for number, (item, data) in enumerate(zip(items, b64, strict=True)):
        if number:
            parts.append(b",")
        rest = _dumps(dict(item))
        if data is None:
            parts.append(rest)
            continue
        parts += [b'{"b64_json":"', data, b'"', b"}" if rest == b"{}" else b"," + rest[1:]]
    parts.append(b"]")
    for key, value in extra.items():
        parts += [b",", _dumps(key), b":", _dumps(value)]
    parts.append(b"}")
    return b"".join(parts)


def gpt_fields(
    payload: Mapping[str, Any], width: int, height: int, *, image_input: int = 0
) -> dict[str, Any]:
    """``background``, ``output_format``, ``quality``, ``size`` and ``usage`` of a GPT answer.

    The usage counts tokens as the package's cost estimate does (``_cost``: the catalogue's
    ``OUTPUT_TOKENS`` for the quality made, scaled by area; the prompt's text tokens), plus
    ``image_input`` image input tokens (an edit's inputs)."""
    quality = str(payload.get("quality") or "auto")
    quality = quality if quality in _SCHEMA_QUALITIES else "medium"
    fields: dict[str, Any] = {
        "background": "transparent" if payload.get("background") == "transparent" else "opaque",
        "output_format": payload.get("output_format") or "png",
        "quality": quality,
        "size": f"{width}x{height}",
    }
    text = text_tokens(str(payload["prompt"]))
    per_image = image_tokens(quality, width, height)
    if fields["output_format"] == "gif":
        per_image *= int(payload.get("frame_count") or 9)
    output_tokens = per_image * int(payload["n"])
    fields["usage"] = {
        "input_tokens": text + image_input,
        "output_tokens": output_tokens,
        "total_tokens": text + image_input + output_tokens,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image_input},
        "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
    }
    svg = payload.get("svg")
    if fields["output_format"] == "svg" and isinstance(svg, Mapping):
        fields["svg_usage"] = {
            "input_tokens": text,
            "model": str(svg.get("model")),
            "output_tokens": 600,
            "reasoning_tokens": 200,
            "total_tokens": text + 600,
        }
    effective = payload.get("safety_identifier") or payload.get("user")
    if effective:
        fields["safety_identifier"] = effective
    return fields


class ImageBodies:
    """Builds the body of a successful generation (or of a broken one that still has images)."""

    def __init__(self, files: FileStore) -> None:
        self._files = files
        self._b64_cache: tuple[bytes, bytes] | None = None

    async def build(
        self,
        payload: Mapping[str, Any],
        kind: MalformKind | None,
        *,
        only: frozenset[int] | None = None,
        created: int,
        base: str,
        image_bytes: bytes | None,
        url_extension: str | None,
        revised: str | None = None,
        image_input: int = 0,
    ) -> bytes:
        """The JSON body for a validated ``payload``; ``kind`` may break the images in it:
        "no_image_fields", "not_an_image", "truncated_png", "bomb" or "bad_base64" (others
        leave it whole); ``only`` limits that to the images at those indexes. ``revised``
        is every item's ``revised_prompt`` (dall-e-3 revises the prompt on its own);
        ``image_input``: the image input tokens of an edit's inputs.
        """
        whole = kind
        spec = get_model(str(payload["model"]))
        rules = rules_for(str(payload["model"]))
        gpt = rules is not None and rules.family == "gpt-image"
        width, height = images.parse_size(str(payload["size"]))
        b64_mode = gpt or payload.get("response_format") == "b64_json"
        plans: Mapping[int, UrlPlan] = {}
        if not b64_mode and kind != "no_image_fields":
            plans = self._files.take_plans()
        items: list[dict[str, Any]] = []
        encoded: list[bytes | None] = []
        for index in range(int(payload["n"])):
            kind = whole if only is None or index in only else None
            item: dict[str, Any] = {}
            if kind == "no_image_fields":
                encoded.append(None)
            else:
                data = image_bytes
                if kind == "not_an_image":
                    data = images.NOT_AN_IMAGE
                elif kind == "bomb":
                    data = images.bomb_png()
                elif data is None:
                    data = await _render(image_spec(payload, index, width, height, gpt))
                if kind == "truncated_png":  # the header survives, the pixels do not
                    data = data[: max(1, len(data) // 2)]
                if b64_mode:
                    encoded.append(BAD_BASE64.encode() if kind == "bad_base64" else self._b64(data))
                else:
                    encoded.append(None)
                    item["url"] = self._files.publish(base, data, plans.get(index), url_extension)
            if revised is not None:
                item["revised_prompt"] = revised
            elif spec is not None and spec.revises_prompt:  # one sentence, like the real one's
                item["revised_prompt"] = str(payload["prompt"]).rstrip().rstrip(".!") + REVISION
            items.append(item)
        extra = gpt_fields(payload, width, height, image_input=image_input) if gpt else {}
        return encode_images_response(created, items, encoded, extra)

    async def build_stream(
        self,
        payload: Mapping[str, Any],
        *,
        image_bytes: bytes | None,
        image_input: int,
        kinds: tuple[str, str],
    ) -> list[bytes]:
        """The events of a streamed answer (``kinds``: its partial and completed types): each
        image's coarser partials, then its completed event with the usage (each partial adds
        ``PARTIAL_IMAGE_TOKENS``), all with the GPT fields (size, quality, ...)."""
        partials = int(payload.get("partial_images") or 0)
        width, height = images.parse_size(str(payload["size"]))
        fields = gpt_fields(payload, width, height, image_input=image_input)
        usage = dict(fields.pop("usage"))
        del usage["output_tokens_details"]  # the stream events' usage has none (the SDK's types)
        extra = PARTIAL_IMAGE_TOKENS * partials * int(payload["n"])
        usage["output_tokens"] += extra
        usage["total_tokens"] += extra
        common = {"created_at": int(time.time()), **fields}
        events: list[bytes] = []
        for index in range(int(payload["n"])):
            spec = image_spec(payload, index, width, height, gpt=True)
            for number in range(partials):
                coarse = replace(spec, block=coarseness(number, partials))
                data = image_bytes if image_bytes is not None else await _render(coarse)
                indexed = {**common, "partial_image_index": number}
                events.append(image_event(kinds[0], self._b64(data), indexed))
            final = image_bytes if image_bytes is not None else await _render(spec)
            events.append(image_event(kinds[1], self._b64(final), {**common, "usage": usage}))
        return events

    def _b64(self, data: bytes) -> bytes:
        # Benchmarks send the same multi-megabyte image_bytes every time: encode it once.
        cached = self._b64_cache
        if cached is not None and cached[0] is data:
            return cached[1]
        encoded = base64.b64encode(data)
        if len(data) >= _B64_CACHE_MIN:
            self._b64_cache = (data, encoded)
        return encoded


async def _render(spec: images.ImageSpec) -> bytes:
    # Drawing and encoding a large image takes milliseconds: keep the loop serving.
    return await asyncio.to_thread(images.render, spec)


def image_spec(
    payload: Mapping[str, Any], index: int, width: int, height: int, gpt: bool
) -> images.ImageSpec:
    """The placeholder image ``index`` of a validated ``payload`` (``gpt``: for a GPT image
    model, whose format, background and compression options it honours)."""
    fmt = (payload.get("output_format") or "png") if gpt else "png"
    return images.ImageSpec(
        prompt=str(payload["prompt"]),
        index=index,
        width=width,
        height=height,
        format=fmt,
        transparent=gpt and payload.get("background") == "transparent",
        compression=payload.get("output_compression") if gpt else None,
        frames=int(payload.get("frame_count") or 9),
        frame_ms=int(payload.get("frame_duration_ms") or 200),
    )
