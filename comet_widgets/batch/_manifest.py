"""The batch manifest: one JSON line per finished item, the unit of resumption and merging.

Every finished item (success or failure) appends one line to ``manifest.jsonl`` in the batch's
folder, with a single ``write`` then flushed and fsynced, so a killed process leaves at most one
torn last line: readers ignore it, and the next run's writer moves it aside (``repair_tail``).
A writer locks its manifest for the life of a batch (``ManifestLockedError`` for a second one).
An item's ``key`` is the SHA-256 of the canonical JSON of its whole request body. Paths in a
record are relative to the manifest's folder (POSIX), so a dataset folder can be moved whole.

This module is plain JSON and files: no HTTP, no Pillow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .._errors import CometError, InvalidParameterError
from ..images._metadata import sidecar_path, write_file

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "ManifestLockedError",
    "ManifestWriter",
    "MergeReport",
    "canonical_json",
    "expand_inputs",
    "fsync_directory",
    "item_key",
    "manifest_files",
    "merge_manifests",
    "read_manifest",
    "relative_path",
    "shard_manifest_name",
]

logger = logging.getLogger("comet_widgets")

MANIFEST_NAME = "manifest.jsonl"
MANIFEST_VERSION = 1


def shard_manifest_name(index: int, count: int) -> str:
    """The manifest file of shard ``index`` of ``count`` (one per process)."""
    return f"manifest.shard-{index}-of-{count}.jsonl"


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (``TypeError`` for
    values JSON cannot hold)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def item_key(payload: Mapping[str, Any]) -> str:
    """The key of a request body: hex SHA-256 of its canonical JSON (prompt and parameters)."""
    return hashlib.sha256(canonical_json(dict(payload)).encode("utf-8")).hexdigest()


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (``..`` allowed), for a manifest record."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a manifest, in file order; ``[]`` when the file does not exist.

    Lines that are not a JSON object with a ``key`` are skipped: a process killed while
    appending leaves a partial last line, which is expected; any other bad line is logged.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            if number < len(lines):  # not a torn last line
                logger.warning("%s line %d is not a manifest record; skipped", path, number)
            continue
        records.append(record)
    return records


def manifest_files(directory: Path) -> list[Path]:
    """Every manifest in ``directory``: ``manifest.jsonl`` first, then shard manifests."""
    main = directory / MANIFEST_NAME
    shards = sorted(p for p in directory.glob("manifest*.jsonl") if p.name != MANIFEST_NAME)
    return ([main] if main.is_file() else []) + [p for p in shards if p.is_file()]


class ManifestLockedError(CometError):
    """Another process is running a batch on the same manifest (same folder, same shard)."""


def _acquire(path: Path) -> int | None:
    """Lock ``path``'s manifest for this process, or raise ``ManifestLockedError`` at once;
    the lock file's descriptor (locked until closed), or None without ``fcntl`` (Windows)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    # hidden, beside the manifest; it names the process holding it
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise ManifestLockedError(
            f"another batch is writing to {path.parent} ({path.name} is locked by {holder});"
            " nothing was sent. What to do: wait for it to finish, or give this batch another"
            " output_dir (shards of one batch may share a folder: each has its own manifest)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}".encode(), 0)
    return fd


