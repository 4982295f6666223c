"""Several images in one ZIP: each image file as ``GeneratedImage.save`` would write it, plus
``metadata.jsonl``, one JSON line of provenance per image (its ``file_name`` first, then the
``metadata`` record that saved files carry), in the images' order."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Sequence
from pathlib import PurePosixPath

from .._errors import CometError
from ._metadata import add_png_text
from ._results import GeneratedImage, numbered

__all__ = ["archive_name", "zip_images"]

#: The provenance file inside the ZIP (the layout of Hugging Face's ``imagefolder``).
METADATA_FILE = "metadata.jsonl"


def zip_images(images: Sequence[GeneratedImage]) -> bytes:
    """The ZIP's bytes: every image (PNG with its metadata text chunks, other formats as they
    came) under its made-up name (``-2``, ``-3``... when two would clash) and
    ``metadata.jsonl``. Raises ``CometError`` for an image without data (a failed one)."""
    out = io.BytesIO()
    names: set[PurePosixPath] = set()
    lines: list[str] = []
    with zipfile.ZipFile(out, "w") as archive:
        for image in images:
            if not image.ok or image.data is None:
                raise CometError(f"image {image.index + 1} has no data to put in a ZIP")
            path = numbered(PurePosixPath(image.default_filename()), names.__contains__)
            names.add(path)
            name = str(path)
            record = image.metadata
            data = add_png_text(image.data, record) if image.format == "png" else image.data
            # Images are compressed already: stored as they are.
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
            lines.append(json.dumps({"file_name": name, **record}, ensure_ascii=False) + "\n")
        archive.writestr(METADATA_FILE, "".join(lines), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def archive_name(count: int) -> str:
    """The ZIP's file name: ``comet-images-20261207-031500-4.zip`` (now, and how many)."""
    return f"comet-images-{time.strftime('%Y%m%d-%H%M%S')}-{count}.zip"
