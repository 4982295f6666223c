"""``Library``: every image kept with its provenance, searchable from any kernel.

Threading: a ``Library`` holds one SQLite connection and lets one thread use it at a time (a
lock); create one per process (or per panel) and share it between its threads. Processes share
a library folder safely: each writes its files first, then its rows in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._constants import LIBRARY_ENV, LIBRARY_PAGE_SIZE, LIBRARY_THUMBNAIL_SIDE
from .._cost import Cost
from .._errors import InvalidParameterError, LibraryError
from ..batch._results import data_frame
from ..images._formats import EXTENSIONS, ImageFormat
from ..images._metadata import add_png_text, read_metadata, sidecar_path, write_file
from ..images._results import GeneratedImage, Generation
from ._export import export_records
from ._store import Store

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["Library", "LibraryEntry", "default_library_path"]

#: The key of the library's own fields in an image file's provenance record.
_RECORD_KEY = "library"


def default_library_path() -> Path:
    """``COMET_WIDGETS_LIBRARY`` when set, else ``<user data dir>/comet-widgets/library``."""
    configured = os.environ.get(LIBRARY_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("comet-widgets", appauthor=False)) / "library"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _timestamp(value: dt.datetime | dt.date | float | str, name: str) -> float:
    """A ``since``/``until`` bound as Unix time: a datetime (naive: local), a date, a number or
    an ISO 8601 string."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidParameterError(name, value, "an ISO 8601 date or time") from None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise InvalidParameterError(name, value, "a datetime, a date, Unix seconds or ISO text")


class LibraryEntry:
    """One image of the library and its provenance.

    ``prompt``, ``revised_prompt``, ``model``, ``params`` (every parameter sent), ``width``,
    ``height``, ``format``, ``mismatches`` (``{parameter: (asked, got)}``), ``request_id``,
    ``created`` (a UTC datetime), ``elapsed`` (seconds), ``usage``, ``cost`` (the whole
    generation's ``Cost``), ``batch`` and ``item`` (when it came from a batch), ``starred``.
    ``path`` is the image file; ``missing`` is True when it was deleted by hand. ``image``
    decodes it (lazily, through the package's cache of decoded images); ``thumbnail`` is a small
    JPEG or PNG read from the database, never decoded from the image.
    """

    def __init__(self, library: Library, row: sqlite3.Row) -> None:
        self._library = library
        self.id: int = row["id"]
        self.sha256: str = row["sha256"]
        self.path: Path = library.image_path(row["sha256"], row["ext"])
        self.prompt: str = row["prompt"]
        self.revised_prompt: str | None = row["revised_prompt"]
        self.model: str | None = row["model"]
        self.params: dict[str, Any] = json.loads(row["params"])
        self.index: int = row["image_index"]
        self.format: ImageFormat | None = row["format"]
        self.width: int | None = row["width"]
        self.height: int | None = row["height"]
        self.mismatches: dict[str, tuple[str, str]] = {
            name: (pair[0], pair[1]) for name, pair in json.loads(row["mismatches"]).items()
        }
        self.request_id: str | None = row["request_id"]
        self.created = dt.datetime.fromtimestamp(row["created"], dt.timezone.utc)
        self.elapsed: float | None = row["elapsed"]
        self.usage: dict[str, Any] | None = json.loads(row["usage"]) if row["usage"] else None
        self.cost = Cost(**json.loads(row["cost"]))
        self.input_hashes: list[str] = json.loads(row["inputs"])
        self.batch: str | None = row["batch"]
        self.item: int | None = row["item"]
        self.starred = bool(row["starred"])
        self._stored: GeneratedImage | None = None

    @property
    def missing(self) -> bool:
        """True when the image file is gone (deleted by hand)."""
        return not self.path.is_file()

    @property
    def inputs(self) -> list[Path]:
        """The files an edit sent (images, then mask), as stored in the library."""
        return [self._library.input_path(sha) for sha in self.input_hashes]

    @property
    def thumbnail(self) -> bytes:
        """A small JPEG (PNG with transparency; SVG as itself) of at most
        ``LIBRARY_THUMBNAIL_SIDE`` pixels a side."""
        return self._library.thumbnail(self.sha256)

    @property
    def image(self) -> Image:
        """The image as a ``PIL.Image.Image``. Raises ``LibraryError`` when its file is missing."""
        if self.missing:
            raise LibraryError(
                f"the image of library entry {self.id} ({self.path}) was deleted; its"
                " thumbnail and provenance remain (delete the entry to forget it)",
                path=self.path,
            )
        if self._stored is None:
            from ..batch._results import StoredImage

            self._stored = StoredImage.of(self, self.path)
        return self._stored.image

    def as_record(self) -> dict[str, Any]:
        """The entry as JSON-able provenance (one row of ``to_pandas``, one line of an export)."""
        return {
            "id": self.id,
            "prompt": self.prompt,
            "revised_prompt": self.revised_prompt,
            "model": self.model,
            "params": self.params,
            "index": self.index,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "mismatches": {k: list(v) for k, v in self.mismatches.items()},
            "request_id": self.request_id,
            "created": self.created.isoformat(),
            "elapsed": self.elapsed,
            "usage": self.usage,
            "cost_usd": self.cost.usd,
            "cost_basis": self.cost.basis,
            "inputs": self.input_hashes,
            "batch": self.batch,
            "item": self.item,
            "starred": self.starred,
            "sha256": self.sha256,
            "path": str(self.path),
        }

    def __repr__(self) -> str:
        star = " starred" if self.starred else ""
        gone = " missing" if self.missing else ""
        return f"<LibraryEntry {self.id}{star}{gone} {self.model} {self.prompt[:40]!r}>"


