"""The panel's parameter controls, and the catalogue rules that shape them.

The pure part (``allowed_values``, ``adapt_to_model``, ``check``) decides what each control
offers for a model; ``Controls`` owns the ipywidgets and mirrors a dict of parameter values into
them. The widget keeps the values in traits and calls ``Controls.show`` after every change; a
user's edit comes back through ``on_change(name, value)``. Optional choices use ``None`` for
"not sent" (shown as "default"). A value the model refuses is still shown (and the validation
message says why) instead of being silently replaced.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import ipywidgets as widgets

from .._catalog import (
    CURRENT,
    MODELS,
    ModelInfo,
    ModelSpec,
    build_payload,
    get_model,
    validate_size,
)
from .._errors import InvalidParameterError
from .._types import PARAMETERS, choices
from ._dom import classed, escaped, made, set_class, set_value, show
from ._gallery import button, clicked
from ._partials import streams
from ._words import LABELS, Message, details_html

__all__ = [
    "OPTIONAL",
    "PARAMS",
    "PARTIALS_HINT",
    "Controls",
    "adapt_to_model",
    "check",
    "payload_of",
]

#: Parameters that may be left unset (``None``: not sent, the API's default applies), shown as
#: choice controls of their ``Literal`` values (``_types.py``), in declaration order.
OPTIONAL = tuple(name for name in PARAMETERS if name in LABELS)
#: The parameter traits, in the order they are applied (model first: it decides the others).
PARAMS = ("model", "prompt", "n", "size", *OPTIONAL, "partial_images")
#: What the partial-previews control says about its cost (``tests/widget/test_partials.py``
#: checks the figures against ``estimate_cost`` and the fake's usage).
PARTIALS_HINT = (
    "Off by default: each preview costs about 100 output image tokens, so two nearly double"
    " the cost of a low-quality gpt-image-2 image"
)
#: Choices shown in plain words; the value sent stays the API's.
_CHOICE_WORDS = {"url": "link", "b64_json": "inline data"}
#: The optional choices folded under "More options" (quality stays in the main row).
ADVANCED = (
    "style",
    "background",
    "output_format",
    "response_format",
    "complexity",
    "moderation",
)
_DEFAULT_LABEL = "default"
W = TypeVar("W", bound=widgets.Widget)


#: The sizes offered for a model the catalogue does not know: every size some model lists.
_ANY_SIZE = choices("size")
#: The value of the Model list's "Other…" entry and of the Size list's "Custom…" entry: each
#: reveals a text box (``cw-model-other``, ``cw-size-custom``) for any model id or WxH.
OTHER = ""
_OTHER_LABEL = "Other…"
_CUSTOM_LABEL = "Custom…"
#: What the key's live list adds to a model's label.
LIVE = "✓ live"


def model_options(usable: frozenset[str] | None) -> tuple[tuple[str, str], ...]:
    """The Model list's ``(label, value)`` entries: the catalogue's current models, then its
    deprecated and shut-down ones (their status in the label), then other image models the
    key lists; each model the key can use is marked "✓ live"; "Other…" last."""

    def label(name: str, status: str = "") -> str:
        marks = [status] if status else []
        if usable is not None and name in usable:
            marks.append(LIVE)
        return f"{name} · {' · '.join(marks)}" if marks else name

    older = [name for name, spec in MODELS.items() if spec.status != "current"]
    extra = sorted((usable or frozenset()) - set(MODELS))
    return (
        *((label(name), name) for name in CURRENT),
        *((label(name, MODELS[name].status), name) for name in older),
        *((label(name), name) for name in extra),
        (_OTHER_LABEL, OTHER),
    )


def size_options(spec: ModelSpec | None, size: str) -> tuple[tuple[str, str], ...]:
    """The Size list's entries: the model's presets; "Custom…" when it takes any WxH (an
    unknown model may), else a refused size set from code is listed too (the message says
    why)."""
    free = spec is None or spec.free_size
    sizes = _ANY_SIZE if spec is None else spec.sizes
    entries = tuple((value, value) for value in sizes)
    if free:
        return (*entries, (_CUSTOM_LABEL, OTHER))
    return entries if size in sizes else (*entries, (f"{size} (not accepted)", size))


def allowed_values(spec: ModelSpec | None, name: str) -> tuple[str, ...]:
    """The values the model accepts for an optional parameter (empty: the model takes none)."""
    if spec is None:
        return choices(name, closed_only=True)
    if name == "quality":
        return spec.qualities
    if name == "style":
        return spec.styles
    if name == "response_format":
        return spec.response_formats
    return choices(name, closed_only=True) if spec.accepts(name) else ()


def adapt_to_model(spec: ModelSpec | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The changes a switch to ``spec`` implies: n clamped, refused choices reset to defaults.

    An unknown model (``spec is None``) keeps everything: the catalogue cannot judge it.
    """
    if spec is None:
        return {}
    changes: dict[str, Any] = {}
    n = values["n"]
    if not 1 <= n <= spec.max_n:
        changes["n"] = min(max(n, 1), spec.max_n)
    try:
        validate_size(values["size"], spec)
    except InvalidParameterError:
        changes["size"] = spec.default_size
    for name in OPTIONAL:
        value = values[name]
        if value is not None and value not in allowed_values(spec, name):
            changes[name] = None
    # Partial previews are opt-in: kept when the new model streams too, else off.
    if values["partial_images"] and not streams(
        spec.name, changes.get("output_format", values["output_format"])
    ):
        changes["partial_images"] = 0
    return changes


