"""``FakeAPI``: an offline fake of CometAPI's image API as a plain ASGI 3 application.

It speaks the exact wire protocol as the official SDK reads it (OpenAI's ``ImagesResponse``,
stream events and error bodies; CometAPI's error bodies on request), validates requests with
the same catalogue as the client, draws deterministic placeholder images and serves url-mode
images itself. Knobs inject every fault the client must survive. No Jupyter imports here: the
fake powers tests, notebooks and demos alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import itertools
import json
import os
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from .._catalog import MODELS, PARAMETERS, build_payload, get_model
from .._cost import input_image_tokens
from .._errors import InvalidParameterError
from ..images._formats import sniff
from ._asgi import (
    HTML_TYPE,
    ErrorStyle,
    Receive,
    RecordedRequest,
    Refusal,
    Request,
    Responder,
    Scope,
    Send,
    Watcher,
    check_method,
    lifespan,
    read_body,
)
from ._bodies import ImageBodies
from ._edits import EDITS_PATH, derive, parse_form, validate_edit
from ._faults import (
    ITEM_KINDS,
    MALFORM_KINDS,
    STREAM_BREAK_KINDS,
    Failure,
    Fault,
    Malformed,
    MalformKind,
    StreamBreak,
    StreamBreakKind,
    StreamRefusal,
    UrlPlan,
    check_choice,
    check_indexes,
    check_whole,
    default_message,
    deliver,
    send_huge,
    send_malformed_document,
)
from ._files import FILES_PREFIX, FileStore
from ._names import REQUEST_ID_PREFIX
from ._streams import EDIT_EVENTS, GENERATION_EVENTS, send_stream

__all__ = ["SERVE_RETIRED_ENV", "FakeAPI"]

GENERATIONS_PATH = "/v1/images/generations"
MODELS_PATH = "/v1/models"

_KNOWN = (frozenset(PARAMETERS) - {"extra_body"}) | {"prompt"}
#: Set to 1 to make every FakeAPI built without ``serve_retired=`` serve shut-down models.
SERVE_RETIRED_ENV = "COMET_FAKE_SERVE_RETIRED"
_MODELS_CREATED = 1_764_547_200  # 2025-12-01: any fixed time keeps the list deterministic
_TEXT_MODELS = ("gpt-5.1", "gpt-4o-mini", "text-embedding-3-small")
#: The parameters ``silent_changes`` can change.
_CHANGEABLE = ("size", "output_format", "quality", "background", "prompt")


class FakeAPI:
    """The fake API, an ASGI 3 app: ``POST /v1/images/generations``, ``POST /v1/images/edits``,
    ``GET /v1/models``, ``GET /v1/models/{id}`` and ``GET /files/<token>.<ext>`` (url-mode
    images).

    ``api_key=None`` accepts any non-empty ``Bearer`` key; a string accepts only that key.

    Knobs are attributes and methods, safe to change while a server thread is serving:

    - ``latency`` (s): every authenticated, valid generation waits this long before answering
      (injected faults included). It ends early if the client hangs up.
    - ``seconds_per_image`` (s): each image a generation or edit makes takes this long, after
      ``latency``, like a real model (a stream spreads it over each image's events).
    - ``download_latency`` (s): every ``/files`` download waits this long.
    - ``request_id_in_header``: send ``x-request-id`` on every response (True), or put the id
      only inside error messages, as CometAPI does (False).
    - ``error_style``: "openai" (the default) words error bodies as OpenAI does (``type`` by
      status, ``code`` and ``param`` on every refusal of a parameter, ``invalid_api_key`` on a
      401, ``null`` for no value); "comet" as CometAPI does (``type`` ``comet_api_error``,
      ``""`` for no value, the request id inside the message).
    - ``image_bytes``: when set, every image is exactly these bytes (benchmarks pass a large PNG).
    - ``url_extension``: the extension url-mode URLs claim (e.g. "webp", as CometAPI's CDN does)
      whatever the bytes are; None uses the real one.
    - ``trickle_seconds`` / ``trickle_chunks``: how "trickle" answers are paced (the body in
      ``trickle_chunks`` pieces, ``trickle_seconds`` of pauses in total).
    - ``huge_body_bytes`` / ``huge_body_declare_length``: the size of "huge_body" answers and
      whether their ``content-length`` is declared (else chunked).
    - ``fail_next``, ``malform_next`` and ``break_stream_next`` queue faults (one first-in,
      first-out queue); ``fault_rates`` adds random 429s and 503s when it is empty;
      ``expire_urls``, ``slow_urls``, ``redirect_loop_urls`` and ``non_http_urls`` break some
      image URLs of the next url-mode answer. Each method says what it does.
    - ``stream_interval`` (s): a streamed answer (``stream: true``) waits this long before each
      of its events (every partial image, then the completed event), after ``latency``.
    - ``stream_relay``: False answers streaming requests with plain JSON, like a gateway that
      does not relay streams.
    - ``stream_refusal``: "comet" or "openai" refuses every streaming request at once with a
      400 about ``stream`` in that service's shape (its request log ``fault``: "refuse:stream";
      it takes no queued fault), like a gateway that does not stream the model; None streams.
    - ``serve_retired``: False (the default; ``COMET_FAKE_SERVE_RETIRED=1`` makes it True, also
      in a CLI or kernel a test starts) is today's CometAPI: a model the catalogue lists as shut
      down answers the gateway's 503 "no available channel" and is missing from ``/v1/models``.
    - ``extra_models``: more model ids ``/v1/models`` lists (a gateway's own, e.g. "flux-pro");
      generations with them are answered like any unknown model.
    - ``silent_changes``: what a gateway that changes parameters without a word makes instead
      of what was asked (``{"size": "1024x1024"}``; also ``output_format``, ``quality``,
      ``background``, ``prompt``): made and reported as if asked (``prompt`` becomes each JSON
      item's ``revised_prompt``).
    - ``reset()``: restore the constructor's knobs, clear plans, counters, log and stored files.

    Queued faults are consumed only by authenticated, valid generation requests, in arrival order.

    Counters: ``requests`` (a list of ``RecordedRequest``), ``generation_count`` (generation
    requests received), ``success_count`` (generations answered 200, malformed 200s included),
    ``download_count`` (``/files`` requests), ``in_flight`` and ``max_in_flight`` (generations
    being handled at once), ``stream_times`` (``time.perf_counter()`` when each streamed event
    was handed to the server, for benchmarks).

    GPT image answers carry ``background``, ``output_format``, ``quality`` and ``size`` as OpenAI
    reports them ("auto" resolved to what was made; a free size too, as the SDK types it) and a
    ``usage`` block. dall-e-3 items carry ``revised_prompt``. Unknown models behave like
    dall-e-2.
    """

    latency: float
    download_latency: float
    request_id_in_header: bool
    error_style: ErrorStyle
    image_bytes: bytes | None
    url_extension: str | None
    trickle_seconds: float
    trickle_chunks: int
    huge_body_bytes: int
    huge_body_declare_length: bool
    seconds_per_image: float
    stream_interval: float
    stream_relay: bool
    stream_refusal: StreamRefusal | None
    serve_retired: bool
    extra_models: tuple[str, ...]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        seconds_per_image: float = 0.0,
        download_latency: float = 0.0,
        request_id_in_header: bool = True,
        error_style: ErrorStyle = "openai",
        image_bytes: bytes | None = None,
        url_extension: str | None = None,
        trickle_seconds: float = 1.0,
        trickle_chunks: int = 10,
        huge_body_bytes: int = 300 * 1024 * 1024,
        huge_body_declare_length: bool = True,
        stream_interval: float = 0.0,
        stream_relay: bool = True,
        stream_refusal: StreamRefusal | None = None,
        serve_retired: bool | None = None,
        extra_models: tuple[str, ...] = (),
        silent_changes: Mapping[str, str] | None = None,
        max_files: int = 1024,
    ) -> None:
        if serve_retired is None:
            serve_retired = os.environ.get(SERVE_RETIRED_ENV, "") not in ("", "0")
        given = locals()
        self.api_key = api_key
        # The knobs reset() restores: the annotated attributes above, and silent_changes.
        self._defaults: dict[str, Any] = {name: given[name] for name in FakeAPI.__annotations__}
        self._defaults["extra_models"] = tuple(extra_models)
        self._defaults["silent_changes"] = dict(silent_changes or {})
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # Appends and pops of a deque are thread-safe; only the serving thread pops.
        self._queue: deque[Fault] = deque()
        self._files = FileStore(max_files)
        self._bodies = ImageBodies(self._files)
        self.requests: list[RecordedRequest] = []
        self.stream_times: list[float] = []
        self.in_flight = 0
        self.reset()  # sets the knobs and the other counters

    # -- knobs -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Restore the constructor's knobs; clear fault plans, counters, the log and files."""
        for name, value in self._defaults.items():
            setattr(self, name, value)
        self._queue.clear()
        self.fault_rates(0.0, 0.0)
        self._files.clear()
        with self._lock:
            self.requests.clear()
            self.stream_times.clear()
            self.generation_count = self.success_count = self.edit_count = 0
            self.max_in_flight = self.in_flight

    @property
    def silent_changes(self) -> dict[str, str]:
        """What every generation makes instead of what was asked (see the class docstring)."""
        return dict(self._silent_changes)

    @silent_changes.setter
    def silent_changes(self, changes: Mapping[str, str]) -> None:
        unknown = sorted(set(changes) - set(_CHANGEABLE))
        if unknown:
            raise InvalidParameterError(
                "silent_changes",
                unknown,
                f"choose from {', '.join(_CHANGEABLE)}",
                reason=f"cannot change {unknown}",
            )
        self._silent_changes = dict(changes)

    @property
    def download_count(self) -> int:
        """How many ``/files`` downloads were requested."""
        return self._files.download_count

    @property
    def pending_faults(self) -> int:
        """How many queued faults (fail_next, malform_next) are still to be served."""
        return len(self._queue)

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        message: str | None = None,
        code: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        content_type: str = HTML_TYPE,
    ) -> None:
        """Answer the next ``count`` generations with ``status``.

        The body is an error (in ``error_style``) with ``message`` (a default per status; 503's is
        "no available channel for model ...") and ``code``, unless ``body`` is given:
        then it is sent verbatim as ``content_type`` (an HTML page by default). ``headers`` are
        added, e.g. ``{"Retry-After": "1"}`` or ``{"retry-after-ms": "200"}``.
        """
        check_whole("count", count, 1)
        if not 400 <= status <= 599:
            raise InvalidParameterError(
                "status",
                status,
                "an error status, from 400 to 599",
                reason=f"status must be an error status (400-599), got {status!r}",
            )
        raw = body.encode() if isinstance(body, str) else body
        extra = tuple((headers or {}).items())
        self._queue.extend([Failure(status, message, code, extra, raw, content_type)] * count)

    def malform_next(
        self, kind: MalformKind, count: int = 1, *, indexes: Iterable[int] | None = None
    ) -> None:
        """Answer the next ``count`` generations broken in the way ``kind`` names.

        Kinds: "invalid_json", "html_200", "html_301", "empty_data", "no_image_fields",
        "bad_base64", "not_an_image", "truncated_png", "bomb" (a PNG header declaring
        100000x100000 pixels), "reset_mid_body" (half the declared body, then the connection
        closes), "close_after_headers", "trickle" and "huge_body" (see the class docstring).
        In url mode "not_an_image", "truncated_png" and "bomb" serve those bytes at the URLs.
        ``indexes`` (0-based) breaks only those images of the answer, for the kinds that break
        images ("bad_base64", "not_an_image", "truncated_png", "bomb", "no_image_fields").
        """
        check_choice("kind", kind, MALFORM_KINDS)
        check_whole("count", count, 1)
        if indexes is not None and kind not in ITEM_KINDS:
            raise InvalidParameterError(
                "kind",
                kind,
                "or pass no indexes",
                reason=f"indexes work only with {', '.join(sorted(ITEM_KINDS))}",
            )
        only = None if indexes is None else check_indexes(indexes)
        self._queue.extend([Malformed(kind, only)] * count)

    def break_stream_next(
        self,
        kind: StreamBreakKind,
        *,
        after: int = 1,
        count: int = 1,
        message: str | None = None,
        code: str = "",
        event: str | None = None,
    ) -> None:
        """Break the next ``count`` streamed answers after ``after`` good events.

        "cut" closes the connection; "end_early" ends the stream without its completed event;
        "error" sends an ``error`` event (``message``, ``code``, in ``error_style``) and ends;
        "invalid_json" sends an event whose data is cut-off JSON; "bad_event" a partial event
        without ``b64_json``. It shares the queue of ``fail_next``; a generation that does not
        stream consumes it without effect. ``event`` names the broken event (its ``event:``
        line; by default "error", or the stream's partial type).
        """
        check_choice("kind", kind, STREAM_BREAK_KINDS)
        check_whole("after", after, 0)
        check_whole("count", count, 1)
        self._queue.extend([StreamBreak(kind, after, message, code, event)] * count)

    def fault_rates(
        self, rate_429: float = 0.1, rate_503: float = 0.05, *, seed: int | None = None
    ) -> None:
        """Answer generations at random with 429 (``Retry-After: 0``) or a plain 503.

        Repeatable with ``seed``; ``fault_rates(0, 0)`` turns it off. Queued faults go first.
        """
        rates = {"rate_429": rate_429, "rate_503": rate_503}
        for name, rate in {**rates, "rate_429 + rate_503": rate_429 + rate_503}.items():
            if not 0.0 <= rate <= 1.0:
                reason = f"{name} must be between 0 and 1, got {rate!r}"
                raise InvalidParameterError(name, rate, "from 0 to 1", reason=reason)
        # Replaced whole, so the serving thread reads a consistent triple without a lock.
        self._rates = (rate_429, rate_503, random.Random(seed))

    def _random_fault(self) -> Failure | None:
        rate_429, rate_503, rng = self._rates
        roll = rng.random()
        if roll < rate_429:
            retry = (("Retry-After", "0"),)
            return Failure(429, "rate limit exceeded", headers=retry, source="random")
        if roll < rate_429 + rate_503:
            return Failure(503, "service unavailable, please try again later", source="random")
        return None

    def expire_urls(self, indexes: Iterable[int]) -> None:
        """The images at ``indexes`` of the next url-mode answer get URLs that answer 404."""
        self._files.plan(indexes, UrlPlan("expired"))

    def slow_urls(self, indexes: Iterable[int], seconds: float) -> None:
        """The images at ``indexes`` of the next url-mode answer download ``seconds`` late."""
        self._files.plan(indexes, UrlPlan("slow", seconds=seconds))

    def redirect_loop_urls(self, indexes: Iterable[int]) -> None:
        """The images at ``indexes`` of the next url-mode answer redirect to themselves."""
        self._files.plan(indexes, UrlPlan("redirect_loop"))

    def non_http_urls(
        self, indexes: Iterable[int], url: str = "ftp://example.invalid/image.png"
    ) -> None:
        """The images at ``indexes`` of the next url-mode answer get ``url`` (e.g. file:///...)."""
        self._files.plan(indexes, UrlPlan("non_http", url=url))

    # -- ASGI --------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await lifespan(receive, send)
            return
        if kind != "http":
            return  # a websocket that is not accepted is refused (403) by the server
        body = await read_body(receive)
        if body is None:
            return
        request = Request.from_scope(scope, body)
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            request_id=f"{REQUEST_ID_PREFIX}{next(self._ids)}-{secrets.token_hex(4)}",
            started=time.monotonic(),
        )
        self.requests.append(record)
        responder = Responder(
            send, record.request_id, id_header=self.request_id_in_header, style=self.error_style
        )
        watcher = Watcher(receive)
        try:
            await self._route(request, record, responder, watcher)
        except Refusal as refusal:
            await responder.error(**dataclasses.asdict(refusal))
        except InvalidParameterError as exc:  # a request refused by the catalogue's rules
            await responder.error(400, str(exc), code=_code_of(exc), param=exc.field)
        finally:
            record.status = responder.status
            record.finished = time.monotonic()
            await watcher.aclose()

    async def _route(
        self, request: Request, record: RecordedRequest, responder: Responder, watcher: Watcher
    ) -> None:
        path = request.path
        if path in (GENERATIONS_PATH, EDITS_PATH):
            check_method(request, "POST")
            edit = path == EDITS_PATH
            with self._lock:
                if edit:
                    self.edit_count += 1
                else:
                    self.generation_count += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await self._generate(request, record, responder, watcher, edit=edit)
            finally:
                with self._lock:
                    self.in_flight -= 1
                    if responder.status == 200:
                        self.success_count += 1
        elif path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
            check_method(request, "GET")
            self._authorize(request, record)
            await self._models(path[len(MODELS_PATH) + 1 :], responder)
        elif path.startswith(FILES_PREFIX):
            check_method(request, "GET", "HEAD")
            await self._files.serve(request, responder, watcher, latency=self.download_latency)
        else:
            raise Refusal(404, f"Invalid URL ({request.method} {path})")

    async def _models(self, name: str, responder: Responder) -> None:
        """``GET /v1/models`` (``name`` empty: the list) or ``GET /v1/models/{name}``: one
        model, or 404 ``model_not_found``."""
        items = self.model_list()
        document: Any = {"object": "list", "data": items}
        if name:
            document = next((item for item in items if item["id"] == name), None)
            if document is None:
                message = f"The model '{name}' does not exist or you do not have access to it."
                raise Refusal(404, message, code="model_not_found")
        await responder.respond(200, json.dumps(document).encode())

    def model_list(self) -> list[dict[str, Any]]:
        """The items ``GET /v1/models`` answers: OpenAI's ``Model`` objects (``id``, ``object``,
        ``created``, ``owned_by``, ``shutdown_date`` when announced) for the image models this
        fake routes, and a few text models, as a gateway's list holds them too."""
        items = []
        for number, (name, spec) in enumerate(MODELS.items()):
            if not spec.usable and not self.serve_retired:
                continue
            item: dict[str, Any] = {
                "id": name,
                "object": "model",
                "created": _MODELS_CREATED - number * 86_400,
                "owned_by": "alibaba" if spec.family == "qwen" else "openai",
            }
            if spec.shutdown:
                item["shutdown_date"] = spec.shutdown
            items.append(item)
        for name in (*self.extra_models, *_TEXT_MODELS):
            items.append(
                {"id": name, "object": "model", "created": _MODELS_CREATED, "owned_by": "openai"}
            )
        return items

    def _authorize(self, request: Request, record: RecordedRequest) -> None:
        """Refuse a missing or wrong key with a 401 (whose message never echoes the key)."""
        value = request.headers.get("authorization")
        record.auth_present = value is not None
        scheme, _, token = (value or "").strip().partition(" ")
        token = token.strip()
        problem = "invalid API key"
        if not value:
            problem = "missing API key: send the header 'Authorization: Bearer <your key>'"
        elif scheme.lower() != "bearer" or not token:
            problem = "malformed Authorization header: expected 'Bearer <your key>'"
        elif self.api_key is None or hmac.compare_digest(token.encode(), self.api_key.encode()):
            record.auth_ok = True
            return
        raise Refusal(401, problem, code="invalid_api_key")

    # -- generations -------------------------------------------------------------------------
    async def _generate(
        self,
        request: Request,
        record: RecordedRequest,
        responder: Responder,
        watcher: Watcher,
        *,
        edit: bool,
    ) -> None:
        self._authorize(request, record)
        inputs: list[bytes] = []
        mask: bytes | None = None
        if edit:
            parts, files = parse_form(request.body, request.headers.get("content-type", ""))
            record.form = parts
            document, inputs, mask = validate_edit(parts, files)
        else:
            try:
                document = json.loads(request.body)
            except ValueError:
                message = "the request body is not valid JSON"
                raise Refusal(400, message, code="invalid_json") from None
        record.json = document
        if not isinstance(document, dict):
            raise Refusal(400, "the request body must be a JSON object", code="invalid_json")
        if document.get("model") in (None, ""):
            # CometAPI's gateway needs the model to route: it answers before any provider.
            message = "model name is required"
            raise Refusal(400, message, code="missing_required_parameter", param="model")
        # Checked like the real service does, by the client's own catalogue rules; unknown
        # fields pass through as provider-specific ones, as to a gateway.
        known = {key: value for key, value in document.items() if key in _KNOWN}
        rest = {key: value for key, value in document.items() if key not in _KNOWN}
        payload = build_payload(known.pop("prompt", None), **known, extra_body=rest or None)
        model = str(payload["model"])
        spec = get_model(model)
        if spec is not None and not spec.usable and not self.serve_retired:
            message = default_message(503, model)
            raise Refusal(503, message, code="model_not_found", param="model")
        if payload.get("stream") and self.stream_refusal is not None:
            # A gateway that does not stream the model refuses at once, in CometAPI's words
            # (only in the message; param and code empty) or OpenAI's (param "stream").
            record.fault = "refuse:stream"
            responder.style = self.stream_refusal
            if self.stream_refusal == "comet":
                raise Refusal(400, "stream is not supported for this model")
            message = "Streaming is not supported for this model."
            raise Refusal(400, message, param="stream", code="unsupported_value")
        changes = self.silent_changes
        revised = changes.pop("prompt", None)
        payload.update(changes)  # made (and reported) as if asked: the request log keeps the ask
        image_bytes = self.image_bytes
        if edit and image_bytes is None:
            size = changes.get("size", document.get("size"))
            try:
                # Decoding and compositing megapixels takes milliseconds: keep the loop serving.
                image_bytes = await asyncio.to_thread(derive, payload, inputs[0], mask, size)
            except OSError as exc:  # an input Pillow cannot decode although its header is fine
                message = f"image could not be decoded ({exc})"
                raise Refusal(400, message, code="invalid_image", param="image") from None
            if size in (None, "", "auto"):
                made = sniff(image_bytes)
                payload["size"] = f"{made.width}x{made.height}"
        # An edit's inputs are billed as image input tokens (the rule the estimate uses).
        sizes = [sniff(data) for data in inputs]
        image_input = sum(input_image_tokens(info.width, info.height) for info in sizes)
        fault = self._queue.popleft() if self._queue else self._random_fault()
        record.fault = fault.label if fault is not None else None
        if self.latency > 0 and not await watcher.sleep(self.latency):
            return  # the client hung up: nobody to answer
        if isinstance(fault, Failure):
            if fault.body is None:
                message = fault.message or default_message(fault.status, model)
                raise Refusal(fault.status, message, code=fault.code, headers=fault.headers)
            await responder.respond(  # the body verbatim (an HTML page by default)
                fault.status, fault.body, content_type=fault.content_type, headers=fault.headers
            )
        elif payload.get("stream") and self.stream_relay and not isinstance(fault, Malformed):
            kinds = EDIT_EVENTS if edit else GENERATION_EVENTS
            events = await self._bodies.build_stream(
                payload, image_bytes=image_bytes, image_input=image_input, kinds=kinds
            )
            per_event = self.seconds_per_image / (int(payload.get("partial_images") or 0) + 1)
            await send_stream(
                responder,
                watcher,
                events,
                interval=self.stream_interval + per_event,
                brk=fault,
                sent_at=self.stream_times,
                kinds=kinds,
            )
        else:
            wait = self.seconds_per_image * int(payload["n"])
            if wait > 0 and not await watcher.sleep(wait):
                return
            await self._answer(
                request,
                payload,
                fault,
                responder,
                watcher,
                image_bytes=image_bytes,
                revised=revised,
                image_input=image_input,
            )

    async def _answer(
        self,
        request: Request,
        payload: dict[str, Any],
        fault: Malformed | StreamBreak | None,
        responder: Responder,
        watcher: Watcher,
        *,
        image_bytes: bytes | None,
        revised: str | None,
        image_input: int,
    ) -> None:
        """A JSON answer: whole, or broken as a ``Malformed`` fault asks."""
        kind, only = (fault.kind, fault.indexes) if isinstance(fault, Malformed) else (None, None)
        created = int(time.time())
        if kind == "huge_body":
            await send_huge(
                responder,
                watcher,
                created=created,
                total=self.huge_body_bytes,
                declare_length=self.huge_body_declare_length,
            )
            return
        location = f"{request.base}{GENERATIONS_PATH}/"
        n = int(payload["n"])
        if (
            kind is not None
            and only is None
            and await send_malformed_document(
                responder, kind, created=created, n=n, location=location
            )
        ):
            return
        body = await self._bodies.build(
            payload,
            kind,
            only=only,
            created=created,
            base=request.base,
            image_bytes=image_bytes,
            url_extension=self.url_extension,
            revised=revised,
            image_input=image_input,
        )
        await deliver(
            responder,
            watcher,
            body,
            kind,
            trickle_seconds=self.trickle_seconds,
            trickle_chunks=self.trickle_chunks,
        )


def _code_of(refusal: InvalidParameterError) -> str:
    """OpenAI's ``code`` for a refused parameter: missing, not taken by the model, or a bad
    value (unknown ones pass through, as to a gateway)."""
    if refusal.value is None:
        return "missing_required_parameter"
    return "unsupported_parameter" if refusal.allowed.startswith("leave") else "invalid_value"