def repair_tail(path: Path) -> Path | None:
    """Move a torn last line (a crash in the middle of a write) to ``<manifest>.torn-<time>``
    beside it, so that ``pandas.read_json(..., lines=True)`` loads the manifest again; return
    where it went (None when the manifest was whole). A whole last record gets its newline."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not data or data.endswith(b"\n"):
        return None
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    try:
        whole = isinstance(json.loads(tail), dict)
    except ValueError:
        whole = False
    if whole:
        with path.open("ab") as handle:
            handle.write(b"\n")
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    aside = path.with_name(f"{path.name}.torn-{stamp}")
    write_file(aside, tail, fsync=True)
    os.truncate(path, cut)
    logger.warning(
        "%s ended with a torn line (%d bytes, from a crash while writing): moved to %s",
        path,
        len(tail),
        aside.name,
    )
    return aside


class ManifestWriter:
    """Appends records to a manifest, one fsynced line each; safe to call from threads. It
    locks the manifest for its lifetime (``_acquire``) and first moves a torn last line aside
    (``repair_tail``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lock_fd = _acquire(path)
        try:
            repair_tail(path)
            self._handle: BinaryIO | None = path.open("ab")
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as one line, then flush and fsync."""
        line = (canonical_json(dict(record)) + "\n").encode("utf-8")
        with self._lock:
            if self._handle is None:
                raise InvalidParameterError(
                    "manifest",
                    str(self.path),
                    "a writer still open (a batch closes its own when it ends)",
                    reason=f"the manifest writer for {str(self.path)!r} is closed",
                )
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            self._release()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def fsync_directory(directory: Path) -> None:
    """Make renames inside ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- merging --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeReport:
    """What ``merge_manifests`` did."""

    output: Path
    inputs: tuple[Path, ...]
    rows_read: int
    items: int
    #: How many of ``items`` succeeded / failed.
    succeeded: int
    failed: int
    copied: int

    @property
    def ok(self) -> bool:
        """True when every merged item succeeded."""
        return self.failed == 0

    def __str__(self) -> str:
        copied = f", {self.copied} file(s) copied" if self.copied else ""
        return (
            f"merged {self.rows_read} row(s) from {len(self.inputs)} manifest(s) into"
            f" {self.output}: {self.items} item(s), {self.succeeded} ok,"
            f" {self.failed} failed{copied}"
        )


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Manifest files named by ``inputs`` (directories by their manifests), each once, in the
    order given; ``FileNotFoundError`` for a missing input or a directory without manifests."""
    found: dict[Path, Path] = {}
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = manifest_files(path)
            if not files:
                raise FileNotFoundError(f"{path} holds no manifest*.jsonl")
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(f"{path} does not exist")
        for file in files:
            found.setdefault(file.resolve(), file)
    return list(found.values())


def merge_manifests(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    copy: bool = False,
) -> MergeReport:
    """Join manifests into one, written atomically to ``output``.

    ``inputs`` are manifest files or directories (a directory stands for its ``manifest.jsonl``
    and ``manifest.shard-*.jsonl``); ``output`` may be one of them (everything is read before
    it is replaced). Rows are deduplicated by item (key and input index: items with identical
    bodies share one request but keep a row each, with their own labels): a successful row
    beats a failed one, and otherwise the later row (in input order) wins. The result is
    sorted by each item's input index (ties keep input order). Image files stay where they are
    and paths are rewritten relative to the output's directory; ``copy=True`` copies them (and
    their sidecars) into the output's directory instead. Raises ``FileNotFoundError`` for a
    missing input.
    """
    out = Path(output)
    root = out.parent
    files = expand_inputs([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)
    chosen: dict[tuple[str, int], tuple[int, dict[str, Any], Path]] = {}
    rows = 0
    for file in files:
        for record in read_manifest(file):
            rows += 1
            item = (record["key"], _index_of(record))
            previous = chosen.get(item)
            if previous is None:
                chosen[item] = (rows, record, file.parent)
            elif record.get("error") is None or previous[1].get("error") is not None:
                # a success beats a failure; otherwise the later row wins (it is the newer)
                chosen[item] = (previous[0], record, file.parent)
    ordered = sorted(chosen.values(), key=lambda entry: (_index_of(entry[1]), entry[0]))
    copied = 0
    merged = []
    for _, record, source in ordered:
        rebased, count = _rebase(record, source, root, copy=copy)
        merged.append(rebased)
        copied += count
    text = "".join(canonical_json(record) + "\n" for record in merged)
    write_file(out, text.encode("utf-8"), fsync=True)
    succeeded = sum(1 for record in merged if record.get("error") is None)
    return MergeReport(
        output=out,
        inputs=tuple(files),
        rows_read=rows,
        items=len(merged),
        succeeded=succeeded,
        failed=len(merged) - succeeded,
        copied=copied,
    )


def _index_of(record: Mapping[str, Any]) -> int:
    index = record.get("index")
    return index if isinstance(index, int) else 1 << 62


def _rebase(
    record: dict[str, Any], source: Path, root: Path, *, copy: bool
) -> tuple[dict[str, Any], int]:
    """The record with image paths relative to ``root`` (files copied there if asked)."""
    images = []
    copied = 0
    given = record.get("images")
    for image in given if isinstance(given, list) else []:
        if not isinstance(image, dict):
            continue
        image = dict(image)
        if image.get("path"):
            where = source / str(image["path"])
            if copy and where.resolve().parent != root.resolve():
                target = root / where.name
                root.mkdir(parents=True, exist_ok=True)
                shutil.copy2(where, target)
                side = sidecar_path(where)
                if side.exists():
                    shutil.copy2(side, sidecar_path(target))
                where = target
                copied += 1
            image["path"] = relative_path(where, root)
        images.append(image)
    paths = [image["path"] for image in images if image.get("path")]
    return {**record, "images": images, "paths": paths}, copied
