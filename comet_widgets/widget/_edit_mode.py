"""Edit mode: the inputs' records, the mask, and what an edit sends of the panel's values.

The panel's ``inputs`` trait and ``mask`` property delegate to ``EditMode``; like every write
to the panel, its methods run holding the panel's lock (see ``_run.RunController``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._catalog import EditInput, build_edit_payload, check_edit, get_model, validate_size
from .._errors import InvalidParameterError
from .._types import EDIT_PARAMETERS
from . import _loop
from ._controls import OPTIONAL, check
from ._inputs import EditArea, InputImage, check_input, mask_array, prepare
from ._partials import streams
from ._status import plural

__all__ = ["EditMode", "edit_options"]

#: The panel's choices an edit sends too: those ``EditParams`` declares (not ``style``, which
#: refuses an edit while set, nor ``moderation``, a generation setting edits leave out).
_EDIT_CHOICES = tuple(name for name in OPTIONAL if name in EDIT_PARAMETERS)


def edit_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """What an edit sends of the panel's values, for ``edit()`` and an edit-mode batch alike:
    model, n, size, the choices set, and partial previews when the model streams them."""
    options = {"model": values["model"], "n": values["n"], "size": values["size"]}
    options.update({k: values[k] for k in _EDIT_CHOICES if values[k] is not None})
    if values["partial_images"] and streams(values["model"], values["output_format"]):
        options["partial_images"] = values["partial_images"]
    return options


def input_size(model: str, first: InputImage) -> str | None:
    """An edit keeps the input's size by default: the first input's size when the model takes
    it, else ``auto`` when the model takes that (None: leave Size as it is)."""
    spec = get_model(model)
    for size in (f"{first.width}x{first.height}", "auto") if spec is not None else ():
        try:
            validate_size(size, spec)
        except InvalidParameterError:
            continue
        return size
    return None


@dataclass(eq=False)
class EditMode:
    """The inputs' records (by ``id`` of what was given), uploads' file names and the mask set
    from code (full size; None: the painter's, if any)."""

    area: EditArea
    lock: Any
    refresh: Callable[[], None]
    items: list[InputImage] = field(default_factory=list)
    cache: dict[int, InputImage] = field(default_factory=dict)
    upload_names: dict[int, str] = field(default_factory=dict)
    code_mask: Any = None
    closed: bool = False
    _mirroring: bool = False

    def check(self, value: list[Any]) -> list[Any]:
        """Each input is checked here, cheaply (its kind, and its header's size and format:
        nothing is decoded), so a bad one is refused at once, with ``InvalidParameterError``
        naming ``inputs``; thumbnails are made afterwards in a worker thread."""
        for number, source in enumerate(value):
            cached = self.cache.get(id(source))
            if cached is None or cached.source is not source:
                name = self.upload_names.get(id(source))
                self.cache[id(source)] = check_input(source, number, name=name)
        return value

    def take(self, sources: list[Any]) -> InputImage | None:
        """The checked ``sources`` become the inputs; the new first one, if it changed."""
        items = [self.cache[id(source)] for source in sources]
        before = self.items
        self.items = items
        kept = {id(item.source) for item in items}
        self.cache = {k: v for k, v in self.cache.items() if k in kept}
        self.upload_names = {k: v for k, v in self.upload_names.items() if k in kept}
        new_first = None
        if (items[0].source if items else None) is not (before[0].source if before else None):
            self.code_mask = None
            new_first = items[0] if items else None
        with self._mirror():  # a new painter or first input clears the painted mask: not a stroke
            self.area.show_inputs(items)
            if new_first is not None:
                self.area.set_first(new_first)
        self.show_mask_note()
        self._prepare()
        return new_first

    def _prepare(self) -> None:
        """Make the missing thumbnails (and the painter's preview of a new first input) in a
        worker thread, from the panel's loop: decoding a large photo takes hundreds of
        milliseconds, which the kernel's thread must not spend. The cards fill in after."""
        items = self.items
        pending = [item for item in items if not item.thumb and not item.problem]
        first = items[0] if items and self.area.wants_preview(items[0].source) else None
        if not pending and first is None:
            return

        async def made() -> None:
            done, url = await asyncio.to_thread(prepare, pending, first)
            with self.lock:
                if self.closed:
                    return
                swap = {id(old): new for old, new in zip(pending, done, strict=True)}
                for old, new in zip(pending, done, strict=True):
                    if self.cache.get(id(old.source)) is old:
                        self.cache[id(old.source)] = new
                if any(id(item) in swap for item in self.items):
                    self.items = [swap.get(id(i), i) for i in self.items]
                    self.area.show_inputs(self.items)
                if first is not None:
                    self.area.show_preview(first.source, url)

        _loop.submit(made())

    def problem(self, values: Mapping[str, Any]) -> InvalidParameterError | None:
        """What refuses an edit with these values and the current inputs, or None."""
        problem = check(values)  # the generation rules apply to edits too
        if problem is not None:
            return problem
        try:
            # An edit's own rules (EditParams): a model that cannot edit, GIF with a mask, a
            # style (edits take none: the catalogue refuses it while set)...
            style = {} if values["style"] is None else {"style": values["style"]}
            options = {**edit_options(values), **style, "mask": self.code_mask}
            build_edit_payload(values["prompt"], options)
            mask_input = None
            if self.code_mask is not None:
                height, width = self.code_mask.shape
                mask_input = EditInput("mask.png", "png", width, height, 0, alpha=True)
            inputs = [item.for_catalogue(n) for n, item in enumerate(self.items)]
            check_edit(str(values["model"]), inputs, mask_input)
        except InvalidParameterError as exc:
            return exc
        return None

    def titles(self, what: str) -> tuple[str, str]:
        """``("Edit of beach.png and 1 more image", the same with the full name)``."""
        first, count = self.items[0], len(self.items)
        more = f" and {plural(count - 1, 'more image')}" if count > 1 else ""
        return f"{what} {first.name}{more}", f"{what} {first.full_name}{more}"

    @contextlib.contextmanager
    def _mirror(self) -> Iterator[None]:
        self._mirroring = True
        try:
            yield
        finally:
            self._mirroring = False

    @property
    def mask(self) -> Any:
        if self.code_mask is not None:
            return self.code_mask
        painter = self.area.painter
        if painter is None or not self.items:
            return None
        return painter.mask

    def set_mask(self, value: Any) -> None:
        """``gen.mask = value``: checked against the first input, drawn in the painter."""
        array = None
        if value is not None:
            if not self.items:
                raise InvalidParameterError(
                    "mask",
                    type(value).__name__,
                    "set gen.inputs first: the mask applies to the first input",
                    reason="there is no input image to mask",
                )
            array = mask_array(value)
            first = self.items[0]
            height, width = array.shape
            if (width, height) != (first.width, first.height):
                raise InvalidParameterError(
                    "mask",
                    f"{width}x{height}",
                    f"a mask of the first input's size, {first.width}x{first.height}",
                    reason=f"the mask is {width}x{height}",
                )
            if not array.any():
                raise InvalidParameterError(
                    "mask",
                    "an empty mask",
                    "mark where to change (True), or set None to let the whole image change",
                    reason="the mask marks no pixel",
                )
        self.code_mask = array
        if self.area.painter is not None:
            with self._mirror():
                self.area.painter.mask = array
        self.show_mask_note()
        self.refresh()

    def painted(self) -> None:
        """A stroke (or Clear, Invert) reached the kernel: the painted mask is the mask."""
        with self.lock:
            if self._mirroring:
                return
            self.code_mask = None
            self.show_mask_note()
            self.refresh()

    def show_mask_note(self) -> None:
        if not self.items:
            self.area.show_mask("")
            return
        mask = self.mask
        if mask is None:
            self.area.show_mask("No mask: the whole image may change.")
            return
        share = float(mask.mean()) * 100
        where = "set from code" if self.code_mask is not None else "painted"
        self.area.show_mask(f"Mask {where}: {share:.0f}% of the image may change.")
