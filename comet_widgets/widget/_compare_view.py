"""The panel's Compare view: pick up to three axes from the panel's own choices (models,
qualities, sizes, a second prompt), see the cells and their estimated cost, run them, and watch
the labelled grid fill cell by cell.

The cells run as one ``comet_widgets.compare`` grid (``run_grid``: one ``generate_many`` batch,
each cell sent once, cells a model refuses never sent) through the panel's ``RunController``:
the status line, Cancel, the session's cost, the history strip and the library treat it as one
run. Every write to its widgets holds the panel's lock (clicks take it; answers take it on the
private loop, after their thumbnails are made in a thread, without it).

Stable CSS classes (for styling and browser tests):

=========================== ==============================================================
``cw-compare``              the view (in the results column, behind the "Compare" switch)
``cw-compare-pick``         the pickers: ``cw-compare-models``, ``cw-compare-qualities``,
                            ``cw-compare-sizes`` (checkboxes, each ``cw-compare-choice``)
                            and ``cw-compare-prompt2`` (a second prompt)
``cw-compare-summary``      the cells and their estimate, or why nothing can run
``cw-compare-run``          the Compare button
``cw-compare-note``         what "Use these settings" just did
``cw-compare-grid``         the grid: ``cw-compare-sheet`` per value of a third axis (with
                            ``cw-compare-sheet-title``), ``cw-compare-col-label``,
                            ``cw-compare-row-label`` and a ``cw-compare-cell`` per cell
``cw-compare-cell``         a cell; its state: ``cw-compare-pending`` (a placeholder),
                            ``cw-compare-ok``, ``cw-compare-failed``, ``cw-compare-na`` (not
                            applicable: never sent), ``cw-compare-over-budget``; inside:
                            ``cw-compare-thumb``, ``cw-compare-caption``, ``cw-compare-view``
                            (open it in the lightbox) and ``cw-compare-use`` ("Use these
                            settings": the cell's parameters into the panel)
=========================== ==============================================================
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from .._catalog import CURRENT
from .._catalog import MODELS as CATALOGUE
from .._constants import COMPARE_MAX_CELLS, DEFAULT_MODEL
from .._errors import CometError, InvalidParameterError
from ..compare._compare import fill_cell, run_grid
from ..compare._grid import Cell, Grid, label_of, plan_grid
from ..compare._sheet import Geometry, ok_summary
from ._dom import classed, dispose, escaped, made, set_state, set_value, show
from ._gallery import Lightbox, Preview, button, clicked, make_previews, set_image
from ._history import Run
from ._pending import Job
from ._run import RunController, locked
from ._status import plural
from ._style import _BG, _BG2, _BORDER, _ERROR, _FG2, _WARN, _tint

__all__ = ["COMPARE", "COMPARE_CSS", "CompareView"]

#: The view's title (its switch button).
COMPARE = "Compare"
#: The most axes the view runs (a fourth would make the grid unreadable in a panel).
MAX_AXES = 3
#: The choices offered as axes, from the catalogue: the current models (not dated snapshots),
#: every quality one of them takes, the default model's preset sizes ("auto" is no axis value).
MODELS = tuple(name for name in CURRENT if not re.search(r"\d{4}-\d{2}-\d{2}$", name))
QUALITIES = tuple(dict.fromkeys(q for m in MODELS for q in CATALOGUE[m].qualities if q != "auto"))
SIZES = tuple(size for size in CATALOGUE[DEFAULT_MODEL].sizes if size != "auto")
#: The rows of choices: the parameter, the row's title, its choices.
_PICKERS = (
    ("model", "Models", MODELS),
    ("quality", "Qualities", QUALITIES),
    ("size", "Sizes", SIZES),
)
_STATES = {
    "pending": "cw-compare-pending",
    "ok": "cw-compare-ok",
    "failed": "cw-compare-failed",
    "not applicable": "cw-compare-na",
    "over budget": "cw-compare-over-budget",
}
COMPARE_CSS = f"""
.cw-compare-choices {{ flex-wrap: wrap; gap: 0 12px; }}
.cw-compare-choice {{ width: auto; }}
.cw-compare-sheet-grid {{ display: grid; gap: 6px; align-items: start; }}
.cw-compare-col-label, .cw-compare-row-label {{ font-weight: 600; overflow-wrap: anywhere; }}
.cw-compare-cell {{ border: 1px solid {_BORDER}; border-radius: 6px; padding: 4px;
  min-height: 120px; }}
.cw-compare-pending .cw-compare-frame {{ background: repeating-linear-gradient(45deg,
  {_BG2}, {_BG2} 8px, {_BG} 8px, {_BG} 16px); min-height: 100px; border-radius: 4px; }}
