"""What a batch returns: ``BatchItem`` per input item, ``BatchResults`` for the whole batch.

Also the two directions between items and manifest records: ``record_of`` (what one finished
item appends to ``manifest.jsonl``; ``to_records`` flattens it, so an item is serialised in one
place) and ``generation_from_record`` (a resumed item rebuilt from its record and its files).
Images of a batch with an output folder are ``StoredImage`` objects:
their bytes are read from the file on access, so a batch of thousands of images keeps only
their descriptions in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, overload

from .._cost import Cost
from .._errors import MissingDependencyError
from ..images._results import GeneratedImage, Generation
from ._manifest import MANIFEST_VERSION, relative_path

__all__ = [
    "COLUMNS",
    "BatchItem",
    "BatchResults",
    "StoredImage",
    "cost_from_record",
    "data_frame",
    "generation_from_record",
    "record_of",
]

#: The columns of ``BatchResults.to_records()`` / ``to_dataframe()``, in order; label columns
#: from items' ``meta`` follow.
COLUMNS = (
    "prompt",
    "revised_prompt",
    "model",
    "size",
    "path",
    "format",
    "width",
    "height",
    "created",
    "request_id",
    "usage",
    "mismatches",
    "error",
    "index",
    "image_index",
    "key",
    "skipped",
)
#: The columns taken as they are from an item's manifest record, and from each of its images.
_ITEM_COLUMNS = ("prompt", "model", "size", "created", "request_id", "usage")
_IMAGE_COLUMNS = ("revised_prompt", "path", "format", "width", "height", "mismatches")


_DESCRIBED = ("index", "format", "width", "height", "revised_prompt")


class StoredImage(GeneratedImage):
    """A ``GeneratedImage`` whose bytes live in a file (read on each access of ``data``).

    The file holds the bytes as received plus, for PNG, the metadata text chunks.
    """

    def __init__(self, *, path: Path, **fields: Any) -> None:
        self.path = path
        super().__init__(**fields)

    @classmethod
    def of(cls, source: Any, path: Path, **fields: Any) -> StoredImage:
        """The image ``source`` (a ``GeneratedImage``, a library entry or a manifest row's dict)
        describes, stored at ``path``; ``fields`` add to or override its ``_DESCRIBED``."""
        described = {
            name: source.get(name) if isinstance(source, dict) else getattr(source, name)
            for name in _DESCRIBED
        }
        return cls(path=path, **{**described, **fields})

    @property
    def data(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    @data.setter
    def data(self, value: bytes | None) -> None:
        # The file is the storage; GeneratedImage.__init__ assigns None here.
        if value is not None:
            raise AttributeError("a StoredImage reads its bytes from its file")

    @property
    def ok(self) -> bool:
        return self.error is None and self.path.is_file()

    def __repr__(self) -> str:
        return f"<StoredImage #{self.index} {self.format} {self.width}x{self.height} {self.path}>"


@dataclass(eq=False)
class BatchItem:
    """One input item of a batch and what became of it.

    ``generation`` is None for a failed item (``error`` then holds ``error_payload`` of the
    exception: type, message, status_code, request_id...). ``skipped`` is True for an item
    resumed from the manifest (not requested again). ``duplicate_of`` names the earlier item
    with the same request body, whose result this item shares. ``meta`` holds the item's labels.
    """

    index: int
    prompt: str
    params: dict[str, Any]
    key: str
    generation: Generation | None = None
    paths: list[Path] = field(default_factory=list)
    error: dict[str, Any] | None = None
    skipped: bool = False
    duplicate_of: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    elapsed: float | None = None
    #: The exception, for items that failed in this run (None for resumed failures).
    exception: BaseException | None = field(default=None, repr=False)
    cost: Cost | None = None
    over_budget: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.generation is not None

    @property
    def images(self) -> list[GeneratedImage]:
        return list(self.generation.images) if self.generation else []

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"failed: {(self.error or {}).get('message', '?')}"
        if self.over_budget:
            state = "over budget: not sent"
        resumed = " resumed" if self.skipped else ""
        return f"<BatchItem #{self.index} {self.prompt[:40]!r} {state}{resumed}>"


@dataclass(eq=False, repr=False)
class BatchResults(Sequence[BatchItem]):
    """The items of a batch in input order (a ``Sequence`` of ``BatchItem``)."""

    _items: list[BatchItem]
    _: KW_ONLY
    output_dir: Path | None = None
    manifest: Path | None = None
    elapsed: float = 0.0
    shard: tuple[int, int] | None = None
    budget_usd: float | None = None

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[BatchItem]: ...
    def __getitem__(self, index: int | slice) -> BatchItem | list[BatchItem]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self._items)

    @property
    def ok(self) -> bool:
        """True when every item succeeded (as ``.ok`` on an item, a generation or an image)."""
        return all(item.ok for item in self._items)

    @property
    def succeeded(self) -> list[BatchItem]:
        """Items that succeeded (resumed ones included)."""
        return [item for item in self._items if item.ok]

    @property
    def failed(self) -> list[BatchItem]:
        """Items that failed (not those left unsent by the budget: see ``over_budget``)."""
        return [item for item in self._items if not item.ok and not item.over_budget]

    @property
    def over_budget(self) -> list[BatchItem]:
        """Items not sent because they would have taken the batch past ``budget_usd``."""
        return [item for item in self._items if item.over_budget]

    @property
    def cost(self) -> Cost:
        """What the batch's requests cost in all (resumed items included: what this folder's
        batch has cost over every run), each request once; ``"unpriced"`` when any is."""
        return sum((item.cost for item in self._items if item.cost is not None), _NOTHING)

    @property
    def skipped(self) -> list[BatchItem]:
        """Items resumed from the manifest."""
        return [item for item in self._items if item.skipped]

    @property
    def images(self) -> list[GeneratedImage]:
        """Every image that arrived, flat, in input order."""
        return [image for item in self._items for image in item.images if image.ok]

    @property
    def paths(self) -> list[Path]:
        """Every file written, in input order."""
        return [path for item in self._items for path in item.paths]

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per image (a failed item gives one row with ``error``), in input order:
        each item's manifest record (``record_of``) flattened, with absolute paths."""
        rows: list[dict[str, Any]] = []
        for item in self._items:
            record = record_of(item, None)
            error = (item.error or {}).get("message")
            base: dict[str, Any] = {
                **dict.fromkeys(COLUMNS),
                **{name: record[name] for name in _ITEM_COLUMNS},
                "error": error or ("over budget: not sent" if item.over_budget else None),
                "index": item.index,
                "key": item.key,
                "skipped": item.skipped,
                **item.meta,
            }
            if not record["images"]:
                rows.append(base)
            for image in record["images"]:
                own = {name: image[name] for name in _IMAGE_COLUMNS}
                error = image["error"] or base["error"]
                rows.append(base | own | {"error": error, "image_index": image["index"]})
        return rows

    def to_dataframe(self) -> Any:
        """The records as a ``pandas.DataFrame`` (one row per image); needs pandas.

        Columns: ``COLUMNS``, then the items' label (``meta``) columns. Raises
        ``MissingDependencyError`` when pandas is missing.
        """
        records = self.to_records()
        extra = dict.fromkeys(c for row in records for c in row if c not in COLUMNS)
        return data_frame(records, [*COLUMNS, *extra], "BatchResults.to_dataframe()")

    def summary(self) -> str:
        """A few lines: counts, rate, where the files are, the first failures."""
        ok, failed, skipped = len(self.succeeded), len(self.failed), len(self.skipped)
        resumed = f" ({skipped} resumed)" if skipped else ""
        unsent = len(self.over_budget)
        budget = f", {unsent} over budget (not sent)" if unsent else ""
        shard = f" (shard {self.shard[0]}/{self.shard[1]})" if self.shard else ""
        fresh = len(self) - skipped
        rate = f", {fresh * 60 / self.elapsed:.1f} items/min" if self.elapsed and fresh else ""
        lines = [
            f"{len(self)} item(s){shard}: {ok} ok{resumed}, {failed} failed{budget};"
            f" {len(self.images)} image(s) in {self.elapsed:.1f}s{rate}",
            f"cost: {self.cost}"
            + (f" (budget ${self.budget_usd:g})" if self.budget_usd is not None else ""),
        ]
        if self.output_dir is not None:
            lines.append(f"output: {self.output_dir} (manifest: {self.manifest})")
        for item in self.failed[:5]:
            lines.append(f"failed: item {item.index}: {(item.error or {}).get('message')}")
        if failed > 5:
            lines.append(f"... and {failed - 5} more failed item(s)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        resumed = f" ({len(self.skipped)} resumed)" if any(i.skipped for i in self._items) else ""
        return (
            f"<BatchResults {len(self)} item(s): {len(self.succeeded)} ok{resumed},"
            f" {len(self.failed)} failed>"
        )


def record_of(item: BatchItem, root: Path | None) -> dict[str, Any]:
    """What one finished item is, as JSON: its manifest line (``to_records`` flattens it).

    Paths are relative to ``root`` (the manifest's folder), absolute when ``root`` is None.
    """
    gen = item.generation
    images = []
    for image in gen.images if gen else []:
        path = image.path if isinstance(image, StoredImage) else None
        images.append(
            {
                "index": image.index,
                "path": None if path is None else relative_path(path, root) if root else str(path),
                "format": image.format,
                "width": image.width,
                "height": image.height,
                "revised_prompt": image.revised_prompt,
                # what came back unlike what was asked: {parameter: [asked, got]}
                "mismatches": image.mismatches,
                "error": image.error.message if image.error else None,
            }
        )
    first = images[0] if images else {}
    return {
        "v": MANIFEST_VERSION,
        "key": item.key,
        "index": item.index,
        "prompt": item.prompt,
        "params": item.params,
        "model": item.params.get("model"),
        "size": item.params.get("size"),
        "revised_prompt": first.get("revised_prompt"),
        "revised_prompts": [image["revised_prompt"] for image in images],
        "paths": [image["path"] for image in images if image["path"]],
        "format": first.get("format"),
        "width": first.get("width"),
        "height": first.get("height"),
        "images": images,
        "created": gen.created if gen else None,
        "request_id": gen.request_id if gen else (item.error or {}).get("request_id"),
        "usage": gen.usage if gen else None,
        # the answer's own fields (size, quality, background...): a resumed item's mismatches
        "extra": gen.extra if gen else None,
        "cost": item.cost.as_dict() if item.cost is not None else None,
        "error": item.error,
        "elapsed": round(item.elapsed, 3) if item.elapsed is not None else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "meta": item.meta,
    }


_NOTHING = Cost(usd=0.0, basis="usage")


def data_frame(
    records: list[dict[str, Any]], columns: list[str] | None, what: str, instead: str = ""
) -> Any:
    """``records`` as a ``pandas.DataFrame`` with ``columns`` (None: the records' keys);
    ``MissingDependencyError`` naming ``what`` (the method called) when pandas is missing."""
    try:
        # pandas ships no type stubs; the return type is documented instead.
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        instead = instead or "use to_records(), a list of dicts"
        raise MissingDependencyError(what, "pandas", f"pip install pandas (or {instead})") from exc
    return pd.DataFrame.from_records(records, columns=columns)


def cost_from_record(record: dict[str, Any]) -> Cost | None:
    """The ``cost`` a manifest line recorded, or None when it has none (an older manifest) or
    an unusable one."""
    saved = record.get("cost")
    if not isinstance(saved, dict) or saved.get("basis") not in ("usage", "estimate"):
        return None
    usd = saved.get("usd")
    if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not 0 <= usd < 1e9:
        return None
    breakdown, tokens = saved.get("breakdown"), saved.get("tokens")
    return Cost(
        usd=float(usd),
        basis=saved["basis"],
        breakdown=breakdown if isinstance(breakdown, dict) else {},
        tokens=tokens if isinstance(tokens, dict) else {},
    )


def generation_from_record(record: dict[str, Any], root: Path) -> Generation | None:
    """Rebuild the ``Generation`` of a successful record from its files.

    Returns None when the record failed or any image file it names is missing (the item
    must then be generated again).
    """
    if record.get("error") is not None:
        return None
    params = dict(record.get("params") or {})
    images: list[GeneratedImage] = []
    for entry in record.get("images") or []:
        if not entry.get("path"):
            continue
        path = root / entry["path"]
        if not path.is_file():
            return None
        images.append(StoredImage.of(entry, path, index=int(entry.get("index", len(images)))))
    if not images:
        return None
    return Generation(
        prompt=str(record.get("prompt", "")),
        model=str(params.get("model", record.get("model", ""))),
        created=int(record.get("created") or 0),
        images=images,
        params={"prompt": record.get("prompt"), **params},
        request_id=record.get("request_id"),
        elapsed=float(record.get("elapsed") or 0.0),
        usage=record.get("usage"),
        extra=dict(record.get("extra") or {}),
    )
