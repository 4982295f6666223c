"""``Comparison``: what ``compare`` returns, as a picture (the labelled contact sheet) and as data
(one record per cell: the axes' values, status, cost, time, tokens, file)."""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._cost import Cost
from .._errors import InvalidParameterError
from .._version import __version__
from ..batch._results import data_frame
from ._grid import Cell, Grid
from ._sheet import Geometry, draw_sheets, stack

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["Comparison"]

#: The columns of ``to_records()``/``to_pandas()`` after the axes' own (one per axis).
RECORD_COLUMNS = (
    "status",
    "error",
    "cost",
    "cost_basis",
    "elapsed",
    "tokens",
    "path",
    "request_id",
    "resumed",
)


@dataclass(eq=False, repr=False)
class Comparison:
    """The cells of a comparison (``compare``), their labelled contact sheet and their data.

    ``cells`` lists every cell of the product of the axes (row-major in the order the axes were
    given); ``cell(**where)`` finds one; ``image`` is the sheet (a PIL image: the title band,
    the column and row headers and one image or one status per cell; with a third axis one
    sheet per value, stacked: see ``sheets``); ``to_pandas()`` is one row per cell; ``save``
    writes the sheet as a PNG with the same provenance metadata as generated images.
    """

    _grid: Grid
    _: KW_ONLY
    output_dir: Path | None = None
    budget_usd: float | None = None
    elapsed: float = 0.0
    _sheets: list[Image] | None = field(default=None, init=False)

    # -- structure ---------------------------------------------------------------------------
    @property
    def axes(self) -> dict[str, list[Any]]:
        """Each axis's name and values, in the order given (``prompt`` first when it is one)."""
        return {axis.name: list(axis.values) for axis in self._grid.axes}

    @property
    def layout(self) -> dict[str, Any]:
        """Which axis makes the rows, which the columns, and which make one sheet per value."""
        geometry = Geometry.of(self._grid)
        return {
            "rows": geometry.rows.name if geometry.rows else None,
            "columns": geometry.columns.name if geometry.columns else None,
            "sheets": [axis.name for axis in geometry.pages],
        }

    @property
    def headers(self) -> dict[str, list[str]]:
        """The text of the row and column headers (as drawn, before wrapping)."""
        geometry = Geometry.of(self._grid)
        return {
            "rows": list(geometry.rows.labels) if geometry.rows else [],
            "columns": list(geometry.columns.labels) if geometry.columns else [],
        }

    @property
    def cells(self) -> list[Cell]:
        return list(self._grid.cells)

    def cell(self, **where: Any) -> Cell:
        """The one cell with these axis values, e.g. ``cell(prompt=0, model="gpt-image-2",
        quality="high")`` (``prompt`` takes the text or its index).

        Raises ``InvalidParameterError`` for a name that is not an axis, a value the axis lacks,
        or axes left out when several cells would match."""
        axes = {axis.name: axis for axis in self._grid.axes}
        for name in where:
            if name not in axes:
                raise InvalidParameterError(
                    name,
                    name,
                    "one of the axes: " + (", ".join(axes) or "(none)"),
                    reason=f"{name!r} is not an axis of this comparison",
                )
        spots = {name: axes[name].position(value) for name, value in where.items()}
        found = [
            cell
            for cell in self._grid.cells
            if all(axes[name].position(cell.where[name]) == at for name, at in spots.items())
        ]
        if len(found) != 1:
            missing = [name for name in axes if name not in where]
            raise InvalidParameterError(
                "where",
                where,
                f"also name {', '.join(missing)}" if missing else "name each axis once",
                reason=f"{len(found)} cells match {where!r}",
            )
        return found[0]

    @property
    def cost(self) -> Cost:
        """What the cells sent cost in all (resumed ones included: what this folder's
        comparison has cost), each request once."""
        costs = [cell.cost for cell in self._grid.cells if cell.cost is not None]
        return sum(costs, Cost(usd=0.0, basis="usage"))

    @property
    def ok(self) -> bool:
        """True when every cell that could be sent succeeded."""
        return all(cell.status == "ok" for cell in self._grid.sendable)

    def counts(self) -> dict[str, int]:
        """How many cells are in each status."""
        return dict(Counter(cell.status for cell in self._grid.cells))

    # -- data --------------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """One dict per cell, in ``cells`` order: ``cell`` (its index), one entry per axis,
        then ``RECORD_COLUMNS`` (``cost`` in USD, ``elapsed`` in seconds, ``tokens`` as the
        answer's usage reported them, ``path`` of its first image file)."""
        rows = []
        for cell in self._grid.cells:
            cost = cell.cost
            generation = cell.generation
            rows.append(
                {
                    "cell": cell.index,
                    **cell.where,
                    "status": cell.status,
                    "error": cell.error,
                    "cost": round(cost.usd, 9)
                    if cost is not None and cost.usd is not None
                    else None,
                    "cost_basis": cost.basis if cost is not None else None,
                    "elapsed": round(cell.elapsed, 3) if cell.elapsed is not None else None,
                    "tokens": cell.tokens,
                    "path": str(cell.path) if cell.path is not None else None,
                    "request_id": generation.request_id if generation else None,
                    "resumed": cell.resumed,
                }
            )
        return rows

    def to_pandas(self) -> Any:
        """The records as a ``pandas.DataFrame`` (one row per cell); needs pandas.

        Raises ``MissingDependencyError`` when pandas is missing (``to_records()`` needs
        nothing)."""
        return data_frame(self.to_records(), self._columns(), "Comparison.to_pandas()")

    def to_csv(self) -> str:
        """The records as CSV text (a header, then one line per cell)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self._columns(), lineterminator="\n")
        writer.writeheader()
        for row in self.to_records():
            writer.writerow({name: _csv_value(value) for name, value in row.items()})
        return buffer.getvalue()

    def _columns(self) -> list[str]:
        return ["cell", *(axis.name for axis in self._grid.axes), *RECORD_COLUMNS]

    # -- the picture -------------------------------------------------------------------------
    def render(self) -> list[Image]:
        """Draw the sheets now (``compare`` does it in a thread, so showing them is instant)."""
        self._sheets = draw_sheets(self._grid)
        return self._sheets

    @property
    def sheets(self) -> list[Image]:
        """One sheet per combination of the sheet axes (one sheet for two axes or fewer)."""
        return list(self._sheets if self._sheets is not None else self.render())

    @property
    def image(self) -> Image:
        """The contact sheet (the sheets one under the other), a PIL image."""
        return stack(self.sheets)

    @property
    def metadata(self) -> dict[str, Any]:
        """The provenance written into a saved sheet (``read_metadata`` reads it back)."""
        prompts = self.axes.get("prompt") or [self._grid.fixed.get("prompt")]
        sheet = self.image
        return {
            "prompt": " | ".join(str(p) for p in prompts),
            "revised_prompt": None,
            "model": ", ".join(
                dict.fromkeys(str(c.params.get("model", "")) for c in self._grid.cells)
            ),
            "format": "png",
            "width": sheet.width,
            "height": sheet.height,
            "parameters": {k: v for k, v in self._grid.fixed.items() if k != "prompt"},
            "comparison": {
                "axes": self.axes,
                "layout": self.layout,
                "cells": [
                    {
                        key: row[key]
                        for key in ("cell", *self.axes, "status", "error", "cost", "path")
                    }
                    | {"request_id": row["request_id"]}
                    for row in self.to_records()
                ],
                "cost_usd": self.cost.usd,
            },
            "software": f"comet-widgets {__version__}",
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the sheet as a PNG with its provenance (PNG text chunks, as generated images
        get them); returns the path. A path without ``.png`` gets it added."""
        from ..images._metadata import add_png_text, write_file

        target = Path(path)
        if target.suffix.lower() != ".png":
            target = target.with_name(target.name + ".png")
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", optimize=True)
        write_file(target, add_png_text(buffer.getvalue(), self.metadata))
        return target

    # -- display -----------------------------------------------------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return {"text/plain": repr(self), "image/png": buffer.getvalue()}

    def summary(self) -> str:
        """One line: the grid, what became of its cells, the cost."""
        shape = " x ".join(f"{len(a.values)} {a.name}" for a in self._grid.axes) or "1 cell"
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items())
        budget = f" (budget ${self.budget_usd:g})" if self.budget_usd is not None else ""
        return f"{shape}: {counts}; cost {self.cost}{budget}"

    def __repr__(self) -> str:
        return f"<Comparison {self.summary()}>"


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value
