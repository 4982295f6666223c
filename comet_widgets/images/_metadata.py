"""Provenance: metadata written into saved images and read back.

PNG files get the metadata as text chunks inserted before ``IEND`` (the image data is not
re-encoded): one ``comet-widgets`` iTXt chunk holding the whole record as JSON, plus readable
``Title``/``Description``/``Software`` entries that image viewers show. Every format can also
get a JSON sidecar next to the file (``boat.webp.json``). ``read_metadata`` reads either back.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import struct
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .._errors import InvalidParameterError

__all__ = [
    "METADATA_KEY",
    "add_png_text",
    "read_metadata",
    "read_path",
    "sidecar_path",
    "write_file",
]

METADATA_KEY = "comet-widgets"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COMPLETE_PNG = "PNG bytes, from the signature to an IEND chunk"


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """Where the JSON sidecar of ``path`` lives: the file name plus ``.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _itxt(key: str, text: str) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated key, NUL
    payload = key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    return _chunk(b"iTXt", payload)


_OWN_KEYS = {key.encode() for key in (METADATA_KEY, "Title", "Description", "Software")}


def _chunks(data: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """``(start, end, type, body)`` of each whole chunk of a PNG, up to ``IEND``."""
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return  # cut short: the rest is not a chunk
        yield pos, end, kind, data[pos + 8 : end - 4]
        if kind == b"IEND":
            return
        pos = end


def add_png_text(data: bytes, metadata: Mapping[str, Any]) -> bytes:
    """Return ``data`` (a PNG) with the metadata chunks inserted just before ``IEND``, replacing
    any this function wrote before (saving a saved image again adds no second copy)."""
    chunks = [_itxt(METADATA_KEY, json.dumps(dict(metadata), ensure_ascii=False, sort_keys=True))]
    readable = {
        "Title": metadata.get("prompt"),
        "Description": metadata.get("revised_prompt"),
        "Software": metadata.get("software"),
    }
    chunks += [_itxt(key, str(value)) for key, value in readable.items() if value]
    kept = [data[: len(_PNG_SIGNATURE)]]
    for start, end, kind, body in _chunks(data) if data.startswith(_PNG_SIGNATURE) else ():
        if kind == b"IEND":
            return b"".join([*kept, *chunks, data[start:]])
        if not (kind == b"iTXt" and body.split(b"\x00", 1)[0] in _OWN_KEYS):
            kept.append(data[start:end])
    raise InvalidParameterError("data", data, _COMPLETE_PNG, reason="not a complete PNG")


def _png_record(data: bytes) -> dict[str, Any] | None:
    for _, _, kind, body in _chunks(data):
        key, _, rest = body.partition(b"\x00")
        if kind in (b"iTXt", b"tEXt", b"zTXt") and key == METADATA_KEY.encode():
            record = _decode_record(kind, rest)
            if record is not None:
                return record
    return None


def _decode_record(kind: bytes, rest: bytes) -> dict[str, Any] | None:
    """The record in one text chunk (after its keyword), or None if it is damaged."""
    try:
        if kind == b"iTXt":
            compressed = rest[0] == 1
            text = rest[2:].split(b"\x00", 2)[2]
            text = zlib.decompress(text) if compressed else text
        elif kind == b"zTXt":
            text = zlib.decompress(rest[1:])
        else:
            text = rest
        record = json.loads(text.decode("utf-8"))
    except (IndexError, ValueError, zlib.error):  # cut short, not zlib, not UTF-8, not JSON
        return None
    return record if isinstance(record, dict) else None


#: What a path that is not a regular file is, for messages.
_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _irregular(mode: int) -> str | None:
    """What a file of ``mode`` is when it is not a regular file (None when it is one)."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _NOT_REGULAR if test(mode)), "not a regular file")


def read_path(value: str | os.PathLike[str], field: str) -> tuple[str, bytes]:
    """``(file name, bytes)`` of an input file; a file that cannot be read is refused with
    ``InvalidParameterError`` naming ``field``, and so, at once and without opening it, is a
    path that is not a regular file (a FIFO or a device would block or never end)."""
    path = Path(value)
    allowed = "a path to an image file (a regular file) that exists and can be read"
    try:
        what = _irregular(path.stat().st_mode)
        if what is None:
            # Non-blocking, and checked again once open: it may have been swapped meanwhile.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as handle:
                what = _irregular(os.fstat(fd).st_mode)
                if what is None:
                    return path.name, handle.read()
    except OSError as exc:
        raise InvalidParameterError(
            field,
            str(value),
            allowed,
            reason=f"cannot read {field} {str(value)!r} ({exc.strerror or type(exc).__name__})",
        ) from None
    raise InvalidParameterError(
        field, str(value), allowed, reason=f"{field} {str(value)!r} is {what}, not an image file"
    )


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the metadata comet-widgets saved with an image.

    Looks in the PNG's text chunks first, then in the JSON sidecar (``<file>.json``). Raises
    ``FileNotFoundError`` if the image does not exist, ``InvalidParameterError`` for a path
    that is not a regular file (a FIFO, a device: refused unopened), cannot be read, or holds
    no metadata in either place.
    """
    path = Path(path)
    path.stat()  # FileNotFoundError, as documented
    data = read_path(path, "path")[1]
    if data.startswith(_PNG_SIGNATURE):
        record = _png_record(data)
        if record is not None:
            return record
    side = sidecar_path(path)
    if side.exists():
        loaded: dict[str, Any] = json.loads(side.read_text(encoding="utf-8"))
        return loaded
    raise InvalidParameterError(
        "path",
        path.name,
        "an image comet-widgets saved (a PNG with its text chunk, or a file with its sidecar)",
        reason=f"image {path.name!r} in {path.parent} has no comet-widgets metadata"
        f" (no PNG text chunk, no {side.name})",
    )


def write_file(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    # Mode 0o666 less the umask, as any new file gets (mkstemp's would be 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
