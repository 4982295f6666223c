"""The grid of a comparison: axes, their product as cells, and which cells can be sent.

``plan_grid`` checks everything before anything is sent: every axis has values (each once), the
product stays within ``max_cells``, every name is a generation parameter of ``ImageParams``,
and each cell's parameters pass ``build_payload`` (the client's own validation). A cell the
catalogue refuses (``quality="xhigh"`` for a model without it) is "not applicable" and is never
sent; a value refused on every cell it is in is a mistake, and is refused with
``InvalidParameterError``, as is a grid where no cell can be sent.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._catalog import build_payload, refuse_unknown
from .._cost import Cost, estimate_payload
from .._errors import InvalidParameterError

if TYPE_CHECKING:
    from PIL.Image import Image

    from .._catalog import Price
    from ..batch._results import BatchItem
    from ..images._results import Generation

__all__ = ["Axis", "Cell", "Grid", "plan_grid"]

#: What became of a cell: ``pending`` before its answer lands.
CellStatus = Literal["pending", "ok", "failed", "not applicable", "over budget"]

#: The axis the prompts make when several are given.
PROMPT_AXIS = "prompt"


def label_of(value: object) -> str:
    """A header's text for an axis value (``None``: "unset")."""
    if value is None:
        return "unset"
    return str(value)


@dataclass(frozen=True)
class Axis:
    """One parameter that varies: its name and values, in the order given."""

    name: str
    values: tuple[Any, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label_of(value) for value in self.values)

    def position(self, value: object) -> int:
        """The index of ``value`` on this axis (for ``prompt`` an int is the index itself).

        Raises ``InvalidParameterError`` for a value the axis does not have."""
        if (
            self.name == PROMPT_AXIS
            and isinstance(value, int)
            and not isinstance(value, bool)
            and 0 <= value < len(self.values)
        ):
            return value
        for index, known in enumerate(self.values):
            if known == value and type(known) is type(value):
                return index
        shown = ", ".join(repr(v) for v in self.values)
        extra = f" (or an index 0 to {len(self.values) - 1})" if self.name == PROMPT_AXIS else ""
        raise InvalidParameterError(
            self.name,
            value,
            f"one of the axis's values: {shown}{extra}",
            reason=f"{self.name} {value!r} is not a value of this comparison",
        )


@dataclass(eq=False)
class Cell:
    """One cell of a comparison: its place on each axis and what became of it.

    ``where`` maps each axis name to this cell's value; ``params`` are the cell's generation
    parameters (``prompt`` included). ``status`` is ``ok``, ``failed`` (``error`` says why, in
    short), ``not applicable`` (the model refuses the combination: ``error`` says how; never
    sent), ``over budget`` (not sent: the budget would have passed) or ``pending``.
    """

    index: int
    where: dict[str, Any]
    params: dict[str, Any]
    status: CellStatus = "pending"
    error: str | None = None
    payload: dict[str, Any] | None = field(default=None, repr=False)
    estimate: Cost | None = field(default=None, repr=False)
    item: BatchItem | None = field(default=None, repr=False)

    @property
    def generation(self) -> Generation | None:
        return self.item.generation if self.item is not None else None

    @property
    def image(self) -> Image | None:
        """The cell's first image (decoded), or None when it has none (or it is an SVG)."""
        generation = self.generation
        for image in generation.images if generation else []:
            if image.ok and image.format != "svg":
                return image.image
        return None

    @property
    def cost(self) -> Cost | None:
        """What the cell's request cost (None when nothing was sent)."""
        return self.item.cost if self.item is not None else None

    @property
    def elapsed(self) -> float | None:
        return self.item.elapsed if self.item is not None else None

    @property
    def tokens(self) -> int | None:
        """Every token the answer reported (input and output), or None without usage."""
        cost = self.cost
        if cost is None or not cost.tokens or cost.basis != "usage":
            return None
        return sum(int(count) for count in cost.tokens.values())

    @property
    def path(self) -> Path | None:
        """The cell's first image file (with ``output_dir``), else None."""
        return self.item.paths[0] if self.item is not None and self.item.paths else None

    @property
    def resumed(self) -> bool:
        return self.item is not None and self.item.skipped

    def label(self) -> str:
        return ", ".join(f"{name}={label_of(value)}" for name, value in self.where.items())

    def __repr__(self) -> str:
        why = f": {self.error}" if self.error else ""
        return f"<Cell #{self.index} {self.label()} {self.status}{why}>"


@dataclass
class Grid:
    """The axes, the fixed parameters and the cells (in row-major order of ``axes``).

    ``layout`` names the axes in display order: rows, then columns, then one sheet per
    combination of the others (a single axis is the columns)."""

    axes: tuple[Axis, ...]
    fixed: dict[str, Any]
    cells: list[Cell]
    layout: tuple[str, ...]

    @property
    def sendable(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.status != "not applicable"]

    @property
    def estimate(self) -> Cost:
        """The estimated cost of every cell to send."""
        return sum(
            (cell.estimate for cell in self.sendable if cell.estimate is not None),
            Cost(usd=0.0, basis="estimate"),
        )

    def describe(self) -> str:
        """``"8 cells (2 not applicable), 6 to send: about $0.42"``."""
        refused = len(self.cells) - len(self.sendable)
        skipped = f" ({refused} not applicable)" if refused else ""
        return (
            f"{len(self.cells)} cell(s){skipped}, {len(self.sendable)} to send: estimate"
            f" {self.estimate}"
        )


