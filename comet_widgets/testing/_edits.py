"""The fake's ``POST /v1/images/edits``: multipart parsing, validation like the real service, and
an answer derived from the inputs.

The body is parsed here (no multipart library: the fake, and so offline mode, needs no extra),
with the standard library's header parser for each part's headers. The edited image is the
first input with the area the mask marks (its fully transparent pixels) replaced by the fake's
placeholder pattern for the prompt and the rest unchanged, so a test can see the mask was
honoured. Without a mask the whole input is blended half-and-half with the pattern.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.message import Message
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value
from typing import Any

from PIL import Image

from .._catalog import EditInput, build_edit_payload, check_edit, rules_for
from .._constants import DEFAULT_EDIT_MODEL, MAX_IMAGE_PIXELS
from .._errors import InvalidParameterError
from .._types import EDIT_FILES, EDIT_PARAMETERS, PARAMETERS, EditParams, scalar_kind
from ..images._formats import NotAnImage, has_alpha, sniff
from . import _images as images
from ._asgi import Refusal
from ._bodies import image_spec

__all__ = ["EDITS_PATH", "FormPart", "derive", "parse_form", "validate_edit"]

EDITS_PATH = "/v1/images/edits"

#: Form fields sent as text that the catalogue checks as numbers or booleans.
_INTS = tuple(name for name in EDIT_PARAMETERS if scalar_kind(name, EditParams) is int)
_BOOLS = tuple(name for name in EDIT_PARAMETERS if scalar_kind(name, EditParams) is bool)


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart body as the fake received it (files: hash and size only)."""

    name: str
    filename: str | None
    content_type: str | None
    #: The text of a field; None for a file.
    value: str | None
    size: int
    sha256: str


def _params(value: str, header: str) -> tuple[str, dict[str, str]]:
    """A header's main value (lower case) and its parameters, unquoted (RFC 2231 too)."""
    message = Message()
    message[header] = value
    found = message.get_params(header=header) or [("", "")]
    return found[0][0].lower(), {
        key: collapse_rfc2231_value(param) for key, param in found[1:] if key
    }


def _malformed(message: str) -> Refusal:
    return Refusal(400, message, code="invalid_request_body")


