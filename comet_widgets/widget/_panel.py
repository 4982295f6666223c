"""``ImageGenerator``: a panel that generates images without blocking the kernel.

The panel uses core ipywidgets (no custom JavaScript), so it renders in JupyterLab, Notebook 7,
VS Code, Voilà and Colab; the one exception is edit mode's mask painter (``MaskPainter``, on
anywidget, the ``painter`` extra), and without it the panel still edits with ``gen.mask`` set
from code. Its parameters are traits linked both ways to the
controls; results come back as traits (``images``, ``history``, ``generation``, ``status``,
``error``). None of these traits is synced to the browser: the API key never is, and only
thumbnails are sent (the full image only when "Full size" is clicked).

All HTTP work runs on one private event-loop thread (``_loop``): a click only submits the work
and returns, and ``await gen.generate()`` works from any loop (top-level ``await`` included).

Stable CSS classes, for styling and browser tests (``cw-*``):

======================== =======================================================
``cw-panel``             the whole panel (a card; also a unique ``cw-id-...``)
``cw-header``            ``cw-title`` and ``cw-badge`` (``cw-offline``, ``cw-online`` or
                         ``cw-local``); ``cw-offline-banner`` under it in offline mode
``cw-key-notice``        how to set ``COMETAPI_KEY``, in words (shown when there is no key)
``cw-body``              two columns (one below 900 px of panel): ``cw-controls-column`` and
                         ``cw-results-column`` (``cw-edit-area``, then ``cw-results-views``:
                         the switch ``cw-view-switch`` and each view's ``cw-view`` box; the
                         first, ``cw-view-results``, holds ``cw-results``: ``cw-status-row``,
                         the messages, the gallery and the usage)
``cw-prompt``            the prompt field
``cw-fields``            the row of fields; each field is also ``cw-field``
``cw-model``             the Model list ("✓ live": the key can use it); "Other…" reveals
                         ``cw-model-other`` (any model id). In ``cw-model-field`` with
                         ``cw-model-notice`` (a deprecated, shut-down or unlisted model) and
                         ``cw-model-list`` (the key's model list could not be fetched)
``cw-size``              the Size list; ``cw-size-free`` when "Custom…" reveals
                         ``cw-size-custom``, a WxH box
``cw-n``                 "Images"; ``cw-quality``: "Quality" (hidden when the model has none)
``cw-advanced-toggle``   "More options": unfolds ``cw-advanced`` with ``cw-style``,
                         ``cw-background``, ``cw-output-format``, ``cw-response-format``,
                         ``cw-complexity``, ``cw-moderation`` and ``cw-partials``
                         (``cw-partial-images``, "Previews", with ``cw-partials-hint``)
``cw-next-run``          on the fields while running (``cw-next-note`` says changes apply to
                         the next run)
``cw-generate``          Generate ("Apply edit" in edit mode; hidden while running), with
                         ``cw-estimate`` (what the click will likely cost) and ``cw-cancel``
``cw-status``            the status line; ``cw-elapsed``: the run's elapsed seconds
``cw-message``           a message box: ``cw-validation`` (a refused parameter), ``cw-error``
                         (the last error), ``cw-stream-notice`` (quiet: previews are off for a
                         model this gateway does not stream). One line, ``cw-line``
                         (``cw-what`` and ``cw-todo``), then the facts (``cw-rid``: the request
                         id) behind the "Details" toggle ``cw-details`` (a failed tile's too)
``cw-gallery``           the grid of ``cw-tile`` (state: ``cw-tile-pending``, ``cw-tile-partial``,
                         ``cw-tile-image`` or ``cw-tile-failed``): ``cw-frame`` with
                         ``cw-thumb``, ``cw-placeholder`` or ``cw-image-error``; ``cw-caption``
                         (``cw-mismatch``: "asked 1536x1024, got 1024x1024"),
                         ``cw-tile-actions`` (``cw-full-size`` "View", ``cw-save``), ``cw-saved``
``cw-usage``             the shown run's cost and tokens, and the session's total
``cw-history``           the strip of ``cw-history-item`` cards, newest first
                         (``cw-history-pick`` takes the click, ``cw-selected`` marks one;
                         ``cw-history-note`` on an edit's: "Edit of image 2 from '...'")
``cw-lightbox``          the full-size overlay: ``cw-lightbox-image``, ``cw-lightbox-count``,
                         ``cw-lightbox-caption``, ``cw-lightbox-prev``, ``cw-lightbox-next``,
                         ``cw-lightbox-save``, ``cw-lightbox-download``, ``cw-lightbox-edit``,
                         ``cw-lightbox-saved``, ``cw-lightbox-close``; ``cw-bridge`` (the
                         ``painter`` extra) gives it keys
``cw-select``            a tile's Select box (a selected tile is ``cw-tile-selected``) and the
                         row ``cw-selection``: ``cw-selection-count``, ``cw-select-all``,
                         ``cw-select-none``, ``cw-save-selected``, ``cw-download-selected``
                         (one ZIP), ``cw-selection-saved`` (with a ``cw-download-link``)
``cw-edit``              a tile's Edit button: the image becomes the input (edit mode)
``cw-upload``            "Upload to edit" / "Add images" (png, jpeg, webp)
``cw-edit-bar``          edit mode's bar above the prompt: ``cw-edit-title``,
                         ``cw-back-to-generate``
``cw-edit-area``         edit mode's box: the strip ``cw-inputs`` of ``cw-input`` cards
                         (``cw-input-thumb``, ``cw-input-label``, ``cw-input-remove``;
                         ``cw-input-pending`` until its thumbnail is made) and ``cw-mask-area``:
                         ``cw-mask-painter``, ``cw-painter-notice`` (painting cannot work here)
                         and ``cw-mask-note`` (what the mask covers)
``cw-library-notice``    quiet: the library could not record the last run, and why
``cw-library``           the Library view (``cw-view-library``; none with ``library=False``):
                         ``cw-library-where``; ``cw-library-filters`` with
                         ``cw-library-search``, ``cw-library-model``, ``cw-library-since``,
                         ``cw-library-until``, ``cw-library-starred``,
                         ``cw-library-collection``; ``cw-library-error``,
                         ``cw-library-empty``; ``cw-library-grid`` of ``cw-library-item``
                         cards (``cw-library-thumb``, ``cw-library-caption``,
                         ``cw-library-pick``, ``cw-selected``); ``cw-library-pager``
                         (``cw-library-prev``, ``cw-library-page``, ``cw-library-next``);
                         ``cw-library-detail``: ``cw-library-info``, ``cw-library-actions``
                         (``cw-library-view``, ``cw-library-restore``, ``cw-library-edit``,
                         ``cw-library-star``, ``cw-library-collection-name``,
                         ``cw-library-add``, ``cw-library-delete``), ``cw-library-confirm``
                         (``cw-library-confirm-text``, ``cw-library-confirm-delete``,
                         ``cw-library-keep``), ``cw-library-said``
``cw-compare``           the Compare view (its classes are listed in ``_compare_view.py``)
``cw-static``            not in the panel: its static view, an output under it
                         (``_static.py``; hidden where the live panel is on the page)
======================== =======================================================
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Enum, Float, Instance, Int, List, TraitError, Unicode, observe, validate

from .._catalog import ModelInfo, get_model
from .._constants import (
    DEFAULT_EDIT_N,
    DEFAULT_MODEL,
    DEFAULT_N,
    DEFAULT_OUTPUT_DIR,
    DEFAULT_SIZE,
)
from .._cost import estimate_cost
from .._errors import (
    CometError,
    InvalidCallError,
    InvalidParameterError,
    LibraryError,
    MissingAPIKeyError,
    StateError,
    describe,
    offline_from_env,
)
from ..images._results import GeneratedImage, Generation
from . import _loop
from ._batch_view import batch_job, prompts_of, run_batch
from ._client_source import ClientSource
from ._compare_view import COMPARE, COMPARE_CSS, CompareView
from ._controls import PARAMS, Controls, adapt_to_model, check, payload_of
from ._dom import classed, dispose, escaped, made, set_value, show
from ._edit_mode import EditMode, edit_options, input_size
from ._gallery import Gallery, Preview
from ._header import Header
from ._history import HistoryStrip, Run, restored_params
from ._inputs import EditArea, InputList
from ._library_view import LIBRARY_CSS, LibraryView, entry_params, entry_preview
from ._partials import streams
from ._pending import Job, PendingGeneration
from ._recording import Recorder, library_of
from ._run import SHEET_CELL, RunController, locked
from ._static import StaticView
from ._status import StatusView, panel_message, plural
from ._style import style_widget
from ._traits import PathText, PixelList
from ._views import RESULTS, ViewSlot
from ._words import Message, field_label

if TYPE_CHECKING:
    from ..batch._results import BatchResults
    from ..client._client import AsyncImageClient
    from ..library._library import Library, LibraryEntry

__all__ = ["MODES", "STATUSES", "ImageGenerator"]

STATUSES = ("idle", "running", "done", "error", "cancelled")
MODES = ("generate", "edit")
_PROMPT_WORDS = {
    "generate": ("Prompt", "Describe the image: subject, setting, style, light..."),
    "edit": ("What to change", "Say what to change: make the sky stormy, add a red scarf..."),
}
_CONSTRUCTOR_ARGS = ("client", "client_factory", "offline", "output_dir", "library")
#: The image models each client's key can use, fetched once per client.
_LIVE_MODELS: weakref.WeakKeyDictionary[AsyncImageClient, list[ModelInfo]] = (
    weakref.WeakKeyDictionary()
)


class ImageGenerator(widgets.VBox):  # type: ignore[misc]  # ipywidgets: no hints
    """A panel to generate images; the parameters are traits, the results come back as traits.

    ``client_factory`` builds the panel's ``AsyncImageClient`` on the panel's private loop
    (``client=`` is refused: a client you also await in cells cannot live on two loops);
    ``offline=True`` (or ``COMETAPI_OFFLINE=1``) uses the built-in fake API, which draws
    placeholders. With neither, a default client reads ``COMETAPI_KEY``. Other keyword
    arguments set parameter traits; unknown ones raise ``TypeError``.

    Edit mode: Edit on a tile (or ``gen.inputs = [...]``, or an upload) makes the panel edit
    those images with ``client.edit``; ``gen.mask`` is where (painted, or set from code), and
    ``await gen.edit()`` (or ``gen.generate()`` in edit mode) returns the ``Generation``.
    Entering edit mode sets ``n`` to ``DEFAULT_EDIT_N`` (1) and keeps the prompt and ``n`` of
    generate mode aside; leaving it ("Back to generating", or ``gen.inputs = []``) brings them
    back. Edit on a tile (or an upload) also empties the prompt field for what to change; a
    switch of mode clears the other mode's error box.

    Library: every run that lands (generations, edits with their inputs, batches) is recorded
    into ``library``, a ``Library`` or a folder path; by default the ``COMET_WIDGETS_LIBRARY``
    folder, else the user's data folder (``Library()``); ``library=False`` records nothing.
    Recording runs in a thread of the panel's own after the run has landed, and a library that
    cannot be written never loses the run: the panel says so in one quiet line.

    Selection: tick tiles' Select boxes (Shift+click for a range); ``gen.selected`` (read-only)
    is the list of the selected ``GeneratedImage`` objects, "Save selected" writes them with
    their metadata and "Download selected" gives one ZIP with a ``metadata.jsonl``.
    """

    prompt = Unicode("", help="The text describing the image.")
    model = Unicode(DEFAULT_MODEL, help="The model name (unknown names are sent as they are).")
    size = Unicode(DEFAULT_SIZE, help="WIDTHxHEIGHT, or 'auto' for GPT image models.")
    n = Int(DEFAULT_N, help="How many images (at most the model's max_n).")
    response_format = Unicode(None, allow_none=True, help="'url' or 'b64_json'; None: not sent.")
    quality = Unicode(None, allow_none=True, help="A quality the model accepts; None: not sent.")
    style = Unicode(None, allow_none=True, help="'vivid' or 'natural' (dall-e-3); None: not sent.")
    background = Unicode(None, allow_none=True, help="GPT image models; None: not sent.")
    output_format = Unicode(None, allow_none=True, help="GPT image models; None: not sent.")
    moderation = Unicode(
        None, allow_none=True, help="'auto' or 'low' (GPT image models); None: not sent."
    )
    complexity = Unicode(
        None,
        allow_none=True,
        help="Planning effort, independent of quality: 'low', 'medium' or 'high' (GPT image"
        " models); None: not sent.",
    )
    partial_images = Int(
        0,
        help="Partial previews per image shown while it is made (0-3; GPT image models). Off"
        " by default: each costs about 100 output image tokens. Switching to a model that"
        " cannot stream sets 0. On a gateway that does not stream the model the images still"
        " land, without previews, and the panel says so once.",
    )
    output_dir = PathText(DEFAULT_OUTPUT_DIR, help="Where Save writes images.")

    inputs = InputList(
        help="The images an edit changes (PIL images, arrays, bytes, paths, GeneratedImages);"
        " non-empty: edit mode. The first is the one the mask applies to.",
    )
    mode = Enum(
        MODES,
        default_value="generate",
        read_only=True,
        help="'edit' while there are inputs (Generate then applies the edit), else 'generate'.",
    )
    status = Enum(STATUSES, default_value="idle", read_only=True, help="The panel's state.")
    error = Unicode("", read_only=True, help="The last error, readable; '' when none.")
    images = PixelList(read_only=True, help="PIL images of the latest generation.")
    history: List[Generation] = List(
        read_only=True, help="Every Generation of this panel, oldest first."
    )
    generation = Instance(Generation, allow_none=True, read_only=True, help="The latest one.")
    _lock: Any = contextlib.nullcontext()  # before __init__ makes the panel's RLock
    spent_usd = Float(
        0.0,
        read_only=True,
        help="What this panel's runs cost so far, in USD (batches included): each answer's"
        " usage times the model's price, or its estimate when the answer carries no usage."
        " Models without a known price add nothing (the usage line says so).",
    )

    def __init__(
        self,
        *,
        client: AsyncImageClient | None = None,
        client_factory: Callable[[], AsyncImageClient] | None = None,
        offline: bool | None = None,
        output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
        library: Library | str | os.PathLike[str] | bool | None = None,
        **trait_values: Any,
    ) -> None:
        unknown = sorted(set(trait_values) - set(PARAMS))
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            allowed = ", ".join((*_CONSTRUCTOR_ARGS, *PARAMS))
            raise InvalidCallError(
                f"ImageGenerator() got unexpected keyword argument {names}; {allowed=}"
            )
        explicit = client is not None or client_factory is not None
        if offline and explicit:
            raise InvalidCallError(
                "ImageGenerator(offline=True) uses the fake API; do not pass a client"
            )
        if client is not None:
            raise InvalidParameterError(
                "client",
                client,
                "pass client_factory=lambda: AsyncImageClient(...) and the panel builds its own"
                " there (await a separate client in cells), or neither to use COMETAPI_KEY",
                reason="a client given to the panel would run on the panel's own event loop,"
                " and awaiting it in a cell would then fail ('bound to a different event loop')",
            )
        offline = bool(offline) if offline is not None else (offline_from_env() and not explicit)
        recording = library_of(library)  # refuses a wrong kind before anything is built
        self._lock = threading.RLock()
        self._recorder = Recorder(recording, self._on_recorded, after=self._lock)
        self._source = ClientSource(factory=client_factory, offline=offline)
        self._sheets: dict[Generation, bytes] = {}
        self._adapting = self._batching = False
        self._given_views: list[widgets.Widget] = []
        #: Generate mode's prompt and image count while in edit mode (restored on leaving it).
        self._generating: dict[str, Any] = {}
        super().__init__(layout=widgets.Layout(width="100%"))
        panel_id = f"cw-id-{uuid.uuid4().hex[:12]}"
        self.add_class("cw-panel")
        self.add_class(panel_id)
        self.set_trait("output_dir", output_dir)

        self._controls = Controls(self._on_control, lock=self._lock)
        self._gallery = Gallery(
            lambda: self.output_dir, on_edit=self._on_edit_image, lock=self._lock
        )
        self._edit = EditArea(
            on_remove=self._remove_input,
            on_back=self._back_to_generating,
            on_upload=self._on_upload,
            on_painted=lambda: self._editing.painted(),
        )
        self._editing = EditMode(self._edit, self._lock, self._refresh)
        self._history_view = HistoryStrip(self._on_history)
        self._view = StatusView()
        self._header = Header(offline=self._source.serves_placeholders)
        self._static = StaticView(panel_id)
        self._estimate = classed(made(widgets.HTML), "cw-estimate")
        self._runner = RunController(
            self,
            self._source,
            self._controls,
            self._gallery,
            self._view,
            self._history_view,
            self._header,
            self._static,
            self._lock,
        )
        self._runner.on_run = self._record
        self._library_notice = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")),
            "cw-library-notice",
            "cw-message",
            "cw-quiet",
        )
        self._library_view: LibraryView | None = None
        if self._recorder.library is not None:  # library=False: nothing recorded to browse
            self._library_view = LibraryView(
                self._recorder.library,
                self._lock,
                self._gallery.lightbox,
                on_restore=self._restore_entry,
                on_edit=self._edit_entry,
            )
        controls, view, gallery = self._controls, self._view, self._gallery
        controls.generate.on_click(self._on_generate_click)
        controls.cancel.on_click(lambda _button: self.cancel())
        # Two columns from 900 px of panel (a container query in _style.py), one below:
        # the controls (in edit mode: what to change, then Apply edit, near the top), and the
        # results: edit mode's inputs and painter, then the views ("Results" and those added
        # with add_view), the history strip under both.
        actions = [controls.generate, self._estimate, controls.cancel, self._edit.upload]
        actions_row = classed(made(widgets.HBox, [*actions, view.next_note]), "cw-actions-row")
        status_row = classed(made(widgets.HBox, [view.status, view.elapsed]), "cw-status-row")
        results = [status_row, view.error, view.stream_notice, self._library_notice]
        results += [gallery.selection.box, gallery.box, gallery.usage]
        self._views = ViewSlot(classed(made(widgets.VBox, results), "cw-results"), self._lock)
        if self._library_view is not None:
            self._views.add(
                "Library",
                self._library_view.box,
                tooltip=f"Every run of this panel, kept in {self._library_view.library.path}",
                on_show=self._library_view.open,
            )
        self._compare = CompareView(
            self._runner,
            self._lock,
            gallery.lightbox,
            values=self._values,
            check_key=self._check_key,
            on_use=self._use_settings,
        )
        self._views.add(
            COMPARE,
            self._compare.box,
            tooltip="Compare models, qualities, sizes or two prompts on one labelled grid",
            on_show=self._compare.refresh,
        )
        controls_column = [self._edit.bar, *controls.rows, actions_row, view.validation]
        columns = [
            classed(made(widgets.VBox, controls_column), "cw-controls-column"),
            classed(made(widgets.VBox, [self._edit.box, self._views.box]), "cw-results-column"),
        ]
        body = classed(made(widgets.Box, columns), "cw-body")
        # The container its columns follow (see _style.py) holds everything but the lightbox:
        # a query container contains its fixed descendants, and the lightbox must cover the
        # notebook's view, not the panel.
        main = [self._header.box, self._header.banner, view.notice, body, self._history_view.box]
        main_box = classed(made(widgets.VBox, main), "cw-main")
        self.children = (style_widget(LIBRARY_CSS, COMPARE_CSS), main_box, gallery.lightbox.box)
        self._closed = False
        # Model first (switching it adapts the defaults), then what was asked for, unadapted:
        # a refused value is shown with the catalogue's message rather than silently changed.
        self._set_params(trait_values)
        self._view.show_notice(self._source.missing_key())
        self._refresh()
        self._fetch_models()

    @locked  # every write, a cell's included, holds the panel's lock
    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)

    # -- the key's live model list -----------------------------------------------------------
    def _fetch_models(self) -> None:
        """Fetch the key's image models once, in the background on the panel's loop (cached per
        client): construction and the kernel never wait for it; a failure is shown quietly."""
        if self._source.missing_key() is not None:
            return  # the key notice says what to do; no list can be fetched without a key

        async def fetch() -> list[ModelInfo]:
            if self._closed:
                return []
            client = self._runner.client()
            try:
                cached = _LIVE_MODELS.get(client)
                if cached is None:
                    cached = await client.list_models(image_only=True)
                    _LIVE_MODELS[client] = cached
                return cached
            finally:
                if self._closed:  # closed meanwhile, maybe before this client existed
                    await self._source.aclose()

        future = _loop.submit(fetch())
        future.add_done_callback(self._on_models)

    @locked
    def _on_models(self, future: concurrent.futures.Future[list[ModelInfo]]) -> None:
        if self._closed or future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self._controls.set_live_models(None, panel_message(error))
        else:
            self._controls.set_live_models(future.result())
        self._controls.show(self._values())

    # -- parameters ------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PARAMS}

    def _set_params(self, values: dict[str, Any]) -> None:
        self._batching = True
        try:
            for name in PARAMS:
                if name in values:
                    setattr(self, name, values[name])
        finally:
            self._batching = False

    @observe(*PARAMS)
    def _on_param(self, change: Any) -> None:
        if (
            change["name"] == "output_format"
            and self.partial_images
            and not streams(self.model, change["new"])
        ):
            self.partial_images = 0  # gif and svg results cannot stream
        if change["name"] == "model" and not self._adapting:
            self._adapting = True
            try:
                for name, value in adapt_to_model(get_model(change["new"]), self._values()).items():
                    setattr(self, name, value)
            finally:
                self._adapting = False
        if not (self._adapting or self._batching) and hasattr(self, "_controls"):
            self._refresh()

    @locked
    def _on_control(self, name: str, value: Any) -> None:
        try:
            setattr(self, name, value)
        except TraitError as exc:
            label = field_label(name)
            self._view.show_validation(
                Message(f"{label} cannot take that value.", f"Change {label}.", (str(exc),))
            )
            self._controls.generate.disabled = True

    def _refresh(self) -> None:
        """Mirror the traits into the controls and re-validate them (every parameter change)."""
        values = self._values()
        self._controls.show(values)
        self._show_mode()
        problem = self._editing.problem(values) if self.mode == "edit" else check(values)
        if problem is None:
            self._view.show_validation(None)
            if self._runner.from_validation and self.status == "error":
                self._runner.settle("idle", "")
        elif problem.field == "prompt" and not str(values["prompt"]).strip():
            hint = (
                "Say what to change, then click Apply edit."
                if self.mode == "edit"
                else "Type a prompt, then click Generate."
            )
            self._view.show_validation(hint, quiet=True)
        else:
            self._view.show_validation(self._refusal(problem))
        self._controls.generate.disabled = problem is not None
        self._show_estimate(values)
        if getattr(self, "_views", None) is not None and self._views.current == COMPARE:
            self._compare.refresh()  # its cells and estimate follow the panel's parameters

    def _show_estimate(self, values: Mapping[str, Any]) -> None:
        """What the next click will likely cost, beside Generate (pure arithmetic: cheap enough
        for every keystroke); nothing while a value is refused (the validation box says why).
        Priced with the client's ``prices`` once the panel has its client (a
        ``client_factory``'s is built on first use), ``PRICES`` until then."""
        client = self._source.client
        prices = client.prices if client is not None else None
        prompt = str(values["prompt"])
        try:
            if self.mode == "edit":
                sources = [item.source for item in self._editing.items]
                cost = estimate_cost(
                    prompt=prompt, image=sources, prices=prices, **edit_options(values)
                )
            else:
                options = {k: v for k, v in values.items() if k != "prompt"}
                cost = estimate_cost(prompt=prompt, prices=prices, **options)
        except CometError:
            set_value(self._estimate, "")
            return
        why = (
            f"no known price for {values['model']}: AsyncImageClient(prices=...) can give one"
            if cost.usd is None
            else "what this click will likely cost: an estimate from the model's token prices"
            " that errs high"
        )
        set_value(self._estimate, f'<span title="{escaped(why)}">{escaped(str(cost))}</span>')

    def _refusal(self, problem: InvalidParameterError) -> Message:
        """The validation box's message, in the words of the mode's button."""
        message = panel_message(problem)
        return message.button("Apply edit") if self.mode == "edit" else message

    def _refused(self, problem: InvalidParameterError) -> InvalidParameterError:
        """A run refused before anything was sent: the validation box says why (the status
        and error say it too, with no second box); ``problem`` is then raised."""
        self._runner.settle("error", describe(problem), from_validation=True)
        self._view.show_validation(self._refusal(problem))
        return problem

    # -- generating ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while a generation is in flight."""
        return self._runner.running

    @locked
    def generate(self) -> PendingGeneration[Generation]:
        """Start a generation with the current parameters (the same path as the button).

        Returns at once with an awaitable: ``result = await gen.generate()`` gives the
        ``Generation`` (or raises its ``CometError``; ``asyncio.CancelledError`` when cancelled).
        Raises ``InvalidParameterError`` at once, with no request sent, when a parameter is
        refused; ``MissingAPIKeyError`` when there is no key; ``RuntimeError`` while another
        generation of this panel runs. Every failure is also shown in the panel (once).
        In edit mode (``gen.inputs`` set) it runs ``edit()``, as the button does.
        """
        if self.mode == "edit":
            return self.edit()
        if self.running:
            raise StateError("a generation is already running: await gen.wait() or gen.cancel()")
        self._check_key()
        try:
            payload = payload_of(self._values())
        except InvalidParameterError as exc:
            raise self._refused(exc) from None
        count = int(payload.get("n", 1))
        job = Job(payload, what=f"Generating {plural(count, 'image')}", slots=count)

        def request(client: AsyncImageClient, on_partial: Any, on_retry: Any) -> Any:
            return client.generate_payload(payload, on_retry=on_retry, on_partial=on_partial)

        work = self._runner.call(job, request, previews=bool(payload.get("stream")))
        self._views.show(RESULTS)
        return PendingGeneration(self._runner.start(job, work))

    # -- edit mode -------------------------------------------------------------------------
    @locked
    def edit(self) -> PendingGeneration[Generation]:
        """Edit ``inputs`` as the prompt says (only where ``mask`` marks, when set), with the
        panel's parameters; the same path as "Apply edit" (and as ``generate()`` in edit mode).

        Sends ``client.edit(prompt, image=inputs, mask=mask, model, n, size, quality,
        background, output_format, response_format, partial_images)``. Returns at once with an
        awaitable of the ``Generation``; its images land in the gallery and the history (whose
        card says which image was edited). Raises ``InvalidParameterError`` at once, with no
        request sent, without inputs or when the catalogue's edit rules refuse the model, the
        inputs or the mask (also shown in the panel); ``RuntimeError`` while the panel is busy.
        """
        if self.running:
            raise StateError("a generation is already running: await gen.wait() or gen.cancel()")
        items = list(self._editing.items)
        if not items:
            raise InvalidParameterError(
                "inputs",
                [],
                "click Edit on an image, upload one, or set gen.inputs",
                reason="there is no image to edit",
            )
        self._check_key()
        values = self._values()
        problem = self._editing.problem(values)
        if problem is not None:
            raise self._refused(problem)
        mask = self.mask
        options = edit_options(values)
        what = self._editing.titles("Editing")[0]
        job = Job({"edit": True, **options}, what=what, slots=int(values["n"]))
        edit_of = self._editing.titles("Edit of")
        sources = [item.source for item in items]
        image = sources if len(sources) > 1 else sources[0]
        prompt = str(values["prompt"])

        def request(client: AsyncImageClient, on_partial: Any, on_retry: Any) -> Any:
            return client.edit(
                prompt, image=image, mask=mask, on_partial=on_partial, on_retry=on_retry, **options
            )

        edit = Run([], [], edit_of=edit_of[0], edit_title=edit_of[1], inputs=items, mask=mask)
        previews = bool(options.get("partial_images"))
        work = self._runner.call(job, request, previews=previews, edit=edit)
        self._views.show(RESULTS)
        return PendingGeneration(self._runner.start(job, work))

    @validate("inputs")
    def _check_inputs(self, proposal: Any) -> Any:
        return self._editing.check(proposal["value"])

    @observe("inputs")
    def _on_inputs(self, change: Any) -> None:
        first = self._editing.take(change["new"])
        size = input_size(self.model, first) if first is not None else None
        if size is not None:
            self.size = size
        mode = "edit" if change["new"] else "generate"
        if mode != self.mode:
            self._switch_mode(mode)
        self._refresh()

    def _switch_mode(self, mode: str) -> None:
        """Entering edit mode keeps the generation's prompt and image count aside and sets the
        count to ``DEFAULT_EDIT_N``; leaving it brings both back. Either way an error box of
        the other mode goes (its advice was for the other button)."""
        if mode == "edit":
            self._generating = {"prompt": self.prompt, "n": self.n}
            self.set_trait("mode", mode)
            self._set_params({"n": DEFAULT_EDIT_N})
        else:
            self.set_trait("mode", mode)
            self._set_params(self._generating)
            self._generating = {}
        if self.status == "error" and not self.running:
            self._runner.settle("idle", "")
        self._view.show_error(None)

    @property
    def mask(self) -> Any:
        """Where the edit may change the first input: a boolean array of its full size (True =
        change here), or None (the whole image may change).

        The painted mask, or the one set from code (an array or image meaning "change here",
        as ``client.edit`` takes it: a boolean or 0-1 array, a uint8 array or image > 127, or
        an image whose fully transparent pixels mark the area). Setting it draws it in the
        painter; painting afterwards replaces it. Cleared when the first input changes.
        Raises ``InvalidParameterError`` without inputs, for an empty mask, or for a mask
        whose size is not the first input's.
        """
        return self._editing.mask

    @mask.setter
    def mask(self, value: Any) -> None:
        self._editing.set_mask(value)

    def _show_mode(self) -> None:
        editing = self.mode == "edit"
        label, placeholder = _PROMPT_WORDS[self.mode]
        prompt = self._controls.prompt
        if prompt.description != label:
            prompt.description = label
            prompt.placeholder = placeholder
        button = self._controls.generate
        wanted = ("Apply edit", "pencil") if editing else ("Generate", "paint-brush")
        if (button.description, button.icon) != wanted:
            button.description, button.icon = wanted

    def _on_edit_image(self, preview: Preview) -> None:
        """Edit on a tile or in the lightbox: that image becomes the input (edit mode), and
        the prompt field, empty, waits for what to change."""
        if preview.image.ok:
            self._take_inputs([preview.image])

    def _take_inputs(self, inputs: list[Any]) -> None:
        """``inputs`` become the inputs; entering edit mode empties the prompt field, which
        then waits for what to change."""
        entering = self.mode == "generate"
        self.inputs = inputs
        if entering:
            self.prompt = ""

    @locked
    def _remove_input(self, index: int) -> None:
        if 0 <= index < len(self.inputs):
            self.inputs = [v for i, v in enumerate(self.inputs) if i != index]

    @locked
    def _back_to_generating(self) -> None:
        self.inputs = []

    @locked
    def _on_upload(self, files: list[tuple[str, bytes]]) -> None:
        added: list[Any] = []
        for name, data in files:
            self._editing.upload_names[id(data)] = name
            added.append(data)
        try:
            self._take_inputs([*self.inputs, *added])
        except CometError as exc:  # a file that is not an image: said where the click was
            for data in added:
                self._editing.upload_names.pop(id(data), None)
            self._view.show_error(panel_message(exc))

    def _check_key(self) -> None:
        notice = self._source.missing_key()  # the key may have been set since the panel was built
        self._view.show_notice(notice)
        if notice is not None:
            self._runner.settle("error", notice, shown=True)  # the notice box says it
            raise MissingAPIKeyError(notice)

    async def wait(self) -> Generation | None:
        """Wait for the pending generation to end; its ``Generation``, or None (see ``error``)."""
        return await self._runner.wait()

    def cancel(self) -> None:
        """Cancel the running generation: status becomes "cancelled" and nothing lands.

        When it returns the panel accepts a new generation (the old one may still be winding
        down on the private loop; whatever it brings is dropped)."""
        self._runner.cancel()

    def _on_generate_click(self, _button: Any) -> None:
        if self.running:
            return
        try:
            self.generate()
        except (CometError, RuntimeError):
            pass  # already shown in the panel
        except Exception as exc:  # never let a click fail silently in a log
            self._runner.settle("error", describe(exc), message=panel_message(exc))

    # -- batches ---------------------------------------------------------------------------
    @locked
    def generate_many(
        self,
        prompts: str | Iterable[str | Mapping[str, Any]],
        **options: Any,
    ) -> PendingGeneration[BatchResults]:
        """Generate a batch with the panel's current parameters as defaults.

        ``prompts`` is a list of prompts (or dicts of per-item parameters, as for
        ``comet_widgets.generate_many``) or a text with one prompt per line. ``options`` are
        ``generate_many``'s keyword arguments (``concurrency``, ``requests_per_minute``,
        ``output_dir``, ``resume``, parameters...). Returns at once with an awaitable of the
        ``BatchResults``. The gallery shows a placeholder for every image of the batch, in
        input order, and each finished item's images land in their place as they arrive (and
        in ``history``); the history strip gets the whole batch as one entry. Invalid items
        refuse the whole batch before anything is sent (shown in the panel, raised by the
        awaitable). Raises ``RuntimeError`` while the panel is busy.

        In edit mode (``gen.inputs`` set) every prompt is an edit of the current inputs, with
        the current ``mask`` (each item a ``{"prompt", "image", "mask"}`` edit item; a dict
        that carries its own ``image`` keeps it): the edit rules are checked first, as for
        ``edit()``, and the results land as a batch, in input order.
        """
        if self.running:
            raise StateError("a generation is already running: await gen.wait() or gen.cancel()")
        items = prompts_of(prompts)
        self._check_key()
        if not items:
            raise InvalidParameterError(
                "prompts",
                prompts,
                "give at least one non-empty prompt (a list, or a text with one per line)",
                reason="generate_many() got no prompt",
            )
        values = self._values()
        editing = self.mode == "edit"
        if editing:
            items = self._edit_items(items, values)
            values = edit_options(values)  # what edit() sends; the batch sends them as given
        defaults = {k: v for k, v in values.items() if k != "prompt" and v is not None}
        defaults.update(options)
        job, counts = batch_job(items, int(defaults.get("n", 1)), editing)
        edit_of = self._editing.titles("Edits of") if editing else ("", "")
        work = run_batch(self._runner, job, items, counts, defaults, edit_of)
        self._views.show(RESULTS)
        return PendingGeneration(self._runner.start(job, work))

    def _edit_items(
        self, items: list[str | Mapping[str, Any]], values: Mapping[str, Any]
    ) -> list[str | Mapping[str, Any]]:
        """Edit mode's batch: each prompt an edit item of the current inputs and mask, after
        the checks ``edit()`` makes (raised, and shown, before anything is sent)."""
        # The prompts are the items' (checked with them); the panel's own may be empty.
        problem = self._editing.problem({**values, "prompt": "each item's prompt"})
        if problem is not None:
            raise self._refused(problem)
        sources = [item.source for item in self._editing.items]
        image: Any = sources if len(sources) > 1 else sources[0]
        mask = self.mask
        edits: list[str | Mapping[str, Any]] = []
        for item in items:
            fields = dict(item) if isinstance(item, Mapping) else {"prompt": item}
            if "image" not in fields:
                fields["image"] = image
                if mask is not None:
                    fields.setdefault("mask", mask)
            edits.append(fields)
        return edits

    @locked
    def _use_settings(self, params: Mapping[str, Any]) -> None:
        """A comparison cell's "Use these settings": its prompt and parameters into the panel."""
        self._set_params({name: value for name, value in params.items() if name in PARAMS})
        self._refresh()

    # -- history ---------------------------------------------------------------------------
    @locked
    def _on_history(self, index: int) -> None:
        if self.running:
            return  # the gallery shows the running job; the strip stays as it is
        chosen = self._runner.runs[index]
        self._runner.show_run(chosen)
        self._views.show(RESULTS)
        self._history_view.select(index)
        if not chosen.batch:
            # An edit brings back its inputs (with their names) and mask; a generation goes
            # back to generating.
            for item in chosen.inputs:
                self._editing.cache[id(item.source)] = item
            self.inputs = [item.source for item in chosen.inputs]
            if chosen.mask is not None:
                self.mask = chosen.mask
        self._set_params(restored_params(chosen.generations[0], PARAMS))
        self._refresh()
        count = plural(len(chosen.previews), "image")
        self._view.show_status(f"Showing run {index + 1} of {len(self._runner.runs)}: {count}")
        self._view.show_elapsed(None)
        self._view.show_error(None)

    # -- the library ---------------------------------------------------------------------------
    @property
    def library(self) -> Library | None:
        """The ``Library`` this panel records every run into (None: ``library=False``)."""
        return self._recorder.library

    def wait_recorded(self, timeout: float | None = 30.0) -> bool:
        """Block until every run that has landed is in the library (or failed to be: the
        panel's quiet line says why); False when ``timeout`` seconds passed first. Recording
        happens in the panel's own thread just after a run lands; call this before reading
        the library from code right after ``await gen.generate()``."""
        return self._recorder.wait(timeout)

    def _record(self, run: Run) -> None:
        """A run landed (under the lock): hand it to the recording thread, at once."""
        batch = f"panel batch {time.strftime('%Y-%m-%d %H:%M:%S')}" if run.batch else None
        self._recorder.record(run, batch=batch)

    def _on_recorded(self, entries: list[LibraryEntry], problem: BaseException | None) -> None:
        """In the recording thread: say quietly when the library could not record a run; an
        open Library view shows the new entries."""
        with self._lock:
            if self._closed:
                return
            if problem is not None:  # the line in words, the library's own reason in Details
                said = panel_message(problem)
                line = "The library could not record this run; it is here all the same."
                set_value(self._library_notice, replace(said, what=line, todo="").html())
            show(self._library_notice, problem is not None)
        if entries and self._library_view is not None and self.view == "Library":
            self._library_view.recorded()  # reads the library outside the lock

    @locked
    def _restore_entry(self, entry: LibraryEntry) -> None:
        """Restore on a library entry: its prompt and parameters back into the controls; an
        edit's inputs and mask too (from the library's copies), a generation's clear them."""
        inputs: list[Any] = []
        mask: Any = None
        if entry.input_hashes:
            files = entry.inputs
            if not all(path.is_file() for path in files):
                raise LibraryError(
                    f"the inputs of library entry {entry.id} were deleted: restore its"
                    " parameters by hand, or Edit its image",
                    path=files[0].parent,
                )
            if "mask" in entry.params:
                from PIL import Image

                *files, mask_path = files
                with Image.open(mask_path) as opened:
                    mask = opened.copy()
            for number, path in enumerate(files, 1):
                data = path.read_bytes()
                self._editing.upload_names[id(data)] = f"input {number} of library #{entry.id}"
                inputs.append(data)
        self.inputs = inputs
        if mask is not None:
            self.mask = mask
        self._set_params(entry_params(entry, PARAMS))
        self._refresh()
        self._view.show_status(f"Restored library #{entry.id}: {entry.prompt[:60]}")

    @locked
    def _edit_entry(self, entry: LibraryEntry) -> None:
        """Edit on a library entry: its image becomes the edit input (edit mode), as Edit on
        a tile does."""
        self._on_edit_image(entry_preview(entry))

    # -- views beside the gallery ----------------------------------------------------------
    @locked
    def add_view(
        self,
        title: str,
        view: widgets.Widget,
        *,
        tooltip: str = "",
        on_show: Callable[[], None] | None = None,
    ) -> None:
        """Add ``view`` to the results column, beside "Results" (the gallery, its status and
        usage): a switch above the column ("Results | Library | ...") then shows one at a
        time. Its box has the classes ``cw-view`` and ``cw-view-<title in lower case, words
        joined by '-'>``. ``on_show()`` is called (holding the panel's lock) each time the
        view is shown; a run, or a click on a history card, shows "Results" again.

        Raises ``TypeError`` when ``view`` is not a widget, ``ValueError`` for an empty or
        taken title.
        """
        self._views.add(title, view, tooltip=tooltip, on_show=on_show)
        self._given_views.append(view)

    @locked
    def show_view(self, title: str) -> None:
        """Show the view ``title`` ("Results" or one added with ``add_view``); ``ValueError``
        when there is none of that title."""
        self._views.show(title)

    @property
    def view(self) -> str:
        """The title of the view shown in the results column ("Results" at first)."""
        return self._views.current

    # -- selection ---------------------------------------------------------------------------
    @property
    def selected(self) -> list[GeneratedImage]:
        """The images selected in the gallery (each tile's Select box; Shift+click selects a
        range), in the gallery's order; read-only, ``[]`` when none. Each is a
        ``GeneratedImage``: ``.image`` is its PIL image, ``.save()`` writes it with its
        metadata. A new run (or a history pick) shows other images and clears it."""
        with self._lock:
            return [preview.image for preview in self._gallery.selected()]

    # -- display and lifecycle -------------------------------------------------------------
    def _contact_sheet(self) -> bytes | None:
        generation = self.generation
        if generation is None or not self.images:
            return None
        if generation not in self._sheets:
            from ..images._previews import contact_sheet

            self._sheets = {generation: contact_sheet(self.images, cell=SHEET_CELL)}
        return self._sheets[generation]

    def _ipython_display_(self) -> None:
        """Display the live panel, then its static view (updated after every run)."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]
        self._static.display()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, plus a PNG contact sheet and text for static renderers."""
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        bundle["text/plain"] = repr(self)
        sheet = self._contact_sheet()
        if sheet is not None:
            bundle["image/png"] = sheet
        return bundle

    def __repr__(self) -> str:
        count = plural(len(self.history), "generation")
        return f"<ImageGenerator model={self.model!r} status={self.status!r} {count}>"

    def close(self) -> None:
        """Cancel any running generation, close the controls and the client this panel built."""
        # Also called by Widget.__del__, possibly at interpreter exit: touch nothing that may
        # not exist, start no thread, and do the work once.
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = self._editing.closed = True
        if _loop.is_running():
            job = self._runner.job
            if job is not None and not job.settled:
                _loop.call_soon(self._runner.cancel, job)
            if self._source.client is not None:
                closing = self._source.aclose()
                try:
                    done = _loop.submit(closing)
                except RuntimeError:  # shutting down: nothing left to close with
                    closing.close()
                else:
                    if not _loop.in_loop_thread():
                        # Its pool's sockets are closed in a moment: wait that moment, so no
                        # connection (the model list's, at least) outlives the panel.
                        with contextlib.suppress(Exception):
                            done.result(timeout=1)
        self._recorder.close()
        # Every widget of the panel's tree, and those of its parts not in it now (tiles and
        # cards kept for reuse, a view not built or not shown): each closed once.
        parts = [*self.children, *self._edit.cards, *self._gallery.all]
        parts += self._library_view.all if self._library_view else []
        dispose(*parts, keep=self._given_views)  # add_view's: the caller's to close
        self.layout.close()  # its own (``dispose`` would take the ``style`` trait for a style)
        super().close()