def payload_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for these values; raises ``InvalidParameterError`` when one is refused."""
    return build_payload(
        values["prompt"],
        model=values["model"],
        n=values["n"],
        size=values["size"],
        **{name: values[name] for name in OPTIONAL},
        partial_images=values["partial_images"],
    )


def check(values: Mapping[str, Any]) -> InvalidParameterError | None:
    """The catalogue's objection to these values, or None when they can be sent."""
    try:
        payload_of(values)
    except InvalidParameterError as exc:
        return exc
    return None


def _set_options(widget: widgets.Widget, options: tuple[Any, ...]) -> None:
    if tuple(widget.options) != options:
        widget.options = options


def _offer(dropdown: widgets.Widget, options: tuple[tuple[str, Any], ...], value: Any) -> None:
    """Set a list's options and value; a value the list does not offer (one set from code
    that the model refuses) is listed as "not accepted" (the message says why)."""
    if value not in {offered for _label, offered in options}:
        options += ((f"{value} (not accepted)", value),)
    with dropdown.hold_sync():
        _set_options(dropdown, options)
        set_value(dropdown, value)


class Controls:
    """The parameter controls and the Generate / Cancel buttons.

    ``on_change(name, value)`` is called when the user edits a control (never while ``show``
    mirrors values into them). Every control carries a stable CSS class (``cw-<name>``).
    """

    def __init__(
        self,
        on_change: Callable[[str, Any], None],
        *,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self._on_change = on_change
        #: The panel's lock: the controls' own clicks (More options) write holding it.
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._mirroring = threading.local()

        def field(kind: type[W], name: str, label: str, **kwargs: Any) -> W:
            """A labelled field, classes ``cw-<name>`` and ``cw-field``, as wide as it needs."""
            layout = kwargs.pop("layout", None) or widgets.Layout(width="auto")
            style = {"description_width": "initial"}
            widget = made(kind, description=label, style=style, layout=layout, **kwargs)
            return classed(widget, f"cw-{name.replace('_', '-')}", "cw-field")

        def free_text(name: str, placeholder: str) -> widgets.Text:
            """A hidden box for a value the list lacks (class ``cw-<name>``), sent on Enter."""
            layout = widgets.Layout(width="auto", display="none")
            text = made(
                widgets.Text, placeholder=placeholder, continuous_update=False, layout=layout
            )
            return classed(text, f"cw-{name}")

        self.prompt = field(
            widgets.Textarea,
            "prompt",
            "Prompt",
            placeholder="Describe the image: subject, setting, style, light...",
            layout=widgets.Layout(width="100%"),
        )
        self.model = field(widgets.Dropdown, "model", "Model", options=model_options(None))
        #: Any other model id (shown when "Other…" is picked, or the model is not listed).
        self.model_other = free_text("model-other", "type a model id, then press Enter")
        self.size_choice = field(widgets.Dropdown, "size", "Size")
        #: Any WIDTHxHEIGHT, for a model that takes free sizes ("Custom…" in the list).
        self.size_custom = free_text("size-custom", "WIDTHxHEIGHT, e.g. 1280x720")
        #: Whether the person opened the box ("Other…" / "Custom…"), by parameter: kept
        #: until they pick a listed value.
        self._open = {"model": False, "size": False}
        #: One line under the model control: its lifecycle, or that the key does not list it.
        self.model_notice = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-model-notice"
        )
        #: Quiet: why the key's live model list could not be fetched (the catalogue's is shown).
        self.model_list_note = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-model-list"
        )
        #: The image models the key can use (None until the live list arrived, or if it failed).
        self.usable: frozenset[str] | None = None
        self.n = field(widgets.BoundedIntText, "n", "Images")
        self.choices = {name: field(widgets.Dropdown, name, LABELS[name]) for name in OPTIONAL}
        self.partial_images = field(
            widgets.Dropdown,
            "partial_images",
            "Previews",
            tooltip=f"Partial previews per image while it is made. {PARTIALS_HINT}.",
        )
        self.partials_hint = classed(
            made(widgets.HTML, f"<small>{PARTIALS_HINT}</small>"), "cw-partials-hint"
        )
        self.partials_box = classed(
            made(widgets.VBox, [self.partial_images, self.partials_hint]), "cw-partials"
        )
        self.generate = button(
            "Generate", "cw-generate", button_style="primary", icon="paint-brush"
        )
        hidden = widgets.Layout(display="none")
        self.cancel = button(
            "Cancel", "cw-cancel", button_style="warning", icon="stop", layout=hidden
        )
        #: The model's field: the model box, then room for notices about the model (e.g. a
        #: retirement date) under it.
        self.model_field = classed(
            made(
                widgets.VBox,
                [self.model, self.model_other, self.model_notice, self.model_list_note],
            ),
            "cw-model-field",
        )
        # ``.cw-size`` is the list; ``cw-size-custom`` the WxH box under it.
        size_box = classed(made(widgets.Box, [self.size_choice, self.size_custom]), "cw-size-box")
        self.fields = classed(
            made(widgets.Box, [self.model_field, size_box, self.n, self.choices["quality"]]),
            "cw-fields",
        )
        self.advanced = classed(
            made(
                widgets.Box,
                [*(self.choices[name] for name in ADVANCED), self.partials_box],
                layout=widgets.Layout(display="none"),
            ),
            "cw-fields",
            "cw-advanced",
        )
        self.advanced_toggle = button("More options", "cw-advanced-toggle", icon="caret-right")
        clicked(self.advanced_toggle, self._lock, self._toggle)
        #: The control rows, top to bottom.
        self.rows = [self.prompt, self.fields, self.advanced_toggle, self.advanced]

        self._watch(self.prompt, "prompt", str)
        self._watch(self.model, "model", str, box=self.model_other)
        self._watch(self.model_other, "model", lambda value: str(value).strip())
        self._watch(self.size_choice, "size", str, box=self.size_custom)
        self._watch(self.size_custom, "size", lambda value: str(value).strip().lower())
        self._watch(self.n, "n", int)
        self._watch(self.partial_images, "partial_images", int)
        for name, dropdown in self.choices.items():
            self._watch(dropdown, name, lambda value: value or None)

    def _toggle(self) -> None:
        """More options: fold or unfold the advanced options."""
        folded = self.advanced.layout.display != "none"
        show(self.advanced, not folded)
        self.advanced_toggle.icon = "caret-right" if folded else "caret-down"

    def mark_next_run(self, running: bool) -> None:
        """While running, the controls say that a change applies to the next run."""
        for widget in (self.prompt, self.fields, self.advanced):
            set_class(widget, "cw-next-run", running)

    def _watch(
        self,
        widget: widgets.Widget,
        name: str,
        convert: Callable[[Any], Any],
        *,
        box: widgets.Widget | None = None,
    ) -> None:
        """A person's edit of ``widget`` is ``on_change(name, convert(value))``; in a list with
        a ``box`` for any value, its "Other…" / "Custom…" entry opens the box instead (the
        value stays until one is typed there)."""

        def changed(change: Mapping[str, Any]) -> None:
            if getattr(self._mirroring, "active", False):
                return
            if box is not None:
                self._open[name] = change["new"] == OTHER
                if self._open[name]:
                    show(box, True)
                    return
            self._on_change(name, convert(change["new"]))

        widget.observe(changed, names="value")

    def show(self, values: Mapping[str, Any]) -> None:
        """Mirror ``values`` into the controls: options, visibility and values for the model."""
        self._mirroring.active = True
        try:
            self._show(values)
        finally:
            self._mirroring.active = False

    def _show(self, values: Mapping[str, Any]) -> None:
        model = values["model"]
        spec = get_model(model)
        set_value(self.prompt, values["prompt"])
        self._show_listed("model", self.model, self.model_other, model, self.model.options)
        free = spec is None or spec.free_size
        size = values["size"]
        self._show_listed(
            "size", self.size_choice, self.size_custom, size, size_options(spec, size), free=free
        )
        set_class(self.size_choice, "cw-size-free", free)
        notice = spec.notice() if spec is not None else None
        if notice is None and self.usable is not None and model and model not in self.usable:
            notice = f"{model} is not in your key's model list; CometAPI may refuse it"
        set_value(self.model_notice, f"<small>{escaped(notice)}</small>" if notice else "")
        show(self.model_notice, notice is not None)
        self._show_n(spec, values["n"])
        for name, dropdown in self.choices.items():
            allowed = allowed_values(spec, name)
            offered = ((_DEFAULT_LABEL, ""), *((_CHOICE_WORDS.get(v, v), v) for v in allowed))
            _offer(dropdown, offered, values[name] or "")
            show(dropdown, bool(allowed) or values[name] is not None)
        partials = values["partial_images"]
        _offer(self.partial_images, (("none", 0), *((str(k), k) for k in (1, 2, 3))), partials)
        show(self.partials_box, streams(model, values["output_format"]) or bool(partials))
        chosen = sum(values[name] is not None for name in ADVANCED)
        label = f"More options ({chosen} set)" if chosen else "More options"
        if self.advanced_toggle.description != label:
            self.advanced_toggle.description = label
        visible = any(w.layout.display != "none" for w in self.advanced.children)
        show(self.advanced_toggle, visible)
        if not visible:
            show(self.advanced, False)

    def set_live_models(self, models: list[ModelInfo] | None, error: Message | None = None) -> None:
        """Mark the models the key can use "✓ live" (and list the image models it adds); with
        ``error`` (the list could not be fetched) keep the catalogue's and say so in one quiet
        line, the reason behind its Details toggle."""
        if models is None:
            self.usable = None
            line = "Your key's model list could not be loaded; the catalogue's models are shown."
            facts = error.facts if error is not None else ()
            self.model_list_note.value = (
                f'<div class="cw-line">{escaped(line)}</div>{details_html(facts)}'
            )
            show(self.model_list_note, True)
            return
        self.usable = frozenset(model.id for model in models)
        show(self.model_list_note, False)
        self._mirroring.active = True  # new options reset the list's value: not a person's pick
        try:
            _set_options(self.model, model_options(self.usable))
        finally:
            self._mirroring.active = False

    def _show_listed(
        self,
        name: str,
        dropdown: widgets.Widget,
        box: widgets.Widget,
        value: str,
        options: tuple[tuple[str, str], ...],
        *,
        free: bool = True,
    ) -> None:
        """A list with a box for any value (``free``: the list takes values it does not
        offer): the box shows once opened ("Other…", "Custom…") or for an unlisted value."""
        listed = value != OTHER and value in {offered for _label, offered in options}
        if listed and value != box.value:  # a listed value set since the box was opened
            self._open[name] = False
        boxed = free and (self._open[name] or not listed)
        with dropdown.hold_sync():
            _set_options(dropdown, options)
            set_value(dropdown, OTHER if boxed else value)
        set_value(box, value)
        show(box, boxed)

    def _show_n(self, spec: ModelSpec | None, n: int) -> None:
        limit = spec.max_n if spec else 10
        # A value the model refuses (set from code) is shown as is; the message explains it.
        with self.n.hold_sync():
            # The current min is at most 1 and the new max at least 1: each step stays valid.
            self.n.max = max(limit, n)
            self.n.min = min(1, n)
            set_value(self.n, n)
        self.n.disabled = limit == 1 and n == 1
