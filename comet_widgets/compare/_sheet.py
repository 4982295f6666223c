"""The contact sheet of a comparison, drawn with Pillow: row and column headers, one cell each.

A sheet has a title band (the values of its sheet axes, or the fixed parameters), a header row
(the column axis's values), a header column (the row axis's values) and a square of
``COMPARE_CELL_SIDE`` pixels per cell with a caption under it (cost and time, or what became of
the cell). A cell that is not applicable, failed, over budget or still pending shows that in
words instead of an image. Text uses Pillow's default font (no font file is needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._constants import COMPARE_CELL_SIDE, COMPARE_FONT_SIZE
from ._grid import Axis, Cell, Grid, label_of

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont, ImageFont

__all__ = ["Geometry", "draw_sheets", "ok_summary", "stack"]

GAP = 6
#: The width of the row header column (when there is a row axis).
ROW_HEADER = 170
_LINE = COMPARE_FONT_SIZE + 4
_COLUMN_HEADER = 3 * _LINE + GAP
_TITLE = _LINE + 2 * GAP
_CAPTION = _LINE + 2
_BACKGROUND = (255, 255, 255)
_INK = (33, 33, 33)
_MUTED = (110, 110, 110)
_RULE = (200, 200, 200)
_SHADES = {
    "not applicable": (236, 236, 236),
    "failed": (253, 226, 226),
    "over budget": (255, 243, 205),
    "pending": (245, 245, 250),
}


@dataclass(frozen=True)
class Geometry:
    """Which axis goes where, and the pixel size that follows."""

    rows: Axis | None
    columns: Axis | None
    pages: tuple[Axis, ...]

    @classmethod
    def of(cls, grid: Grid) -> Geometry:
        by_name = {axis.name: axis for axis in grid.axes}
        order = [by_name[name] for name in grid.layout]
        if len(order) < 2:  # a single axis is the columns
            return cls(rows=None, columns=order[0] if order else None, pages=())
        return cls(rows=order[0], columns=order[1], pages=tuple(order[2:]))

    def sheets(self, grid: Grid) -> list[tuple[tuple[int, ...], dict[tuple[int, int], Cell]]]:
        """Each sheet (its index on each sheet axis, in order) and its cells by (row, column)
        (by position: values may be unhashable, a dict)."""
        pages: dict[tuple[int, ...], dict[tuple[int, int], Cell]] = {}
        for cell in grid.cells:
            page = tuple(axis.position(cell.where[axis.name]) for axis in self.pages)
            r = self.rows.position(cell.where[self.rows.name]) if self.rows else 0
            c = self.columns.position(cell.where[self.columns.name]) if self.columns else 0
            pages.setdefault(page, {})[r, c] = cell
        return sorted(pages.items())

    @property
    def size(self) -> tuple[int, int]:
        """One sheet's ``(width, height)`` in pixels."""
        rows = len(self.rows.values) if self.rows else 1
        columns = len(self.columns.values) if self.columns else 1
        width = (ROW_HEADER if self.rows else 0) + columns * (COMPARE_CELL_SIDE + GAP) + GAP
        header = _COLUMN_HEADER if self.columns else 0
        height = _TITLE + header + rows * (COMPARE_CELL_SIDE + _CAPTION + GAP) + GAP
        return width, height


