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
from typing import Any

import ipywidgets as widgets

from .._catalog import CURRENT, ModelInfo, ModelSpec, build_payload, get_model, validate_size
from .._errors import InvalidParameterError
from .._types import PARAMETERS, choices
from ._dom import classed, escaped, set_class, show
from ._partials import streams

__all__ = [
    "ADVANCED",
    "LABELS",
    "OPTIONAL",
    "PARAMS",
    "PARTIALS_HINT",
    "Controls",
    "adapt_to_model",
    "allowed_values",
    "check",
    "payload_of",
]

#: What a person reads beside each optional choice (plain words, not API field names).
LABELS = {
    "response_format": "Return as",
    "quality": "Quality",
    "style": "Style",
    "background": "Background",
    "output_format": "File type",
    "moderation": "Moderation",
    "complexity": "Planning effort",
}
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


#: The sizes offered for a model the catalogue does not know: every size some model lists.
_ANY_SIZE = choices("size")


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
        wide = {"description_width": "initial"}
        self.prompt = widgets.Textarea(
            description="Prompt",
            placeholder="Describe the image: subject, setting, style, light...",
            style=wide,
            layout=widgets.Layout(width="100%"),
        )
        self.model = widgets.Combobox(
            description="Model",
            options=CURRENT,
            ensure_option=False,
            placeholder="model name",
            style=wide,
            layout=widgets.Layout(width="auto"),
        )
        self.size_choice = widgets.Dropdown(
            description="Size", style=wide, layout=widgets.Layout(width="auto")
        )
        self.size_free = widgets.Combobox(
            description="Size",
            placeholder="WIDTHxHEIGHT",
            ensure_option=False,
            style=wide,
            layout=widgets.Layout(width="auto"),
        )
        #: One line under the model control: its lifecycle, or that the key does not list it.
        self.model_notice = widgets.HTML(layout=widgets.Layout(display="none"))
        #: Quiet: why the key's live model list could not be fetched (the catalogue's is shown).
        self.model_list_note = widgets.HTML(layout=widgets.Layout(display="none"))
        #: The image models the key can use (None until the live list arrived, or if it failed).
        self.usable: frozenset[str] | None = None
        # Exactly one size control is in the panel at a time (a free-size model gets the box
        # that also takes typed sizes), so ``.cw-size`` always matches one element.
        self.size_box = classed(widgets.Box([self.size_choice]), "cw-size-box")
        self.n = widgets.BoundedIntText(
            value=1,
            min=1,
            max=10,
            description="Images",
            style=wide,
            layout=widgets.Layout(width="auto"),
        )
        self.choices = {
            name: widgets.Dropdown(
                description=LABELS[name], style=wide, layout=widgets.Layout(width="auto")
            )
            for name in OPTIONAL
        }
        self.partial_images = widgets.Dropdown(
            description="Previews",
            options=(("none", 0), ("1", 1), ("2", 2), ("3", 3)),
            value=0,
            tooltip=f"Partial previews per image while it is made. {PARTIALS_HINT}.",
            style=wide,
            layout=widgets.Layout(width="auto"),
        )
        self.partials_hint = widgets.HTML(f"<small>{PARTIALS_HINT}</small>")
        self.partials_box = classed(
            widgets.VBox([self.partial_images, self.partials_hint]), "cw-partials"
        )
        self.partial_images.add_class("cw-field")
        self.generate = widgets.Button(
            description="Generate", button_style="primary", icon="paint-brush"
        )
        self.cancel = widgets.Button(
            description="Cancel",
            button_style="warning",
            icon="stop",
            layout=widgets.Layout(display="none"),
        )
        classes: dict[str, widgets.Widget] = {
            "cw-prompt": self.prompt,
            "cw-model": self.model,
            "cw-model-notice": self.model_notice,
            "cw-model-list": self.model_list_note,
            "cw-size": self.size_choice,
            "cw-n": self.n,
            "cw-partial-images": self.partial_images,
            "cw-partials-hint": self.partials_hint,
            "cw-generate": self.generate,
            "cw-cancel": self.cancel,
        }
        classed(self.size_free, "cw-size", "cw-size-free", "cw-field")
        for name, dropdown in self.choices.items():
            classes["cw-" + name.replace("_", "-")] = dropdown
        for css, widget in classes.items():
            widget.add_class(css)
        for widget in (self.prompt, self.model, self.size_choice, self.n, *self.choices.values()):
            widget.add_class("cw-field")

        #: The model's field: the model box, then room for notices about the model (e.g. a
        #: retirement date) under it: append widgets to ``model_field.children``.
        self.model_field = classed(
            widgets.VBox([self.model, self.model_notice, self.model_list_note]), "cw-model-field"
        )
        self.fields = classed(
            widgets.Box(
                [self.model_field, self.size_box, self.n, self.choices["quality"]],
            ),
            "cw-fields",
        )
        self.advanced = classed(
            widgets.Box(
                [*(self.choices[name] for name in ADVANCED), self.partials_box],
                layout=widgets.Layout(display="none"),
            ),
            "cw-fields",
            "cw-advanced",
        )
        self.advanced_toggle = classed(
            widgets.Button(description="More options", icon="caret-right"),
            "cw-advanced-toggle",
        )
        self.advanced_toggle.on_click(lambda _button: self._toggle())
        #: The control rows, top to bottom.
        self.rows: list[widgets.Widget] = [
            self.prompt,
            self.fields,
            self.advanced_toggle,
            self.advanced,
        ]

        self._watch(self.prompt, "prompt", str)
        self._watch(self.model, "model", str)
        self._watch(self.size_choice, "size", str)
        self._watch(self.size_free, "size", str)
        self._watch(self.n, "n", int)
        self._watch(self.partial_images, "partial_images", int)
        for name, dropdown in self.choices.items():
            self._watch(dropdown, name, lambda value: value or None)

    @property
    def folded(self) -> bool:
        """Whether the advanced options are folded away."""
        return bool(self.advanced.layout.display == "none")

    def _toggle(self) -> None:
        with self._lock:
            self.fold(not self.folded)

    def fold(self, folded: bool) -> None:
        """Fold (or unfold) the advanced options."""
        show(self.advanced, not folded)
        self.advanced_toggle.icon = "caret-right" if folded else "caret-down"

    def mark_next_run(self, running: bool) -> None:
        """While running, the controls say that a change applies to the next run."""
        for widget in (self.prompt, self.fields, self.advanced):
            set_class(widget, "cw-next-run", running)

    @property
    def all(self) -> list[widgets.Widget]:
        """Every widget this object created (for closing)."""
        return [
            *self.rows,
            self.model_field,
            self.model,
            self.size_choice,
            self.size_free,
            self.size_box,
            self.model_notice,
            self.model_list_note,
            self.n,
            *self.choices.values(),
            self.partial_images,
            self.partials_hint,
            self.partials_box,
            self.generate,
            self.cancel,
        ]

    def _watch(self, widget: widgets.Widget, name: str, convert: Callable[[Any], Any]) -> None:
        def changed(change: Mapping[str, Any]) -> None:
            if getattr(self._mirroring, "active", False):
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
        spec = get_model(values["model"])
        if self.prompt.value != values["prompt"]:
            self.prompt.value = values["prompt"]
        if self.model.value != values["model"]:
            self.model.value = values["model"]
        self._show_notice(values["model"])
        self._show_size(spec, values["size"])
        self._show_n(spec, values["n"])
        for name, dropdown in self.choices.items():
            value = values[name]
            allowed = allowed_values(spec, name)
            options: tuple[tuple[str, str], ...] = (
                (_DEFAULT_LABEL, ""),
                *((_CHOICE_WORDS.get(v, v), v) for v in allowed),
            )
            if value is not None and value not in allowed:
                options += ((f"{value} (not accepted)", value),)
            with dropdown.hold_sync():
                _set_options(dropdown, options)
                if dropdown.value != (value or ""):
                    dropdown.value = value or ""
            show(dropdown, bool(allowed) or value is not None)
        partials = values["partial_images"]
        offered = (("none", 0), *((str(k), k) for k in (1, 2, 3)))
        if partials not in (0, 1, 2, 3):
            offered += ((f"{partials} (not accepted)", partials),)
        with self.partial_images.hold_sync():
            _set_options(self.partial_images, offered)
            if self.partial_images.value != partials:
                self.partial_images.value = partials
        show(self.partials_box, streams(values["model"], values["output_format"]) or bool(partials))
        chosen = sum(values[name] is not None for name in ADVANCED)
        label = f"More options ({chosen} set)" if chosen else "More options"
        if self.advanced_toggle.description != label:
            self.advanced_toggle.description = label
        visible = any(w.layout.display != "none" for w in self._advanced())
        show(self.advanced_toggle, visible)
        if not visible:
            show(self.advanced, False)

    def _advanced(self) -> list[widgets.Widget]:
        return [*(self.choices[name] for name in ADVANCED), self.partials_box]

    def set_live_models(self, models: list[ModelInfo] | None, error: str | None = None) -> None:
        """Offer the catalogue's current models plus the image models the key can use; with
        ``error`` (the list could not be fetched) keep the catalogue's and say so quietly."""
        if models is None:
            self.usable = None
            self.model_list_note.value = (
                f"<small>Your key's model list is unavailable ({escaped(error or '?')});"
                " showing the catalogue's current models.</small>"
            )
            show(self.model_list_note, True)
            return
        self.usable = frozenset(model.id for model in models)
        show(self.model_list_note, False)
        extra = sorted(self.usable - set(CURRENT))
        _set_options(self.model, (*CURRENT, *extra))

    def model_notice_text(self, model: str) -> str | None:
        """The line under the model control for ``model``, or None."""
        spec = get_model(model)
        notice = spec.notice() if spec is not None else None
        if notice is None and self.usable is not None and model and model not in self.usable:
            notice = f"{model} is not in your key's model list; CometAPI may refuse it"
        return notice

    def _show_notice(self, model: str) -> None:
        notice = self.model_notice_text(model)
        text = f"<small>{escaped(notice)}</small>" if notice else ""
        if self.model_notice.value != text:
            self.model_notice.value = text
        show(self.model_notice, notice is not None)

    def _show_size(self, spec: ModelSpec | None, size: str) -> None:
        free = spec is None or spec.free_size
        sizes = _ANY_SIZE if spec is None else spec.sizes
        if free:
            with self.size_free.hold_sync():
                _set_options(self.size_free, sizes)
                if self.size_free.value != size:
                    self.size_free.value = size
            active = self.size_free
        else:
            options = sizes if size in sizes else (*sizes, size)
            with self.size_choice.hold_sync():
                _set_options(self.size_choice, options)
                if self.size_choice.value != size:
                    self.size_choice.value = size
            active = self.size_choice
        if tuple(self.size_box.children) != (active,):
            self.size_box.children = (active,)

    def _show_n(self, spec: ModelSpec | None, n: int) -> None:
        limit = spec.max_n if spec else 10
        # A value the model refuses (set from code) is shown as is; the message explains it.
        with self.n.hold_sync():
            # The current min is at most 1 and the new max at least 1: each step stays valid.
            self.n.max = max(limit, n)
            self.n.min = min(1, n)
            if self.n.value != n:
                self.n.value = n
        self.n.disabled = limit == 1 and n == 1
