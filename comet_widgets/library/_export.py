"""Export library entries as an image dataset: image files plus ``metadata.jsonl``.

The layout is Hugging Face ``datasets``' ``imagefolder``: the images and one ``metadata.jsonl``
in the same folder, each line a JSON object whose ``file_name`` names its image (relative to
the metadata file) and whose other keys become columns. Every line has the same keys and only
scalar values (nested provenance is JSON text), so the columns' types agree across lines.
A ZIP holds the same layout at its root.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .._errors import LibraryError
from ..images._metadata import write_file

__all__ = ["METADATA_NAME", "export_records"]

METADATA_NAME = "metadata.jsonl"
_AS_TEXT = ("params", "usage", "mismatches", "inputs")


def _line(record: dict[str, Any], name: str) -> str:
    line: dict[str, Any] = {"file_name": name}
    for key, value in record.items():
        if key != "path":
            line[key] = json.dumps(value, sort_keys=True) if key in _AS_TEXT else value
    return json.dumps(line, ensure_ascii=False)


def export_records(records: list[dict[str, Any]], path: Path) -> Path:
    """Export ``records`` (``LibraryEntry.as_record()``: its ``path`` is the image file, its
    ``id`` names the exported file) to ``path``, a ZIP file or a folder. Returns ``path``."""
    files = [Path(record["path"]) for record in records]
    names = [f"{record['id']}{file.suffix}" for record, file in zip(records, files, strict=True)]
    metadata = "".join(_line(r, n) + "\n" for r, n in zip(records, names, strict=True))
    try:
        if path.suffix.lower() == ".zip":
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.part")
            with zipfile.ZipFile(partial, "w") as archive:
                for file, name in zip(files, names, strict=True):
                    # Images are compressed already: stored as they are.
                    archive.write(file, name, compress_type=zipfile.ZIP_STORED)
                archive.writestr(METADATA_NAME, metadata, compress_type=zipfile.ZIP_DEFLATED)
            partial.replace(path)
        else:
            for file, name in zip(files, names, strict=True):
                write_file(path / name, file.read_bytes())
            write_file(path / METADATA_NAME, metadata.encode("utf-8"))
    except OSError as exc:
        raise LibraryError(f"cannot export to {path}: {exc.strerror or exc}", path=path) from exc
    return path