Entries = LibraryEntry | int | Iterable[LibraryEntry | int]


def _ids(entries: Entries) -> list[int]:
    items = [entries] if isinstance(entries, (LibraryEntry, int)) else list(entries)
    return [item.id if isinstance(item, LibraryEntry) else int(item) for item in items]


class Library:
    """Every image recorded with its provenance, in a folder any kernel can open.

    ``Library(path)`` uses ``path``; without it, the ``COMET_WIDGETS_LIBRARY`` environment
    variable, else the user's data directory (``platformdirs``). Nothing is opened until the
    first use. Every failure to read or write it raises ``LibraryError`` (a ``CometError``).
    One thread at a time uses a ``Library`` (its calls take a lock).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_library_path()
        self._store = Store(self.path)

    def __repr__(self) -> str:
        return f"<Library {self.path}>"

    def close(self) -> None:
        """Close the database connection (it reopens on the next use)."""
        self._store.close()

    @property
    def full_text(self) -> bool:
        """True when ``search`` uses SQLite's FTS5 index; False when this SQLite lacks FTS5 and
        search scans prompts with LIKE (slower on a large library; a word then also matches
        inside longer words)."""
        with self._store.read():
            return self._store.fts

    # -- files ------------------------------------------------------------------------------
    def image_path(self, sha256: str, ext: str) -> Path:
        """Where the image with this content hash is stored."""
        return self.path / "images" / sha256[:2] / f"{sha256}{ext}"

    def input_path(self, sha256: str) -> Path:
        """Where an edit's input file with this content hash is stored."""
        return self.path / "inputs" / sha256[:2] / sha256

    def _file_error(self, exc: OSError) -> LibraryError:
        return LibraryError(
            f"cannot write to the library at {self.path}: {exc.strerror or exc} (the folder"
            " must be writable and the disk not full); the generation itself is intact",
            path=self.path,
        )

    # -- recording --------------------------------------------------------------------------
    def add(
        self,
        generation: Generation,
        *,
        batch: str | None = None,
        item: int | None = None,
        inputs: Iterable[bytes] = (),
    ) -> list[LibraryEntry]:
        """Record every image of ``generation`` that arrived; returns their entries.

        ``inputs``: the bytes of the files an edit sent (its images, then its mask), stored so
        the edit can be repeated; their hashes are in ``generation.params``. ``batch`` and
        ``item`` say which batch and item it came from. Files are written first, then all rows
        in one transaction: a reader sees all of the run or none of it. Raises
        ``LibraryError`` when the library cannot be written; ``generation`` is untouched.
        """
        if not isinstance(generation, Generation):
            raise InvalidParameterError("generation", generation, "a comet_widgets.Generation")
        blobs = [inputs] if isinstance(inputs, (bytes, bytearray)) else list(inputs)
        for blob in blobs:
            if not isinstance(blob, (bytes, bytearray)):
                raise InvalidParameterError("inputs", blob, "the bytes of each file the edit sent")
        input_hashes = [hashlib.sha256(blob).hexdigest() for blob in blobs]
        try:
            for sha, blob in zip(input_hashes, blobs, strict=True):
                if not self.input_path(sha).is_file():
                    write_file(self.input_path(sha), blob)
            own = {
                "created": float(generation.created) if generation.created > 0 else time.time(),
                "elapsed": generation.elapsed,
                "cost": _dumps(generation.cost.as_dict()),
                "inputs": _dumps(input_hashes),
                "batch": batch,
                "item": item,
            }
            arrived = [image for image in generation.images if image.ok]
            # Hashing, thumbnails and writes release the GIL: a run's images are stored at once.
            with ThreadPoolExecutor(max_workers=min(4, len(arrived) or 1)) as pool:
                rows = list(pool.map(lambda image: self._store_image(image, own), arrived))
        except OSError as exc:
            raise self._file_error(exc) from exc
        return self._insert(rows)

    def _store_image(
        self, image: GeneratedImage, own: dict[str, Any]
    ) -> tuple[dict[str, Any], bytes]:
        """Write one image's file (once per content) and return its row and thumbnail."""
        data = image._require_data()
        sha = hashlib.sha256(data).hexdigest()
        ext = EXTENSIONS[image.format] if image.format else ".bin"
        record = image.metadata | {_RECORD_KEY: own | {"sha256": sha, "ext": ext}}
        target = self.image_path(sha, ext)
        written = target.is_file()  # stored once: the same bytes recorded again share the file
        if not written and image.format == "png":
            # A PNG cut short (ValueError): its bytes as they are, the record beside.
            with contextlib.suppress(ValueError):
                write_file(target, add_png_text(data, record))
                written = True
        if not written:
            write_file(sidecar_path(target), _dumps(record).encode("utf-8"))
            write_file(target, data)
        return _row(record), _thumbnail(image)

    def _insert(self, rows: Sequence[tuple[dict[str, Any], bytes]]) -> list[LibraryEntry]:
        ids: list[int] = []
        with self._store.write() as db:
            for row, thumb in rows:
                db.execute(
                    "INSERT OR IGNORE INTO thumbnails (sha256, data) VALUES (?, ?)",
                    (row["sha256"], thumb),
                )
                names = ", ".join(row)
                values = ", ".join(f":{name}" for name in row)
                insert = f"INSERT INTO entries ({names}) VALUES ({values})"
                ids.append(int(db.execute(insert, row).lastrowid or 0))
        return self._entries(ids)

    def import_batch(self, folder: str | os.PathLike[str]) -> list[LibraryEntry]:
        """Record the images of a ``generate_many`` output folder (read from its manifest and
        files); items already recorded (same request id and image) are skipped. Returns the
        new entries."""
        from ..batch._manifest import manifest_files, read_manifest
        from ..batch._results import generation_from_record

        root = Path(folder)
        manifests = manifest_files(root)
        if not manifests:
            raise LibraryError(f"{root} holds no batch manifest (manifest.jsonl)", path=root)
        with self._store.read() as db:  # request ids recorded (none is NULL or "")
            rows = db.execute("SELECT DISTINCT request_id FROM entries WHERE request_id != ''")
            known = {row[0] for row in rows}
        added: list[LibraryEntry] = []
        for manifest in manifests:
            for record in read_manifest(manifest):
                generation = generation_from_record(record, root)
                if generation is None or generation.request_id in known:
                    continue
                if generation.request_id:
                    known.add(generation.request_id)
                generation.elapsed = float(record.get("elapsed") or 0.0)
                added += self.add(generation, batch=root.name, item=record.get("index"))
        return added

    def rebuild(self) -> int:
        """Recreate the database from the image files (each carries its provenance); returns
        how many entries it holds. The old database, damaged or not, is kept aside as
        ``library.db.old-<time>``. Stars and collections live only in the database: a rebuild
        starts without them. Images stored once for several entries come back as one entry."""
        try:
            self._store.move_aside()
        except OSError as exc:
            raise self._file_error(exc) from exc
        rows = []
        for path in sorted((self.path / "images").glob("*/*")):
            if path.name.endswith(".json") or path.name.startswith("."):
                continue
            try:
                record = read_metadata(path)
            except (OSError, ValueError):
                continue  # not one of ours: left alone
            if not isinstance(record.get(_RECORD_KEY), dict):
                continue
            row = _row(record)
            stored = GeneratedImage(index=0, data=path.read_bytes(), format=row["format"])
            rows.append((row, _thumbnail(stored)))
        rows.sort(key=lambda pair: (pair[0]["created"] or 0, pair[0]["image_index"]))
        self._insert(rows)
        return len(rows)

    # -- reading ----------------------------------------------------------------------------
    def _entries(self, ids: Sequence[int]) -> list[LibraryEntry]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._store.read() as db:
            rows = db.execute(f"SELECT * FROM entries WHERE id IN ({marks})", ids)
            found = {row["id"]: LibraryEntry(self, row) for row in rows}
        return [found[i] for i in ids if i in found]

    def get(self, id: int) -> LibraryEntry:
        """The entry with this id; ``LibraryError`` when there is none."""
        found = self._entries([id])
        if not found:
            raise LibraryError(f"the library at {self.path} has no entry {id}", path=self.path)
        return found[0]

    def search(
        self,
        text: str | None = None,
        *,
        model: str | None = None,
        since: dt.datetime | dt.date | float | str | None = None,
        until: dt.datetime | dt.date | float | str | None = None,
        starred: bool | None = None,
        collection: str | None = None,
        limit: int = LIBRARY_PAGE_SIZE,
        offset: int = 0,
    ) -> list[LibraryEntry]:
        """Entries newest first (the last recorded first), ``limit`` from ``offset`` (a page).

        ``text``: words that must all appear in the prompt or the revised prompt (any case;
        the last may be the start of a word). ``model``: that model only; ``since``/``until``:
        created in that span (datetimes, dates, Unix seconds or ISO text); ``starred``: only
        starred (True) or unstarred (False); ``collection``: only its entries.
        """
        if text is not None and not isinstance(text, str):
            raise InvalidParameterError("text", text, "words to find (a str) or None")
        for name, value in (("limit", limit), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidParameterError(name, value, "a whole number, 0 or more")
        where: list[str] = []
        args: list[object] = []
        words = (text or "").split()
        source, order = "entries", "entries.id"
        if words and self.full_text:
            # Walked in the index's own rowid order, newest first: a page stops early.
            source, order = (
                "entries_fts JOIN entries ON entries.id = entries_fts.rowid",
                "entries_fts.rowid",
            )
            quoted = ['"' + word.replace('"', '""') + '"' for word in words]
            quoted[-1] += "*"
            where.append("entries_fts MATCH ?")
            args.append(" ".join(quoted))
        elif words:
            for word in words:
                pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%")
                pattern = pattern.replace("_", "\\_") + "%"
                like = "LIKE ? ESCAPE '\\'"
                where.append(f"(entries.prompt {like} OR entries.revised_prompt {like})")
                args += [pattern, pattern]
        filters = {
            "entries.model = ?": model,
            "entries.created >= ?": None if since is None else _timestamp(since, "since"),
            "entries.created <= ?": None if until is None else _timestamp(until, "until"),
            "entries.starred = ?": None if starred is None else int(bool(starred)),
            "entries.id IN (SELECT entry FROM collections WHERE name = ?)": collection,
        }
        for condition, given in filters.items():
            if given is not None:
                where.append(condition)
                args.append(given)
        clause = " WHERE " + " AND ".join(where) if where else ""
        query = f"SELECT entries.* FROM {source}{clause} ORDER BY {order} DESC LIMIT ? OFFSET ?"
        with self._store.read() as db:
            rows = db.execute(query, [*args, limit, offset]).fetchall()
            return [LibraryEntry(self, row) for row in rows]

    def __len__(self) -> int:
        with self._store.read() as db:
            count: int = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        return count

    def thumbnail(self, sha256: str) -> bytes:
        """The stored thumbnail of the image with this hash (``b""`` when none)."""
        with self._store.read() as db:
            row = db.execute("SELECT data FROM thumbnails WHERE sha256 = ?", (sha256,)).fetchone()
        return bytes(row[0]) if row else b""

    # -- curating ---------------------------------------------------------------------------
    def star(self, entry: Entries, on: bool = True) -> None:
        """Star (or, ``on=False``, unstar) ``entry``: an entry, an id, or several of either."""
        items = [entry] if isinstance(entry, (LibraryEntry, int)) else list(entry)
        with self._store.write() as db:
            db.executemany(
                "UPDATE entries SET starred = ? WHERE id = ?", [(int(on), i) for i in _ids(items)]
            )
        for item in items:
            if isinstance(item, LibraryEntry):
                item.starred = on

    @property
    def collections(self) -> dict[str, int]:
        """Each collection's name and how many entries it holds."""
        return self._counts("name", "collections")

    @property
    def models(self) -> dict[str, int]:
        """Each model's name and how many entries it made (for a filter's choices)."""
        return self._counts("model", "entries")

    def _counts(self, column: str, table: str) -> dict[str, int]:
        with self._store.read() as db:
            rows = db.execute(
                f"SELECT {column}, count(*) FROM {table} WHERE {column} IS NOT NULL"
                f" GROUP BY {column} ORDER BY {column}"
            )
            return dict(rows.fetchall())

    def add_to(self, collection: str, entries: Entries) -> None:
        """Put the entries in ``collection`` (made on first use; an entry may be in several)."""
        if not isinstance(collection, str) or not collection.strip():
            raise InvalidParameterError("collection", collection, "a name (non-empty text)")
        with self._store.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO collections (name, entry) VALUES (?, ?)",
                [(collection, i) for i in _ids(entries)],
            )

    def delete(self, entries: Entries) -> int:
        """Forget the entries; their image, thumbnail and input files are removed only when no
        other entry uses them. Returns how many entries were deleted."""
        ids = _ids(entries)
        marks = ",".join("?" * len(ids))
        if not ids:
            return 0
        with self._store.write() as db:
            rows = db.execute(
                f"SELECT sha256, ext, inputs FROM entries WHERE id IN ({marks})", ids
            ).fetchall()
            db.execute(f"DELETE FROM entries WHERE id IN ({marks})", ids)
            images = {(sha, ext) for sha, ext, _ in rows}
            inputs = {sha for *_, hashes in rows for sha in json.loads(hashes)}
            unused = [
                (sha, ext)
                for sha, ext in images
                if not db.execute("SELECT 1 FROM entries WHERE sha256 = ?", (sha,)).fetchone()
            ]
            db.executemany("DELETE FROM thumbnails WHERE sha256 = ?", [(s,) for s, _ in unused])
            still = {
                sha
                for (hashes,) in db.execute("SELECT DISTINCT inputs FROM entries")
                for sha in json.loads(hashes)
            }
        # After the commit: a crash in between leaves files without entries, never the reverse.
        for sha, ext in unused:
            path = self.image_path(sha, ext)
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)
        for sha in inputs - still:
            self.input_path(sha).unlink(missing_ok=True)
        return len(rows)

    # -- out --------------------------------------------------------------------------------
    def to_pandas(self, entries: Iterable[LibraryEntry] | None = None) -> Any:
        """A ``pandas.DataFrame``, one row per image (all of the library, or ``entries``), with
        the provenance columns of ``LibraryEntry.as_record``. Needs pandas
        (``MissingDependencyError`` otherwise)."""
        if entries is None:
            entries = self.search(limit=len(self))[::-1]  # all of it, oldest first
        records = [e.as_record() for e in entries]
        frame = data_frame(records, None, "Library.to_pandas()", "use each entry's as_record()")
        if len(frame):
            frame["created"] = frame["created"].astype("datetime64[ns, UTC]")
        return frame

    def export(self, entries: Iterable[LibraryEntry], path: str | os.PathLike[str]) -> Path:
        """Write the entries' images and a ``metadata.jsonl`` (one JSON line per image, its
        ``file_name`` first) to ``path``: a ZIP file when it ends with ``.zip``, else a folder.
        That is the layout Hugging Face ``datasets`` loads with
        ``load_dataset("imagefolder", data_dir=path)``. Nested fields (params, usage,
        mismatches, inputs) are JSON text, so every line has the same columns. Returns
        ``path``. Entries whose file is missing are left out."""
        records = [entry.as_record() for entry in entries if not entry.missing]
        return export_records(records, Path(path))