def _wrap(
    draw: ImageDraw, text: str, font: FreeTypeFont | ImageFont, width: int, lines: int
) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` pixels (the last cut with "...")."""
    words = text.split()
    out: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            current = trial
            continue
        if current:
            out.append(current)
        current = word
        while draw.textlength(current, font=font) > width and len(current) > 1:
            # a word longer than the line (a model id in a narrow header): cut it
            cut = len(current) - 1
            while cut > 1 and draw.textlength(current[:cut], font=font) > width:
                cut -= 1
            out.append(current[:cut])
            current = current[cut:]
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        while last and draw.textlength(last + "...", font=font) > width:
            last = last[:-1]
        out[-1] = last.rstrip() + "..."
    return out


def _text(
    draw: ImageDraw,
    xy: tuple[int, int],
    text: str,
    width: int,
    lines: int,
    *,
    fill: tuple[int, int, int] = _INK,
    center: bool = False,
) -> None:
    from PIL import ImageFont

    font = ImageFont.load_default(size=COMPARE_FONT_SIZE)
    x, y = xy
    for number, line in enumerate(_wrap(draw, text, font, width, lines)):
        dx = (width - int(draw.textlength(line, font=font))) // 2 if center else 0
        draw.text((x + dx, y + number * _LINE), line, font=font, fill=fill)


def ok_summary(cell: Cell, *, seconds: str = "s") -> str:
    """What an ok cell took, joined by " · ": its cost, its time (``seconds`` after the number)
    and "resumed" when it came from an earlier run (the sheet's caption; the view's too)."""
    parts = [str(cell.cost) if cell.cost is not None else ""]
    if cell.elapsed is not None:
        parts.append(f"{cell.elapsed:.1f}{seconds}")
    if cell.resumed:
        parts.append("resumed")
    return " · ".join(part for part in parts if part)


def _draw_cell(sheet: Image, draw: ImageDraw, cell: Cell, x: int, y: int) -> None:
    from ..images._previews import thumbnail_of

    side = COMPARE_CELL_SIDE
    picture = cell.image if cell.status == "ok" else None
    if picture is not None:
        thumb = thumbnail_of(picture, side)
        if thumb.width < side and thumb.height < side:  # a small image is shown larger
            scale = side / max(thumb.size)
            thumb = thumb.resize((round(thumb.width * scale), round(thumb.height * scale)))
        thumb = thumb.convert("RGBA")
        left = x + (side - thumb.width) // 2
        top = y + (side - thumb.height) // 2
        sheet.paste(thumb, (left, top), thumb)
    else:
        shade = _SHADES.get(cell.status, _SHADES["failed"])
        draw.rectangle((x, y, x + side - 1, y + side - 1), fill=shade)
        title = "failed" if cell.status == "ok" else cell.status
        _text(draw, (x + 8, y + side // 3), title, side - 16, 1, center=True)
        if cell.error:
            _text(draw, (x + 8, y + side // 3 + _LINE + 4), cell.error, side - 16, 7, fill=_MUTED)
    # a cell that is not ok said above what became of it
    caption = ok_summary(cell) if cell.status == "ok" else ""
    _text(draw, (x, y + side + 2), caption, side, 1, fill=_MUTED, center=True)


def draw_sheets(grid: Grid) -> list[Image]:
    """One sheet per combination of the sheet axes (a single one without them)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    geometry = Geometry.of(grid)
    fixed = [f"{name} {label_of(value)}" for name, value in grid.fixed.items() if value is not None]
    left = ROW_HEADER if geometry.rows else 0
    top = _TITLE + (_COLUMN_HEADER if geometry.columns else 0)
    pitch_x = COMPARE_CELL_SIDE + GAP
    pitch_y = COMPARE_CELL_SIDE + _CAPTION + GAP
    sheets = []
    for page, cells in geometry.sheets(grid):
        title = ", ".join(
            f"{axis.name} = {axis.labels[spot]}"
            for axis, spot in zip(geometry.pages, page, strict=True)
        )
        title = title or "; ".join(fixed)
        sheet = PILImage.new("RGB", geometry.size, _BACKGROUND)
        draw = ImageDraw.Draw(sheet)
        _text(draw, (GAP, GAP), title, sheet.width - 2 * GAP, 1)
        if geometry.rows and geometry.columns:
            for number, line in enumerate(
                (f"rows: {geometry.rows.name}", f"columns: {geometry.columns.name}")
            ):
                _text(
                    draw, (GAP, _TITLE + number * _LINE), line, ROW_HEADER - 2 * GAP, 1, fill=_MUTED
                )
        if geometry.columns:
            for c, label in enumerate(geometry.columns.labels):
                x = left + GAP + c * pitch_x
                _text(draw, (x, _TITLE), label, COMPARE_CELL_SIDE, 3, center=True)
        if geometry.rows:
            for r, label in enumerate(geometry.rows.labels):
                y = top + GAP + r * pitch_y
                _text(draw, (GAP, y + 4), label, ROW_HEADER - 2 * GAP, 10)
        for (r, c), cell in cells.items():
            _draw_cell(sheet, draw, cell, left + GAP + c * pitch_x, top + GAP + r * pitch_y)
        sheets.append(sheet)
    return sheets


def stack(sheets: Sequence[Image]) -> Image:
    """The sheets one under the other (the first alone when there is one)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    if len(sheets) == 1:
        return sheets[0]
    width = max(sheet.width for sheet in sheets)
    whole = PILImage.new("RGB", (width, sum(sheet.height for sheet in sheets)), _BACKGROUND)
    draw = ImageDraw.Draw(whole)
    y = 0
    for sheet in sheets:
        whole.paste(sheet, (0, y))
        if y:  # a rule between two sheets
            draw.line((0, y, width, y), fill=_RULE, width=2)
        y += sheet.height
    return whole