def _values(name: str, given: list[Any] | tuple[Any, ...]) -> tuple[Any, ...]:
    """An axis's values, each once; refuses an empty one."""
    values = tuple(given)
    if not values:
        raise InvalidParameterError(
            name,
            given,
            f"give {name} one value, or a non-empty list of values to compare",
            reason=f"the {name} axis has no values",
        )
    for first, value in enumerate(values):
        if any(value == other and type(value) is type(other) for other in values[:first]):
            raise InvalidParameterError(
                name,
                value,
                f"list each {name} once (a repeated value would be paid for twice)",
                reason=f"{name} {value!r} is given twice",
            )
    return values


def _check_layout(layout: Sequence[str] | None, names: list[str]) -> tuple[str, ...]:
    if layout is None:
        return tuple(names)
    order = (layout,) if isinstance(layout, str) else tuple(layout)
    if sorted(order) != sorted(names) or len(set(order)) != len(order):
        raise InvalidParameterError(
            "layout",
            order,
            "name every axis once, rows first, then columns, then those that make one sheet"
            f" per value: a permutation of {', '.join(names) or '(no axes)'}",
            reason=f"layout {order!r} does not name each axis of the comparison once",
        )
    return order


def plan_grid(
    prompts: str | Iterable[str],
    axes: Mapping[str, object],
    *,
    max_cells: int,
    layout: Sequence[str] | None = None,
    prices: Mapping[str, Price] | None = None,
) -> Grid:
    """Check the comparison (see the module docstring) and lay out its cells; nothing is sent.

    ``prompts`` and each of ``axes`` is one value (fixed) or a list (an axis). Each cell of the
    returned ``Grid`` has its payload and estimate, or ``status="not applicable"`` and why.
    """
    if isinstance(max_cells, bool) or not isinstance(max_cells, int) or max_cells < 1:
        raise InvalidParameterError("max_cells", max_cells, "a whole number of 1 or more")
    refuse_unknown(axes)
    if not isinstance(prompts, Iterable):
        raise InvalidParameterError(
            "prompts", prompts, "a prompt, or a list of prompts to compare", reason="bad prompts"
        )
    fixed: dict[str, Any] = {}
    varying: list[Axis] = []
    given = prompts if isinstance(prompts, str) else list(prompts)
    for name, value in {PROMPT_AXIS: given, **axes}.items():  # the prompt axis comes first
        if isinstance(value, (list, tuple)):
            varying.append(Axis(name, _values(name, value)))
        else:
            fixed[name] = value
    count = math.prod(len(axis.values) for axis in varying)
    if count > max_cells:
        sizes = " x ".join(f"{len(a.values)} {a.name}" for a in varying)
        raise InvalidParameterError(
            "max_cells",
            max_cells,
            f"compare fewer values, or raise max_cells= to {count} or more",
            reason=f"the comparison has {count} cells ({sizes}), more than max_cells={max_cells}",
        )
    order = _check_layout(layout, [axis.name for axis in varying])
    cells: list[Cell] = []
    refusals: dict[int, InvalidParameterError] = {}
    for index, combination in enumerate(itertools.product(*(a.values for a in varying))):
        where = {axis.name: value for axis, value in zip(varying, combination, strict=True)}
        merged = {**fixed, **where}
        params = {k: v for k, v in merged.items() if v is not None or k == PROMPT_AXIS}
        cell = Cell(index=index, where=where, params=params)
        body = {name: value for name, value in params.items() if name != PROMPT_AXIS}
        try:
            cell.payload = build_payload(params.get(PROMPT_AXIS), **body)
        except InvalidParameterError as exc:
            cell.status = "not applicable"
            cell.error = _why(exc)
            refusals[index] = exc
        else:
            cell.estimate = estimate_payload(cell.payload, prices=prices)
        cells.append(cell)
    _refuse_what_never_applies(varying, cells, refusals)
    return Grid(axes=tuple(varying), fixed=fixed, cells=cells, layout=order)


def _refuse_what_never_applies(
    axes: Sequence[Axis], cells: list[Cell], refusals: Mapping[int, InvalidParameterError]
) -> None:
    """Raise when a value is refused on every cell it is in, or when every cell is refused."""
    if not refusals:
        return
    if len(refusals) == len(cells):
        first = refusals[cells[0].index]
        raise InvalidParameterError(
            first.field,
            first.value,
            first.allowed,
            reason=f"no cell of the comparison can be sent ({_why(first)}); nothing was sent",
        )
    for axis in axes:
        if len(axis.values) < 2:
            continue  # its value is in every cell: the whole grid was checked above
        for value in axis.values:
            mine = [c for c in cells if c.where[axis.name] == value]
            if all(c.index in refusals for c in mine):
                first = refusals[mine[0].index]
                raise InvalidParameterError(
                    axis.name,
                    value,
                    first.allowed,
                    reason=f"{axis.name} {value!r} is refused on every cell of the comparison"
                    f" ({_why(first)}); nothing was sent",
                )


def _why(error: InvalidParameterError) -> str:
    """An error's message without its "what is allowed" tail (said once, by the new error)."""
    return error.message.removesuffix(f"; {error.allowed}")
