"""``ImageGenerator``: a panel that generates images without blocking the kernel.

The panel uses core ipywidgets only (no custom JavaScript), so it renders in JupyterLab,
Notebook 7, VS Code, Voilà and Colab. Its parameters are traits linked both ways to the
controls; results come back as traits (``images``, ``history``, ``generation``, ``status``,
``error``). None of these traits is synced to the browser: the API key never is, and only
thumbnails are sent (the full image only when "Full size" is clicked).

All HTTP work runs on one private event-loop thread (``_loop``): a click only submits the work
and returns, and ``await gen.generate()`` works from any loop (top-level ``await`` included).

Stable CSS classes, for styling and browser tests:

================== =============================================================
``cw-panel``       the whole panel
``cw-prompt``      the prompt text area
``cw-model``       the model box (a combobox: the catalogue's current models and the image
                   models the key can use; unknown model names pass through)
``cw-model-notice`` one line under it: a deprecated or shut-down model's notice, or that
                   the key's model list does not have it
``cw-model-list``  quiet: the key's model list could not be fetched
``cw-size``        the size control (``cw-size-free`` too when it takes any WxH)
``cw-n``           the number of images
``cw-quality`` ``cw-style`` ``cw-response-format`` ``cw-background`` ``cw-output-format``
                   the optional choices ("default" = not sent); hidden when the model has none
``cw-generate``    the Generate button (hidden while running)
``cw-cancel``      the Cancel button (shown while running)
``cw-status``      the status line (idle / running / done / error / cancelled, retries)
``cw-elapsed``     the elapsed seconds of the running (or last) generation
``cw-validation``  why the current parameters cannot be sent (Generate is disabled)
``cw-error``       the last error, with its request id and what to do
``cw-offline-banner``  the offline-mode banner
``cw-key-notice``  how to set ``COMETAPI_KEY`` (shown when there is no key)
``cw-usage``       token usage of the shown generation
``cw-history``     the history dropdown
``cw-gallery``     the thumbnails; each in a ``cw-tile`` with ``cw-thumb`` (or
                   ``cw-image-error``), ``cw-caption``, ``cw-full-size``, ``cw-save`` and
                   ``cw-saved`` (the path written)
``cw-full-view``   the full-size view (``cw-full-image``, ``cw-full-close``)
================== =============================================================
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets as widgets
from traitlets import Enum, Instance, Int, List, TraitError, Unicode, observe

from .._catalog import ModelInfo, get_model
from .._constants import DEFAULT_MODEL, DEFAULT_N, DEFAULT_OUTPUT_DIR, DEFAULT_SIZE
from .._errors import CometError, InvalidParameterError, MissingAPIKeyError, describe
from ..images._results import Generation
from . import _loop
from ._batch_entry import BatchEntry
from ._client_source import ClientSource, offline_from_env
from ._controls import PARAMS, Controls, adapt_to_model, check, payload_of
from ._gallery import Gallery, Preview, make_previews
from ._history import HistoryView, history_label, restored_params
from ._partials import PartialPreviews, default_partials, streams
from ._pending import Job, PendingGeneration
from ._status import StatusView, status_text
from ._traits import PathText, PixelList

if TYPE_CHECKING:
    from ..client._client import AsyncImageClient

__all__ = ["STATUSES", "ImageGenerator"]

T = TypeVar("T")

STATUSES = ("idle", "running", "done", "error", "cancelled")
_CONSTRUCTOR_ARGS = ("client", "client_factory", "offline", "output_dir")
_TICK_SECONDS = 0.5
#: The image models each client's key can use, fetched once per client.
_LIVE_MODELS: weakref.WeakKeyDictionary[AsyncImageClient, list[ModelInfo]] = (
    weakref.WeakKeyDictionary()
)  # the elapsed label: twice a second is plenty for IOPub


class ImageGenerator(BatchEntry, widgets.VBox):  # type: ignore[misc]  # ipywidgets: no hints
    """A panel to generate images; the parameters are traits, the results come back as traits.

    ``client`` is an ``AsyncImageClient`` (used only on the panel's private loop: do not share
    one you also use elsewhere); ``client_factory`` builds one there instead; ``offline=True``
    (or ``COMETAPI_OFFLINE=1``) uses the built-in fake API, which draws placeholders. With none
    of them a default client reads ``COMETAPI_KEY``. Other keyword arguments set parameter
    traits; unknown ones raise ``TypeError``.
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
    partial_images = Int(
        default_partials(DEFAULT_MODEL, None),  # 2: the default model streams
        help="Partial previews per image shown while it is made (0-3; GPT image models; each"
        " adds about 100 output tokens). Switching to a model that streams sets 2, to one that"
        " does not 0.",
    )
    output_dir = PathText(DEFAULT_OUTPUT_DIR, help="Where Save writes images.")

    status = Enum(STATUSES, default_value="idle", read_only=True, help="The panel's state.")
    error = Unicode("", read_only=True, help="The last error, readable; '' when none.")
    images = PixelList(read_only=True, help="PIL images of the latest generation.")
    history: List[Generation] = List(
        read_only=True, help="Every Generation of this panel, oldest first."
    )
    generation = Instance(Generation, allow_none=True, read_only=True, help="The latest one.")

    def __init__(
        self,
        *,
        client: AsyncImageClient | None = None,
        client_factory: Callable[[], AsyncImageClient] | None = None,
        offline: bool | None = None,
        output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
        **trait_values: Any,
    ) -> None:
        unknown = sorted(set(trait_values) - set(PARAMS))
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            allowed = ", ".join((*_CONSTRUCTOR_ARGS, *PARAMS))
            raise TypeError(f"ImageGenerator() got unexpected keyword argument {names}; {allowed=}")
        explicit = client is not None or client_factory is not None
        if client is not None and client_factory is not None:
            raise TypeError("ImageGenerator(): pass client= or client_factory=, not both")
        if offline and explicit:
            raise TypeError("ImageGenerator(offline=True) uses the fake API; do not pass a client")
        offline = bool(offline) if offline is not None else (offline_from_env() and not explicit)
        self._source = ClientSource(client=client, factory=client_factory, offline=offline)
        self._job: Job | None = None
        self._partial_job: Job | None = None
        self._previews: dict[Generation, list[Preview]] = {}
        self._sheets: dict[Generation, bytes] = {}
        self._from_validation = self._adapting = self._batching = False
        super().__init__(layout=widgets.Layout(width="100%"))
        self.add_class("cw-panel")
        self.set_trait("output_dir", output_dir)

        self._controls = Controls(self._on_control)
        self._gallery = Gallery(lambda: self.output_dir)
        self._history_view = HistoryView(self._on_history)
        self._view = StatusView(offline=self._source.serves_placeholders)
        self._controls.generate.on_click(self._on_generate_click)
        self._controls.cancel.on_click(lambda _button: self.cancel())
        view = self._view
        self._actions = widgets.HBox(
            [self._controls.generate, self._controls.cancel, view.status, view.elapsed],
            layout=widgets.Layout(align_items="center", grid_gap="0.75em"),
        )
        self.children = (
            view.banner,
            view.notice,
            *self._controls.rows,
            self._actions,
            view.validation,
            view.error,
            self._history_view.dropdown,
            self._gallery.usage,
            self._gallery.box,
            self._gallery.full_view.box,
        )
        self._closed = False
        # Model first (switching it adapts the defaults), then what was asked for, unadapted:
        # a refused value is shown with the catalogue's message rather than silently changed.
        self._set_params(trait_values)
        self._view.show_notice(self._source.missing_key())
        self._refresh()
        self._fetch_models()

    # -- the key's live model list -----------------------------------------------------------
    def _fetch_models(self) -> None:
        """Fetch the key's image models once, in the background on the panel's loop (cached per
        client): construction and the kernel never wait for it; a failure is shown quietly."""
        if self._source.missing_key() is not None:
            return  # the key notice says what to do; no list can be fetched without a key

        async def fetch() -> list[ModelInfo]:
            if self._closed:
                return []
            client = self._source.get()
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

    def _on_models(self, future: concurrent.futures.Future[list[ModelInfo]]) -> None:
        if self._closed or future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self._controls.set_live_models(None, describe(error))
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

    def _on_control(self, name: str, value: Any) -> None:
        try:
            setattr(self, name, value)
        except TraitError as exc:
            self._view.show_validation(str(exc))
            self._controls.generate.disabled = True

    def _refresh(self) -> None:
        """Mirror the traits into the controls and re-validate them (every parameter change)."""
        values = self._values()
        self._controls.show(values)
        problem = check(values)
        if problem is None:
            self._view.show_validation(None)
            if self._from_validation and self.status == "error":
                self._settle("idle", "")
        elif problem.field == "prompt" and not str(values["prompt"]).strip():
            self._view.show_validation("Type a prompt, then Generate.", quiet=True)
        else:
            self._view.show_validation(describe(problem))
        self._controls.generate.disabled = problem is not None

    # -- generating ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while a generation is in flight."""
        return self._job is not None and not self._job.settled

    def generate(self) -> PendingGeneration[Generation]:
        """Start a generation with the current parameters (the same path as the button).

        Returns at once with an awaitable: ``result = await gen.generate()`` gives the
        ``Generation`` (or raises its ``CometError``; ``asyncio.CancelledError`` when cancelled).
        Raises ``InvalidParameterError`` at once, with no request sent, when a parameter is
        refused; ``MissingAPIKeyError`` when there is no key; ``RuntimeError`` while another
        generation of this panel runs. Every failure is also shown in the panel.
        """
        if self.running:
            raise RuntimeError("a generation is already running: await gen.wait() or gen.cancel()")
        notice = self._source.missing_key()  # the key may have been set since the panel was built
        self._view.show_notice(notice)
        try:
            payload = payload_of(self._values())
        except InvalidParameterError as exc:
            self._settle("error", describe(exc), from_validation=True)
            raise
        if notice is not None:
            self._settle("error", notice)
            raise MissingAPIKeyError(notice)
        job = Job(payload)
        return PendingGeneration(self._start(job, self._run(job)))

    def _start(self, job: Job, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Make ``job`` the running one and submit its work to the private loop."""
        self._job = job
        self._settle("running", "")
        future = _loop.submit(work)
        job.future = future
        future.add_done_callback(partial(self._future_done, job))
        return future

    async def wait(self) -> Generation | None:
        """Wait for the pending generation to end; its ``Generation``, or None (see ``error``)."""
        job = self._job
        if job is None or job.future is None:
            return None
        try:
            return await asyncio.shield(asyncio.wrap_future(job.future))
        except asyncio.CancelledError:
            if job.future.cancelled() or job.cancelled:
                return None
            raise
        except Exception:
            return None

    def cancel(self) -> None:
        """Cancel the running generation: status becomes "cancelled" and nothing lands.

        When it returns the panel accepts a new generation (the old one may still be winding
        down on the private loop; whatever it brings is dropped)."""
        job = self._job
        if job is not None and job.claim(cancel=True):
            self._settle("cancelled", "", job=job)
            _loop.call_soon(self._cancel_task, job)

    @staticmethod
    def _cancel_task(job: Job) -> None:
        if job.task is not None and job.task is not asyncio.current_task():
            job.task.cancel()

    def _on_generate_click(self, _button: Any) -> None:
        if self.running:
            return
        try:
            self.generate()
        except (CometError, RuntimeError):
            pass  # already shown in the panel
        except Exception as exc:  # never let a click fail silently in a log
            self._settle("error", describe(exc))

    def _future_done(self, job: Job, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():  # e.g. the cell awaiting it was interrupted
            _loop.call_soon(self._cancel_on_loop, job)

    async def _run(self, job: Job) -> Generation:
        # Runs on the private loop, like every change of a submitted job's state.
        async with self._running(job):
            client = self._source.get()
            on_partial = None
            if job.payload.get("stream"):
                on_partial = PartialPreviews(
                    partial(self._show_partial, job),
                    lambda: self._job is job and not job.settled and not job.cancelled,
                )
            generation = await client.generate_payload(
                job.payload, on_retry=partial(self._on_retry, job), on_partial=on_partial
            )
            previews, decoded = await asyncio.to_thread(make_previews, generation)
            if job.cancelled or not self._land(job, generation, previews, decoded):
                raise asyncio.CancelledError
            return generation

    @contextlib.asynccontextmanager
    async def _running(self, job: Job) -> AsyncIterator[None]:
        """Run a job's work on the private loop: the elapsed ticker, cancelling, and failures
        shown in the panel (a generation's or a batch's)."""
        if job.cancelled:
            raise asyncio.CancelledError
        job.task = asyncio.current_task()
        ticker = asyncio.ensure_future(self._tick(job))
        try:
            yield
        except asyncio.CancelledError:
            self._cancel_on_loop(job)
            raise
        except Exception as exc:
            if job.claim():
                self._settle("error", describe(exc), job=job)
            raise
        finally:
            ticker.cancel()

    async def _tick(self, job: Job) -> None:
        while not job.settled:
            self._view.show_elapsed(job.elapsed)
            await asyncio.sleep(_TICK_SECONDS)

    def _on_retry(self, job: Job, error: CometError, delay: float) -> None:
        limited = getattr(error, "status_code", None) == 429
        what = "rate limited by the API" if limited else type(error).__name__
        request_id = getattr(error, "request_id", None)
        rid = f" (request id {request_id})" if request_id else ""
        note = f"{what}; retrying in {round(delay, 1):g} s{rid}"
        job.retries.append(note)
        if not job.settled and job is self._job:
            self._view.show_status(f"running: {note}")

    def _show_partial(self, job: Job, index: int, data: bytes, fmt: str) -> None:
        self._partial_job = job
        self._gallery.show_partial(index, data, fmt)

    def _cancel_on_loop(self, job: Job) -> None:
        if not job.claim(cancel=True):
            return
        self._cancel_task(job)
        self._settle("cancelled", "", job=job)

    def _land(
        self, job: Job, generation: Generation, previews: list[Preview], decoded: list[Any]
    ) -> bool:
        """Show a finished generation; False (nothing lands) when it was cancelled meanwhile."""
        if not job.claim():
            return False
        errors = generation.errors
        error = ""
        if errors:
            failed = f"{len(errors)} of {len(generation.images)} images failed"
            error = f"{failed}: {describe(errors[0])}"
        # Every observer fires after all of these are set, so each sees a consistent panel.
        with self.hold_trait_notifications():
            self._add_generation(generation, previews, decoded)
            self._settle("done", error, job=job)
        return True

    def _add_generation(
        self, generation: Generation, previews: list[Preview], decoded: list[Any]
    ) -> None:
        """Show a finished generation: gallery, history, and the result traits."""
        self._previews[generation] = previews
        history = [*self.history, generation]
        self._gallery.show(previews, generation.usage)
        self._history_view.show([history_label(g) for g in history], len(history) - 1)
        with self.hold_trait_notifications():
            self.set_trait("history", history)
            self.set_trait("generation", generation)
            self.set_trait("images", decoded)

    def _settle(self, status: str, error: str, *, job: Job | None = None, **flags: bool) -> None:
        """Set ``status`` and ``error`` and show them (from any thread; a job's from the loop)."""
        if job is not None and job is not self._job:
            return
        self._from_validation = flags.get("from_validation", False)
        running = status == "running"
        with self.hold_trait_notifications():
            self.set_trait("status", status)
            self.set_trait("error", error)
        retries = job.retries if job is not None else []
        self._view.show_status(status_text(status, self.generation, retries))
        self._view.show_error(error)
        if running:
            self._view.show_elapsed(0.0)
        elif job is not None:  # the job's final time
            self._view.show_elapsed(job.elapsed)
        self._controls.generate.layout.display = "none" if running else ""
        self._controls.cancel.layout.display = "" if running else "none"
        if job is not None and job is self._partial_job and status in ("cancelled", "error"):
            # Partial previews of a run that did not land: back to what was shown before.
            self._partial_job = None
            shown = self.generation
            self._gallery.show(self._previews.get(shown, []) if shown else [], None)

    # -- history ---------------------------------------------------------------------------
    def _on_history(self, index: int) -> None:
        history = self.history
        if not 0 <= index < len(history):
            return
        chosen = history[index]
        self._gallery.show(self._previews.get(chosen, []), chosen.usage)
        self._set_params(restored_params(chosen, PARAMS))
        self._refresh()
        if not self.running:  # the status line speaks of what the gallery shows
            count = len(chosen.images)
            self._view.show_status(
                f"showing #{index + 1} of {len(history)}: {count} image{'' if count == 1 else 's'}"
            )

    # -- display and lifecycle -------------------------------------------------------------
    def _contact_sheet(self) -> bytes | None:
        generation = self.generation
        if generation is None or not self.images:
            return None
        if generation not in self._sheets:
            from ..images._previews import contact_sheet

            self._sheets = {generation: contact_sheet(self.images, cell=160)}
        return self._sheets[generation]

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
        count = len(self.history)
        return (
            f"<ImageGenerator model={self.model!r} status={self.status!r}"
            f" {count} generation{'' if count == 1 else 's'}>"
        )

    def close(self) -> None:
        """Cancel any running generation, close the controls and the client this panel built."""
        # Also called by Widget.__del__, possibly at interpreter exit: touch nothing that may
        # not exist, start no thread, and do the work once.
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        if _loop.is_running():
            job = self._job
            if job is not None and not job.settled:
                _loop.call_soon(self._cancel_on_loop, job)
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
        parts = [*self._controls.all, *self._gallery.all, *self._view.all]
        for widget in [*parts, self._history_view.dropdown, self._actions]:
            widget.close()
        super().close()
