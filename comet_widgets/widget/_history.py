"""The history strip: one card per run of the session (a generation, an edit or a batch),
newest first, scrolling sideways; clicking one calls ``on_select(index)`` and the panel shows
it and restores its parameters. A card shows the run's first image (at most 96 px), the
prompt's first words, the model and the count ("gpt-image-2 · 4 images", "batch of 3") and,
for an edit, what it edited; its transparent button (``cw-history-pick``) takes the click,
with the run's number, time, model and whole prompt in its tooltip.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ._dom import classed, escaped, made, set_class, show
from ._gallery import button
from ._inputs import InputImage, shortened
from ._status import plural

if TYPE_CHECKING:
    from ..images._results import Generation
    from ._gallery import Preview

__all__ = ["HistoryStrip", "Run", "first_words", "history_label", "restored_params", "shortened"]

_PROMPT_CHARS = 60
#: A card's prompt: at most this many words, and this many characters (two short lines).
_CARD_WORDS = 7
_CARD_CHARS = 44


def first_words(prompt: str) -> str:
    """The prompt's first words, for a card: ``'A paper boat floating on calm water…'``."""
    words = prompt.split()
    text = " ".join(words[:_CARD_WORDS])
    if len(text) > _CARD_CHARS:
        text = text[: _CARD_CHARS - 1].rsplit(" ", 1)[0] if " " in text else text[:_CARD_CHARS]
    return text + ("…" if text != " ".join(words) else "")


def history_label(generation: Generation) -> str:
    """``'14:03:12 · dall-e-3 · A paper boat floating on calm water at…'``."""
    clock = time.strftime("%H:%M:%S", time.localtime(generation.created or time.time()))
    return f"{clock} · {generation.model} · {shortened(generation.prompt, _PROMPT_CHARS)}"


def restored_params(generation: Generation, names: Sequence[str]) -> dict[str, Any]:
    """The panel parameters a generation was made with (unset optional ones become ``None``)."""
    params: Mapping[str, Any] = generation.params
    values = {name: params.get(name) for name in names}
    values.update(prompt=generation.prompt, model=generation.model)
    values["partial_images"] = params.get("partial_images") or 0
    return values


@dataclass(eq=False)
class Run:
    """One entry of the history strip: a generation, or a panel batch in input order."""

    generations: list[Generation]
    previews: list[Preview]
    batch: int = 0  # the number of prompts, for a batch
    items: list[int] = field(default_factory=list)  # a batch's: each generation's item index
    #: An edit's: "Edit of image 2 from 'A paper boat…'", its inputs and mask (to restore).
    edit_of: str = ""
    edit_title: str = ""  # the same in full, for its tooltip
    inputs: list[InputImage] = field(default_factory=list)
    mask: Any = None


def _card(index: int, run: Run, pick: Callable[[int], None]) -> widgets.VBox:
    """Run ``index``'s card, built with its content: the page gets it in the messages that
    open its widgets, and nothing of it is sent again but its ``cw-selected`` class."""
    generation = run.generations[0]  # a run in the strip has at least one
    mini = next((p.mini for p in run.previews if p.mini), None)
    hidden = {} if mini else {"layout": widgets.Layout(display="none")}
    thumb = classed(
        made(widgets.Image, value=mini or b"", format="jpeg", **hidden), "cw-history-thumb"
    )
    what = f"batch of {run.batch}" if run.batch else plural(len(run.previews), "image")
    tooltip = history_label(generation)
    note = ""
    if run.edit_of:  # what it edited; in full where the pointer rests
        full = run.edit_title or run.edit_of
        tooltip = f"{full} · {tooltip}"
        note = f'<div class="cw-history-note" title="{escaped(full)}">{escaped(run.edit_of)}</div>'
    label = (
        f'<div class="cw-history-prompt">{escaped(first_words(generation.prompt))}</div>'
        f'<div class="cw-history-meta">{escaped(generation.model)} · {escaped(what)}</div>{note}'
    )
    picker = button("", "cw-history-pick", tooltip=f"#{index + 1} · {tooltip}")
    picker.on_click(lambda _button: pick(index))
    parts = [thumb, classed(made(widgets.HTML, label), "cw-history-label"), picker]
    return classed(made(widgets.VBox, parts), "cw-history-item")


class HistoryStrip:
    """The strip (class ``cw-history``), hidden while the session has no run.

    A new run's card goes first and the cards already shown stay as they are: a run costs the
    page its new card and the strip's list of children, however long the session (re-filling
    every card, shifted by one, cost two or three messages per card per run).
    """

    def __init__(self, on_select: Callable[[int], None]) -> None:
        self._on_select = on_select
        self._cards: list[widgets.VBox] = []
        self.title = classed(made(widgets.HTML, "History"), "cw-history-title")
        self.strip = classed(made(widgets.HBox), "cw-history")
        self.box = classed(
            made(widgets.VBox, [self.title, self.strip], layout=widgets.Layout(display="none")),
            "cw-history-box",
        )

    def add(self, run: Run) -> None:
        """Show the session's next run first, marked as the one shown."""
        card = _card(len(self._cards), run, self._on_select)
        self._cards.append(card)
        self.strip.children = (card, *self.strip.children)
        show(self.box, True)
        self.select(len(self._cards) - 1)

    def select(self, selected: int | None) -> None:
        """Mark run ``selected`` (counted from 0) as the one shown, or none."""
        for index, card in enumerate(self._cards):
            set_class(card, "cw-selected", index == selected)
