"""The bad-input matrix: every parameter a user can get wrong, with what the refusal must say.

Shared by the client's rows (tests/package/test_bad_input.py) and the panel's
(tests/widget/test_panel_faults.py), so that the panel is checked with the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BadInput:
    """One row: the call's arguments, the field refused, and text the message must contain."""

    params: dict[str, Any]
    field: str
    #: How the message shows the value (its repr, or a description such as its length).
    shown: str
    #: Words of what is allowed.
    allowed: str
    prompt: Any = "a paper boat"


ROWS: dict[str, BadInput] = {
    "prompt-empty": BadInput({}, "prompt", "''", "non-empty", prompt=""),
    "prompt-whitespace": BadInput({}, "prompt", "' \\n\\t '", "non-empty", prompt=" \n\t "),
    "prompt-not-text": BadInput({}, "prompt", "42", "non-empty text", prompt=42),
    "prompt-over-dall-e-2": BadInput(
        {"model": "dall-e-2"}, "prompt", "1001 characters", "at most 1000", prompt="x" * 1001
    ),
    "prompt-over-dall-e-3": BadInput(
        {"model": "dall-e-3"}, "prompt", "4001 characters", "at most 4000", prompt="x" * 4001
    ),
    "prompt-over-qwen-image": BadInput(
        {"model": "qwen-image"}, "prompt", "4001 characters", "at most 4000", prompt="x" * 4001
    ),
    **{
        f"prompt-over-{model}": BadInput(
            {"model": model}, "prompt", "32001 characters", "at most 32000", prompt="x" * 32001
        )
        for model in ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")
    },
    "prompt-lone-surrogate": BadInput(
        {}, "prompt", "'a \\ud800 boat'", "JSON", prompt="a \ud800 boat"
    ),
    "n-0": BadInput({"model": "dall-e-2", "n": 0}, "n", "n 0", "choose 1 to 10"),
    "n-11": BadInput({"model": "dall-e-2", "n": 11}, "n", "n 11", "choose 1 to 10"),
    "n-2-dall-e-3": BadInput({"model": "dall-e-3", "n": 2}, "n", "n 2", "accepts only n=1"),
    "n-2-qwen-image": BadInput({"model": "qwen-image", "n": 2}, "n", "n 2", "accepts only n=1"),
    "n-as-text": BadInput({"model": "dall-e-2", "n": "2"}, "n", "'2'", "whole number"),
    "n-as-float": BadInput({"model": "dall-e-2", "n": 2.0}, "n", "2.0", "whole number"),
    "n-as-bool": BadInput({"model": "dall-e-2", "n": True}, "n", "True", "whole number"),
    "size-not-for-dall-e-3": BadInput(
        {"model": "dall-e-3", "size": "512x512"}, "size", "'512x512'", "1792x1024"
    ),
    "size-star": BadInput(
        {"model": "dall-e-3", "size": "1024*1024"}, "size", "'1024*1024'", "1024x1024"
    ),
    "size-abc": BadInput({"model": "dall-e-2", "size": "abc"}, "size", "'abc'", "256x256"),
    "size-abc-unknown-model": BadInput(
        {"model": "flux-pro", "size": "abc"}, "size", "'abc'", "WIDTHxHEIGHT"
    ),
    "size-abc-gpt-image-2": BadInput(
        {"model": "gpt-image-2", "size": "abc"}, "size", "'abc'", "multiples of 16"
    ),
    "gpt-image-2-not-multiple-of-16": BadInput(
        {"model": "gpt-image-2", "size": "1000x1000"},
        "size",
        "'1000x1000'",
        "both sides multiples of 16",
    ),
    "gpt-image-2-side-over-3840": BadInput(
        {"model": "gpt-image-2", "size": "4096x2048"},
        "size",
        "'4096x2048'",
        "the longer side at most 3840",
    ),
    "gpt-image-2-ratio-over-3": BadInput(
        {"model": "gpt-image-2", "size": "3200x1024"}, "size", "'3200x1024'", "ratio of at most 3:1"
    ),
    "gpt-image-2-too-few-pixels": BadInput(
        {"model": "gpt-image-2", "size": "512x512"}, "size", "'512x512'", "655,360 to 8,294,400"
    ),
    "gpt-image-2-too-many-pixels": BadInput(
        {"model": "gpt-image-2", "size": "3840x2400"}, "size", "'3840x2400'", "8,294,400"
    ),
    "size-not-text": BadInput({"model": "dall-e-3", "size": 1024}, "size", "1024", "1024x1024"),
    **{
        f"response-format-{model}": BadInput(
            {"model": model, "response_format": "url"}, "response_format", "'url'", "leave it unset"
        )
        for model in ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")
    },
    "response-format-png": BadInput(
        {"model": "dall-e-3", "response_format": "png"}, "response_format", "'png'", "b64_json"
    ),
    "quality-ultra": BadInput(
        {"model": "dall-e-3", "quality": "ultra"}, "quality", "'ultra'", "standard, hd"
    ),
    "quality-hd-for-gpt": BadInput(
        {"model": "gpt-image-1", "quality": "hd"}, "quality", "'hd'", "low, medium, high, auto"
    ),
    "style-cinematic": BadInput(
        {"model": "dall-e-3", "style": "cinematic"}, "style", "'cinematic'", "vivid, natural"
    ),
    "style-for-gpt": BadInput(
        {"model": "gpt-image-1", "style": "vivid"}, "style", "'vivid'", "unset"
    ),
    "background-pink": BadInput(
        {"model": "gpt-image-1", "background": "pink"},
        "background",
        "'pink'",
        "transparent, opaque, auto",
    ),
    "background-for-dall-e-3": BadInput(
        {"model": "dall-e-3", "background": "transparent"}, "background", "'transparent'", "unset"
    ),
    "transparent-jpeg": BadInput(
        {"model": "gpt-image-1", "background": "transparent", "output_format": "jpeg"},
        "background",
        "'transparent'",
        "png' or 'webp",
    ),
    "output-format-bmp": BadInput(
        {"model": "gpt-image-1", "output_format": "bmp"}, "output_format", "'bmp'", "png, jpeg"
    ),
    "output-compression-101": BadInput(
        {"model": "gpt-image-1", "output_compression": 101}, "output_compression", "101", "0 to 100"
    ),
    "moderation-high": BadInput(
        {"model": "gpt-image-1", "moderation": "high"}, "moderation", "'high'", "low, auto"
    ),
    "unknown-keyword-typo": BadInput({"sise": "1024x1024"}, "sise", "'1024x1024'", "'size'"),
    "unknown-keyword": BadInput({"seed": 42}, "seed", "42", "extra_body"),
    "extra-body-not-a-dict": BadInput({"extra_body": "seed=7"}, "extra_body", "'seed=7'", "dict"),
    "extra-body-nan": BadInput(
        {"extra_body": {"seed": float("nan")}}, "extra_body['seed']", "nan", "finite numbers"
    ),
    "extra-body-not-json": BadInput(
        {"extra_body": {"seed": {1, 2}}}, "extra_body['seed']", "{1, 2}", "JSON values"
    ),
    "model-empty": BadInput({"model": " "}, "model", "' '", "model name"),
    "user-not-text": BadInput({"user": 7}, "user", "7", "end-user id"),
    "stream-not-bool": BadInput(
        {"model": "gpt-image-2", "stream": "yes"}, "stream", "'yes'", "True"
    ),
    "partial-images-4": BadInput(
        {"model": "gpt-image-2", "partial_images": 4}, "partial_images", "4", "0 to 3"
    ),
    "partial-images-negative": BadInput(
        {"model": "gpt-image-2", "partial_images": -1}, "partial_images", "-1", "0 to 3"
    ),
    "partial-images-not-int": BadInput(
        {"model": "gpt-image-2", "partial_images": "2"}, "partial_images", "'2'", "0 to 3"
    ),
    "partial-images-bool": BadInput(
        {"model": "gpt-image-2", "partial_images": True}, "partial_images", "True", "0 to 3"
    ),
    "partial-images-dall-e-3": BadInput(
        {"model": "dall-e-3", "partial_images": 2}, "partial_images", "2", "only GPT image"
    ),
    "partial-images-dall-e-2": BadInput(
        {"model": "dall-e-2", "partial_images": 1}, "partial_images", "1", "only GPT image"
    ),
    "partial-images-qwen-image": BadInput(
        {"model": "qwen-image", "partial_images": 3}, "partial_images", "3", "only GPT image"
    ),
    "stream-dall-e-3": BadInput(
        {"model": "dall-e-3", "stream": True}, "stream", "True", "only GPT image"
    ),
    "stream-false-with-partials": BadInput(
        {"model": "gpt-image-2", "stream": False, "partial_images": 2},
        "stream",
        "False",
        "partial_images turns streaming on",
    ),
}