#: The library's fields an image file's provenance record carries (``rebuild`` reads them).
_FILE_FIELDS = ("sha256", "ext", "created", "elapsed", "cost", "inputs", "batch", "item")


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """An image's database row, from its file's provenance record: ``image.metadata`` and,
    under ``_RECORD_KEY``, the library's fields. ``add`` and ``rebuild`` both make rows so."""
    own = record[_RECORD_KEY]
    prompt = record.get("prompt") or ""
    return {
        "prompt": prompt,
        "revised_prompt": record.get("revised_prompt"),
        "model": record.get("model"),
        "params": _dumps({"prompt": prompt} | (record.get("parameters") or {})),
        "image_index": record.get("index") or 0,
        "format": record.get("format"),
        "width": record.get("width"),
        "height": record.get("height"),
        "mismatches": _dumps(record.get("mismatches") or {}),
        "request_id": record.get("request_id"),
        "usage": _dumps(record["usage"]) if record.get("usage") else None,
        "cost_usd": json.loads(own["cost"])["usd"],
        "starred": 0,
    } | {k: own.get(k) for k in _FILE_FIELDS}


def _thumbnail(image: GeneratedImage) -> bytes:
    """A small JPEG or PNG of ``image`` (an SVG is its own); ``b""`` when it cannot be decoded
    (the image is kept all the same: browsing shows no thumbnail for it)."""
    from ..images._previews import encode_preview

    if image.format == "svg":
        return image.data or b""
    try:
        return encode_preview(image.image, max_side=LIBRARY_THUMBNAIL_SIDE)[0]
    except Exception:  # Pillow raises many kinds for a damaged file
        return b""