def parse_form(body: bytes, content_type: str) -> tuple[list[FormPart], dict[str, list[bytes]]]:
    """The parts of a ``multipart/form-data`` body and the files' bytes by field name.

    Refuses a body that is not multipart or is malformed (a 400 ``invalid_request_body``).
    """
    kind, options = _params(content_type, "content-type")
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise _malformed(
            f"expected a multipart/form-data body with a boundary, got {content_type or 'none'!r}"
        )
    delimiter = b"--" + options["boundary"].encode("latin-1")
    first = body.find(delimiter)
    if first < 0:
        raise _malformed("malformed multipart body: the boundary never appears")
    parts: list[FormPart] = []
    files: dict[str, list[bytes]] = {}
    # Each piece after a delimiter is CRLF, a part's headers, a blank line and its data (up to
    # the CRLF before the next delimiter); the last one is "--" after the closing delimiter.
    # Leading spaces and tabs are RFC 2046's transport padding.
    *pieces, last = body[first + len(delimiter) :].split(b"\r\n" + delimiter)
    if not last.lstrip(b" \t").startswith(b"--"):
        raise _malformed("malformed multipart body: it ends before the closing boundary")
    for piece in (piece.lstrip(b" \t") for piece in pieces):
        blank = piece.find(b"\r\n\r\n")
        if not piece.startswith(b"\r\n") or blank < 0:
            raise _malformed("malformed multipart body: a part has no header block")
        headers = HeaderParser().parsestr(piece[2 : blank + 2].decode("utf-8", "replace"))
        _, disposition = _params(headers.get("content-disposition", ""), "content-disposition")
        name = disposition.get("name", "")
        filename = disposition.get("filename")
        data = piece[blank + 4 :]
        parts.append(
            FormPart(
                name=name,
                filename=filename,
                content_type=headers.get("content-type"),
                value=None if filename is not None else data.decode("utf-8", "replace"),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
        if filename is not None:
            files.setdefault(name, []).append(data)
    return parts, files


def _input(field: str, number: int, data: bytes) -> EditInput:
    try:
        info = sniff(data, max_pixels=MAX_IMAGE_PIXELS)
    except NotAnImage as exc:
        raise InvalidParameterError(
            field,
            f"file {number}",
            "a png, jpeg or webp image",
            reason=f"{field} is not an image ({exc})",
        ) from None
    alpha = bool(has_alpha(data))
    return EditInput(f"{field} {number}", info.format, info.width, info.height, len(data), alpha)


def validate_edit(
    parts: list[FormPart], files: dict[str, list[bytes]]
) -> tuple[dict[str, Any], list[bytes], bytes | None]:
    """The edit's fields as a generation document, its images and its mask, or
    ``InvalidParameterError`` the way the real service refuses them: the fields by the client's
    own rules (``build_edit_payload``: ``EditParams``; another field of generations, such as
    ``moderation``, is refused; any other passes as provider-specific), the files by
    ``check_edit``."""
    document: dict[str, Any] = {}
    for part in parts:
        if part.value is None:
            continue
        value: Any = part.value
        if part.name in _INTS:
            try:
                value = int(value)
            except ValueError:
                raise InvalidParameterError(
                    part.name, value, "a whole number", reason=f"{part.name} must be a number"
                ) from None
        elif part.name in _BOOLS:
            value = value == "true"
        document[part.name] = value
    single, several = files.get("image", []), files.get("image[]", [])
    if single and several:
        raise InvalidParameterError(
            "image", "image and image[]", "send either image (one file) or image[] (several)"
        )
    inputs = single + several
    overlays: dict[str, bytes] = {}
    for name in EDIT_FILES:
        sent = files.get(name, [])
        if len(sent) > 1:
            raise InvalidParameterError(name, f"{len(sent)} files", f"send at most one {name}")
        if sent:
            overlays[name] = sent[0]
    model = str(document.setdefault("model", DEFAULT_EDIT_MODEL))
    named = {k: v for k, v in document.items() if k in {*EDIT_PARAMETERS, *PARAMETERS}}
    rest = {k: v for k, v in document.items() if k not in named and k != "prompt"}
    build_edit_payload(document.get("prompt"), {**named, **overlays, "extra_body": rest or None})
    found = {name: _input(name, 0, data) for name, data in overlays.items()}
    check_edit(
        model,
        [_input("image", number, data) for number, data in enumerate(inputs)],
        found.get("mask"),
        found.get("markup"),
    )
    document.pop("input_fidelity", None)
    return document, inputs, overlays.get("mask")


def derive(payload: Mapping[str, Any], image: bytes, mask: bytes | None, size: str | None) -> bytes:
    """The edited image: ``image`` with the mask's transparent area replaced by the placeholder
    pattern for the prompt (no mask: blended with it), resized to ``size`` when one is given,
    encoded as ``payload`` asks (a GPT model's format, compression, frames; svg gives png)."""
    with Image.open(io.BytesIO(image)) as opened:
        base = opened.convert("RGBA")
    rules = rules_for(str(payload["model"]))
    gpt = rules is not None and rules.family == "gpt-image"
    spec = image_spec(payload, 0, base.width, base.height, gpt)
    pattern = images.draw(replace(spec, transparent=False)).convert("RGBA")
    if mask is None:
        result = Image.blend(base, pattern, 0.5)
    else:
        with Image.open(io.BytesIO(mask)) as opened:
            alpha = opened.convert("RGBA").getchannel("A")
        edit_here = alpha.point(lambda value: 255 if value == 0 else 0)
        result = Image.composite(pattern, base, edit_here)
    if size and size != "auto" and images.parse_size(size) != result.size:
        result = result.resize(images.parse_size(size))
    return images.encode(result, replace(spec, width=result.width, height=result.height))
