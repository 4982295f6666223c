"""The history picker: one entry per generation of the session, newest selected.

Each entry reads ``HH:MM:SS · model · prompt`` (prompt cut at 40 characters). Choosing one
calls ``on_select(index)``; the widget then shows that generation and restores its parameters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    from ..images._results import Generation

__all__ = ["HistoryView", "history_label", "restored_params"]

_PROMPT_CHARS = 40


def history_label(generation: Generation, landed: float | None = None) -> str:
    """``'14:03:12 · dall-e-3 · A paper boat floating on calm water at…'``."""
    stamp = generation.created or landed or time.time()
    clock = time.strftime("%H:%M:%S", time.localtime(stamp))
    prompt = " ".join(generation.prompt.split())
    if len(prompt) > _PROMPT_CHARS:
        prompt = prompt[: _PROMPT_CHARS - 1].rstrip() + "…"
    return f"{clock} · {generation.model} · {prompt}"


def restored_params(generation: Generation, names: Sequence[str]) -> dict[str, Any]:
    """The panel parameters a generation was made with (unset optional ones become ``None``)."""
    params: Mapping[str, Any] = generation.params
    values = {name: params.get(name) for name in names}
    values["prompt"] = generation.prompt
    values["model"] = generation.model
    if "partial_images" in values:
        values["partial_images"] = params.get("partial_images") or 0
    return values


class HistoryView:
    """A dropdown of past generations (class ``cw-history``), hidden while there are none."""

    def __init__(self, on_select: Callable[[int], None]) -> None:
        self._on_select = on_select
        self._mirroring = threading.local()
        self.dropdown = widgets.Dropdown(
            description="history",
            options=(),
            value=None,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="100%", display="none"),
        )
        self.dropdown.add_class("cw-history")
        self.dropdown.observe(self._changed, names="value")

    def _changed(self, change: Mapping[str, Any]) -> None:
        if getattr(self._mirroring, "active", False) or change["new"] is None:
            return
        self._on_select(int(change["new"]))

    def show(self, labels: Sequence[str], selected: int | None) -> None:
        """List ``labels`` (oldest first) and select entry ``selected`` without calling back."""
        options = tuple(
            (f"#{number} {label}", number - 1) for number, label in enumerate(labels, 1)
        )
        self._mirroring.active = True
        try:
            with self.dropdown.hold_sync():
                if tuple(self.dropdown.options) != options:
                    self.dropdown.options = options
                if self.dropdown.value != selected:
                    self.dropdown.value = selected
        finally:
            self._mirroring.active = False
        display = "" if labels else "none"
        if self.dropdown.layout.display != display:
            self.dropdown.layout.display = display