.cw-compare-na {{ background: {_BG2}; }}
.cw-compare-failed {{ background: {_tint(_ERROR, 14)}; }}
.cw-compare-over-budget {{ background: {_tint(_WARN, 16)}; }}
.cw-compare-thumb img, .cw-compare-thumb {{ width: 100%; height: auto; }}
.cw-compare-caption {{ font-size: 12px; color: {_FG2}; }}
"""


@dataclasses.dataclass(eq=False)
class _Tile:
    """One cell's widgets."""

    box: widgets.VBox
    thumb: widgets.Image
    caption: widgets.HTML
    view: widgets.Button
    use: widgets.Button


class CompareView:
    """The Compare view of a panel; ``box`` goes into the panel's view slot.

    ``values()`` reads the panel's parameters; ``check_key()`` raises (and shows) a missing
    key; ``on_use(params)`` puts a cell's parameters into the panel (holding its lock)."""

    def __init__(
        self,
        runner: RunController,
        lock: Any,
        lightbox: Lightbox,
        *,
        values: Callable[[], dict[str, Any]],
        check_key: Callable[[], None],
        on_use: Callable[[Mapping[str, Any]], None],
    ) -> None:
        self.runner = runner
        self._lock = lock
        self.lightbox = lightbox
        self._values = values
        self._check_key = check_key
        self._on_use = on_use
        self._tiles: dict[int, _Tile] = {}
        self._previews: dict[int, Preview] = {}
        self.box = classed(made(widgets.VBox), "cw-compare")
        self._built = False

    def _build(self) -> None:
        """Make the view's widgets the first time it is shown: a panel nobody compares with
        carries none of them (each is a comm, and an entry in a notebook's saved state)."""
        if self._built:
            return
        self._built = True
        values = self._values()  # the panel's own model, quality and size start ticked
        self._pickers = {
            name: {choice: self._choice(choice, choice == str(values.get(name))) for choice in row}
            for name, _, row in _PICKERS
        }
        self.prompt2 = classed(
            made(
                widgets.Text,
                description="Second prompt",
                placeholder="Optional: a second prompt to compare with the panel's",
                style={"description_width": "initial"},
                layout=widgets.Layout(width="100%"),
            ),
            "cw-compare-prompt2",
        )
        self.prompt2.observe(self._changed, names="value")
        pick = [self._group(title, self._pickers[name]) for name, title, _ in _PICKERS]
        self.summary = classed(made(widgets.HTML), "cw-compare-summary")
        tip = "Generate every cell of the grid (cells a model refuses are not sent)"
        self.run_button = button(
            "Compare", "cw-compare-run", icon="th", button_style="primary", tooltip=tip
        )
        clicked(self.run_button, self._lock, self.start)
        self.note = classed(made(widgets.HTML), "cw-compare-note")
        self.grid_box = classed(made(widgets.VBox), "cw-compare-grid")
        self.box.children = tuple(
            [
                classed(made(widgets.VBox, [*pick, self.prompt2]), "cw-compare-pick"),
                classed(made(widgets.HBox, [self.run_button, self.summary]), "cw-compare-actions"),
                self.note,
                self.grid_box,
            ]
        )

    # -- the pickers -------------------------------------------------------------------------
    def _choice(self, name: str, ticked: bool) -> widgets.Checkbox:
        box = classed(
            made(
                widgets.Checkbox,
                value=ticked,
                description=name,
                indent=False,
                layout=widgets.Layout(width="auto"),
            ),
            "cw-compare-choice",
        )
        box.observe(self._changed, names="value")
        return box

    @staticmethod
    def _group(title: str, boxes: dict[str, widgets.Checkbox]) -> widgets.Widget:
        """A row of choices (``cw-compare-models``, ``-qualities``, ``-sizes``)."""
        label = made(widgets.HTML, f"<b>{escaped(title)}</b>", layout=widgets.Layout(width="90px"))
        row = classed(made(widgets.HBox, list(boxes.values())), "cw-compare-choices")
        return classed(made(widgets.HBox, [label, row]), f"cw-compare-{title.lower()}")

    def _changed(self, _change: Any) -> None:
        with self._lock:
            self.refresh()

    def plan(self) -> Grid:
        """The grid the current choices make (raises ``InvalidParameterError``)."""
        values = self._values()
        axes: dict[str, Any] = {
            name: value
            for name, value in values.items()
            if name not in ("prompt", "model", "quality", "size", "partial_images")
            and value is not None
        }
        for name, boxes in self._pickers.items():
            picked = [choice for choice, box in boxes.items() if box.value]
            if len(picked) > 1:
                axes[name] = picked
            elif picked:
                axes[name] = picked[0]
            elif values.get(name) is not None:
                axes[name] = values[name]
        prompt = str(values.get("prompt") or "")
        second = self.prompt2.value.strip()
        prompts: str | list[str] = [prompt, second] if second else prompt
        varying = sum(isinstance(v, list) for v in axes.values()) + bool(second)
        if varying > MAX_AXES:
            raise InvalidParameterError(
                "axes",
                varying,
                f"compare at most {MAX_AXES} things at once: untick a row of choices",
                reason=f"{varying} axes make a grid too large to read in the panel",
            )
        if varying == 0:
            raise InvalidParameterError(
                "axes",
                0,
                "tick two models, qualities or sizes, or write a second prompt",
                reason="0 axes picked: nothing to compare yet",
            )
        return plan_grid(prompts, axes, max_cells=COMPARE_MAX_CELLS)

    def refresh(self) -> None:
        """The summary line (cells and estimate, or why it cannot run) and the button."""
        self._build()
        try:
            grid = self.plan()
        except InvalidParameterError as exc:
            text, ok = exc.message, False
        else:
            text, ok = grid.describe(), True
        set_value(self.summary, escaped(text))
        self.run_button.disabled = not ok or self.runner.running

    # -- running -----------------------------------------------------------------------------
    def start(self) -> None:
        """Run the grid of the current choices (the Compare button)."""
        if self.runner.running:
            return
        try:
            grid = self.plan()
            self._check_key()
        except CometError as exc:
            set_value(self.summary, escaped(exc.message))
            return
        self._draw(grid)
        job = Job({"compare": len(grid.cells)})
        job.slots = 0
        job.what = f"Comparing {plural(len(grid.sendable), 'cell')}"
        set_value(self.note, "")
        self.run_button.disabled = True
        self.runner.start(job, self._work(job, grid))

    async def _work(self, job: Job, grid: Grid) -> Grid:
        """On the private loop: the cells run, each lands in its tile as it arrives."""
        runner = self.runner
        done = 0
        landed: dict[int, tuple[Any, list[Preview]]] = {}

        async def on_cell(cell: Cell) -> None:
            nonlocal done
            done += 1
            item = cell.item
            generation = cell.generation
            if item is not None and not item.skipped:
                runner.spend(generation or getattr(item.exception, "generation", None))
            previews: list[Preview] = []
            decoded: list[Any] = []
            if generation is not None and not job.cancelled:
                previews, decoded = await asyncio.to_thread(make_previews, generation)
            with self._lock:
                if job.cancelled:
                    return
                if previews and generation is not None:
                    landed[cell.index] = (generation, previews)
                    self._previews[cell.index] = self._described(cell, previews[0])
                    runner.publish(generation, decoded)
                self._fill(cell)
                job.what = f"Comparing: {done} of {plural(len(grid.sendable), 'cell')} done"
                runner.show_progress(job)

        try:
            async with runner.working(job):
                await run_grid(grid, client=runner.client(), on_cell=on_cell, progress=False)
        except BaseException:
            self._stopped(grid)  # cancelled or failed: the cells still waiting say so
            raise
        self._end(job, grid, landed)
        return grid

    @locked
    def _stopped(self, grid: Grid) -> None:
        for cell in grid.cells:
            tile = self._tiles.get(cell.index)
            if cell.status == "pending" and tile is not None:
                set_value(tile.caption, escaped("not sent: the comparison was stopped"))
        self.refresh()  # Compare can run again

    @locked
    def _end(self, job: Job, grid: Grid, landed: dict[int, tuple[Any, list[Preview]]]) -> None:
        runner = self.runner
        if not job.claim():
            return
        for cell in grid.cells:
            if cell.item is not None:
                fill_cell(cell, cell.item)
            self._fill(cell)
        order = sorted(landed)
        run = Run(
            [landed[i][0] for i in order],
            [p for i in order for p in landed[i][1]],
            batch=len(grid.sendable),
        )
        failed = [c for c in grid.cells if c.status == "failed"]
        counts = collections.Counter(cell.status for cell in grid.cells)
        job.summary = "Done: comparison of " + ", ".join(
            f"{n} {status}" for status, n in counts.items()
        )
        error = f"{len(failed)} of {plural(len(grid.sendable), 'cell')} failed" if failed else ""
        with runner.panel.hold_trait_notifications():
            if run.generations:
                runner.add_run(run)
            runner.settle("error" if failed and not run.generations else "done", error, job=job)
        self.refresh()

    # -- the grid ------------------------------------------------------------------------------
    def _draw(self, grid: Grid) -> None:
        """The grid's labels and one placeholder per cell (before anything is sent)."""
        self._tiles, self._previews = {}, {}
        geometry = Geometry.of(grid)
        rows, columns, pages = geometry.rows, geometry.columns, geometry.pages
        count = len(columns.values) if columns else 1
        template = ("minmax(80px, 140px) " if rows else "") + f"repeat({count}, minmax(0, 1fr))"
        sheets: list[widgets.Widget] = []
        for page, cells in geometry.sheets(grid):
            children: list[widgets.Widget] = []
            if rows and columns:
                children.append(_label(f"{rows.name} \u2193 {columns.name} \u2192", "corner"))
            if columns:
                children += [_label(f"{columns.name}: {x}", "col-label") for x in columns.labels]
            for r in range(len(rows.values) if rows else 1):
                if rows:
                    children.append(_label(f"{rows.name}: {rows.labels[r]}", "row-label"))
                children += [self._tile(cells[r, c]) for c in range(count)]
            layout = widgets.Layout(grid_template_columns=template, width="100%")
            body = classed(made(widgets.GridBox, children, layout=layout), "cw-compare-sheet-grid")
            title = ", ".join(
                f"{a.name}: {a.labels[spot]}" for a, spot in zip(pages, page, strict=True)
            )
            parts = [_label(title, "sheet-title")] if title else []
            sheets.append(classed(made(widgets.VBox, [*parts, body]), "cw-compare-sheet"))
        old = self.grid_box.children
        self.grid_box.children = tuple(sheets)
        # The replaced grid's widgets are closed, their own layouts too: no comm outlives it.
        dispose(*old)

    def _tile(self, cell: Cell) -> widgets.Widget:
        thumb = classed(made(widgets.Image, format="jpeg"), "cw-compare-thumb")
        frame = classed(made(widgets.Box, [thumb]), "cw-compare-frame")
        caption = classed(made(widgets.HTML), "cw-compare-caption")
        tip = "Open this cell full size"
        view = button("View", "cw-compare-view", icon="expand", tooltip=tip, layout=_auto())
        tip = "Put this cell's prompt and parameters into the panel"
        use = button(
            "Use these settings", "cw-compare-use", icon="sliders", tooltip=tip, layout=_auto()
        )
        clicked(view, self._lock, self._open, cell)
        clicked(use, self._lock, self._use, cell)
        actions = classed(made(widgets.HBox, [view, use]), "cw-compare-actions-row")
        box = classed(
            made(widgets.VBox, [frame, caption, actions], layout=_auto()),
            "cw-compare-cell",
        )
        tile = _Tile(box, thumb, caption, view, use)
        self._tiles[cell.index] = tile
        self._fill(cell)
        return tile.box

    def _fill(self, cell: Cell) -> None:
        tile = self._tiles.get(cell.index)
        if tile is None:
            return
        set_state(tile.box, _STATES.values(), _STATES[cell.status])
        preview = self._previews.get(cell.index)
        if cell.status == "ok" and preview is not None and preview.data is not None:
            set_image(tile.thumb, preview.data, preview.format or "jpeg")
        show(tile.thumb, cell.status == "ok" and preview is not None)
        show(tile.view, cell.status == "ok" and preview is not None)
        show(tile.use, cell.status != "not applicable")
        set_value(tile.caption, _caption_html(cell))

    @staticmethod
    def _described(cell: Cell, preview: Preview) -> Preview:
        """The cell's preview, its parameters as the lightbox's detail line."""
        axes = {k: v for k, v in cell.where.items() if k != "prompt"}
        shown = axes | {k: v for k, v in cell.params.items() if k not in axes and k != "prompt"}
        detail = " · ".join(f"{k} {label_of(v)}" for k, v in shown.items())
        cost = f" · {cell.cost}" if cell.cost is not None else ""
        return dataclasses.replace(preview, detail=f"{detail}{cost}")

    def _open(self, cell: Cell) -> None:
        """The cell full size in the panel's lightbox (Previous/Next walk the grid's images)."""
        order = sorted(self._previews)
        if cell.index in self._previews:
            self.lightbox.open([self._previews[i] for i in order], order.index(cell.index))

    def _use(self, cell: Cell) -> None:
        """Put the cell's prompt and parameters into the panel's controls."""
        self._on_use(cell.params)
        what = ", ".join(f"{k}={label_of(v)}" for k, v in cell.where.items())
        set_value(
            self.note,
            escaped(
                f"The panel now has this cell's settings ({what}): click Generate to make more."
            ),
        )


def _caption_html(cell: Cell) -> str:
    where = " · ".join(label_of(v) for v in cell.where.values())
    if cell.status == "ok":
        said = ok_summary(cell, seconds=" s")
    elif cell.status == "pending":
        said = "waiting..."
    else:
        said = f"{cell.status}: {cell.error}" if cell.error else cell.status
    return f'<div title="{escaped(where)}">{escaped(said)}</div>'


def _auto() -> widgets.Layout:
    """A layout of its own (each cell's buttons are shown and hidden one by one)."""
    return widgets.Layout(width="auto")


def _label(text: str, kind: str) -> widgets.HTML:
    """A label of the grid (class ``cw-compare-<kind>``)."""
    return classed(made(widgets.HTML, escaped(text)), f"cw-compare-{kind}")
