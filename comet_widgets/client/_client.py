"""``AsyncImageClient``: the one module that does HTTP.

It knows nothing about Jupyter. One ``httpx.AsyncClient`` per ``AsyncImageClient``, built on
first use (building one costs ~48 ms: it loads the CA bundle), reused for every request and
download. The key only ever travels in the ``Authorization`` header of API requests: never to
image URLs, never into a repr, a log record or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import json
import logging
import os
import ssl
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._catalog import (
    NO_STREAM_FORMATS,
    ModelInfo,
    Price,
    build_edit_payload,
    build_payload,
    rules_for,
    warn_lifecycle,
)
from .._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    CONNECT_TIMEOUT,
    DEFAULT_BASE_URL,
    DEFAULT_EDIT_MODEL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MODEL,
    DEFAULT_PARTIAL_IMAGES,
    DOWNLOAD_READ_TIMEOUT,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_REDIRECTS,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_WAIT,
    OFFLOAD_DECODE_BYTES,
    POOL_TIMEOUT,
    READ_TIMEOUT,
    USER_AGENT,
    WRITE_TIMEOUT,
)
from .._cost import merged_prices
from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    CometError,
    ImageDownloadError,
    InvalidParameterError,
    ModelUnavailableError,
    RateLimitError,
    ResponseError,
    key_from_env,
    missing_key,
    scrub,
)
from .._types import EditParams, ImageInput, ImageParams, Unpack, signed
from ..images._formats import NotAnImage, sniff
from ..images._results import GeneratedImage, Generation, PartialImage
from ._boundary import (
    Answer,
    BodyTooLarge,
    DeadlinePassed,
    StreamReader,
    exchange,
    secret_scope,
)
from ._limits import RequestLimiter, check_number
from ._retry import Failure, RetryPolicy, classify_status, parse_retry_after
from ._streaming import OnPartial, StreamEnded, read_stream
from ._uploads import EditFiles, Hashing, form_data, prepare, when_sent
from ._wire import ParsedBody, error_from_response, first_error, parse_body, refuses_streaming

__all__ = ["AsyncImageClient", "InsecureTransportWarning"]

logger = logging.getLogger("comet_widgets")


class InsecureTransportWarning(UserWarning):
    """The API key is about to travel over plain http to a host that is not this machine."""


def _unstreamed(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` without ``stream`` and ``partial_images``: the request for a gateway that
    does not stream its model."""
    return {k: v for k, v in payload.items() if k not in ("stream", "partial_images")}


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~48 ms), which every new
    client (each panel, each batch without a client) would otherwise pay again."""
    return httpx.create_ssl_context()


def _model_info(item: object) -> ModelInfo | None:
    """A ``ModelInfo`` from one item of a model list (an object or a bare name)."""
    if isinstance(item, str):
        return ModelInfo(id=item)
    if not isinstance(item, dict):
        return None
    name = item.get("id") or item.get("name")
    if not isinstance(name, str) or not name:
        return None
    owned_by, created = item.get("owned_by"), item.get("created")
    return ModelInfo(
        id=name,
        owned_by=owned_by if isinstance(owned_by, str) else None,
        created=created if isinstance(created, int) and not isinstance(created, bool) else None,
        extra={k: v for k, v in item.items() if k not in ("id", "name", "owned_by", "created")},
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first line outside this package (the
    user's ``await client.generate(...)``, whichever public call led here)."""
    frame = sys._getframe(1)  # the function that calls warnings.warn
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        frame = frame.f_back
        level += 1
    return level


def _check_key_sendable(key: str, source: str) -> None:
    """Refuse, before sending, a key that cannot travel in an HTTP header; never show it."""
    bad = next((i for i, c in enumerate(key) if not (c.isascii() and c.isprintable())), None)
    if key != key.strip():
        problem = "it starts or ends with a space or a line break (a copy-paste slip?)"
    elif bad is not None:
        kind = "a control character such as a line break"
        if not key[bad].isascii():
            kind = "a non-ASCII character"
        problem = f"it has {kind} (at position {bad})"
    else:
        return
    raise InvalidParameterError(
        source,
        f"<a key of {len(key)} characters>",
        "use the key exactly as CometAPI shows it: printable ASCII, no spaces around it",
        reason=f"the API key ({source}) cannot be sent in a header: {problem}; nothing was sent",
    )


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameterError(
            "base_url",
            base_url,
            "give a full URL with a scheme, e.g. 'https://api.cometapi.com/v1'",
            reason=f"base_url {base_url!r} has no http(s) scheme or host",
        )
    return base_url.rstrip("/")


class AsyncImageClient:
    """An async client for ``POST /v1/images/generations`` (and ``GET /v1/models``).

    Use it as ``async with AsyncImageClient() as client: gen = await client.generate(...)``.
    The key comes from ``api_key`` or ``COMETAPI_KEY``; the base URL from ``base_url``,
    ``COMETAPI_BASE_URL`` or ``https://api.cometapi.com/v1``. ``timeout`` is a number (the read
    timeout, seconds) or an ``httpx.Timeout``; connects fail fast, reads wait minutes.
    ``retry_billable=True`` also retries failures that may already have been billed (read
    timeouts, 500, 504, 524); see docs/errors.md, "Retries and timeouts". ``http_client`` injects an
    ``httpx.AsyncClient`` (it is not closed by ``aclose``). ``concurrency`` caps requests in
    flight and ``requests_per_minute`` paces their starts. ``prices`` (model id -> ``Price``)
    overrides or adds to ``comet_widgets.PRICES`` for the ``cost`` of this client's generations;
    a negative, NaN or non-numeric price raises ``InvalidParameterError``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_billable: bool = False,
        max_retry_wait: float = MAX_RETRY_WAIT,
        concurrency: int | None = None,
        requests_per_minute: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_image_pixels: int = MAX_IMAGE_PIXELS,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        prices: Mapping[str, Price] | None = None,
    ) -> None:
        self.base_url = _check_base_url(
            base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        )
        # Every option of the wrong type or range is refused before anything is built.
        if api_key is not None and not isinstance(api_key, str):
            raise InvalidParameterError(
                "api_key",
                type(api_key).__name__,
                "pass the key as text (or leave it unset to use COMETAPI_KEY)",
                reason=f"api_key must be text, not {type(api_key).__name__}",
            )
        check_number("max_retries", max_retries, whole=True, minimum=0)
        if not isinstance(retry_billable, bool):
            raise InvalidParameterError("retry_billable", retry_billable, "use True or False")
        check_number("max_retry_wait", max_retry_wait, whole=False, minimum=0)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise InvalidParameterError(
                "http_client", http_client, "use None or an httpx.AsyncClient"
            )
        check_number("max_response_bytes", max_response_bytes, whole=True, minimum=1)
        check_number("max_image_pixels", max_image_pixels, whole=True, minimum=1)
        if sleep is not None and not callable(sleep):
            raise InvalidParameterError("sleep", sleep, "use None or an async function of seconds")
        #: The prices the generations of this client compute ``cost`` with: ``PRICES`` with
        #: ``prices=`` over it (read-only).
        self.prices = merged_prices(prices)
        self.__key = api_key
        if isinstance(timeout, httpx.Timeout):
            self.timeout = timeout
        elif timeout is not None:
            check_number("timeout", timeout, whole=False, minimum=0, above=True)
            self.timeout = httpx.Timeout(
                connect=min(CONNECT_TIMEOUT, timeout),
                read=timeout,
                write=timeout,
                pool=POOL_TIMEOUT,
            )
        else:
            self.timeout = httpx.Timeout(
                connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
            )
        self.retry_policy = RetryPolicy(
            max_retries=max_retries, retry_billable=retry_billable, max_retry_wait=max_retry_wait
        )
        #: The function this client waits with (``asyncio.sleep`` unless one was injected); its
        #: limiter, which waits out 429 pauses, and a batch's own limiter wait with it too.
        self.sleep = sleep or asyncio.sleep
        self.limiter = RequestLimiter(
            concurrency=concurrency, requests_per_minute=requests_per_minute, sleep=self.sleep
        )
        self.max_response_bytes = max_response_bytes
        self.max_image_pixels = max_image_pixels
        self._http = http_client
        self._owns_http = http_client is None
        self._closed = False
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._warned_insecure = False
        #: (base_url, model) pairs whose gateway does not stream (see ``_stop_streaming``).
        self._unstreamed: set[tuple[str, str]] = set()

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> AsyncImageClient:
        self._ensure_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close the connection pool. Requests still in flight end with ``ClientClosedError``."""
        if self._closed:
            return
        self._closed = True
        current = asyncio.current_task()
        pending = [task for task in self._in_flight if task is not current and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
        if self._http is not None and self._owns_http:
            await self._http.aclose()

    def _ensure_open(self) -> httpx.AsyncClient:
        if self._closed:
            raise ClientClosedError(
                "this AsyncImageClient is closed; create a new one (or use it inside"
                " 'async with AsyncImageClient() as client:')"
            )
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.timeout,
                verify=_shared_ssl_context(),
                follow_redirects=False,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    def _key_or_none(self) -> str | None:
        """The key this client sends: its own, else ``COMETAPI_KEY`` (read at each request)."""
        return self.__key or key_from_env()

    def _api_key(self) -> str:
        key = self._key_or_none()
        if not key:
            raise missing_key(
                "or pass AsyncImageClient(api_key=...); to try things offline use"
                " ImageGenerator(offline=True) or 'comet-images --offline'"
            )
        _check_key_sendable(key, "api_key" if self.__key else API_KEY_ENV)
        host = urlsplit(self.base_url).hostname or ""
        if (
            self.base_url.startswith("http://")
            and not _is_loopback(host)
            and not self._warned_insecure
        ):
            self._warned_insecure = True
            warnings.warn(
                f"sending the API key over plain http to {host}: use https",
                InsecureTransportWarning,
                stacklevel=_user_stacklevel(),
            )
        return key

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<AsyncImageClient {self.base_url} {state}>"

    # -- public API ------------------------------------------------------------------------
    @signed(ImageParams, model=DEFAULT_MODEL)
    async def generate(
        self, prompt: str, *, on_partial: OnPartial | None = None, **params: Unpack[ImageParams]
    ) -> Generation:
        """Generate images for ``prompt`` and return them with their bytes downloaded.

        ``partial_images`` 1-3 (GPT image models) streams the generation: ``on_partial`` is
        called with each ``PartialImage`` as it arrives (a coroutine function is awaited; an
        exception it raises is logged, not raised). The result is the same ``Generation`` as
        without streaming, also from a gateway that does not stream the model: a 4xx naming
        ``stream``/``partial_images`` makes the client send the request once more without them
        (not counted as a retry), a plain JSON answer is taken as it is, and either way this
        client stops asking to stream that model at this base URL (``Generation.streamed``
        is then False).

        The parameters are those of ``ImageParams`` (``_types.py``; ``None``: not sent). They
        are checked against the model catalogue first: invalid ones raise
        ``InvalidParameterError`` before any request is sent. API failures raise subclasses of
        ``CometError`` carrying the request id. In url mode every image is downloaded at once;
        one that fails records its ``error`` and the others are returned.
        """
        payload = build_payload(prompt, **params)
        return await self.generate_payload(payload, on_partial=on_partial)

    @signed(ImageParams, model=DEFAULT_MODEL)
    async def stream(
        self, prompt: str, **params: Unpack[ImageParams]
    ) -> AsyncIterator[PartialImage | Generation]:
        """``generate`` as an async iterator: each ``PartialImage`` as it arrives, then the
        final ``Generation``. ``params`` are those of ``generate`` (``partial_images=2`` by
        default for GPT image models; just the ``Generation`` from a gateway that does not
        stream the model). Leaving the loop early cancels the request: nothing is left
        running. Errors are raised from the loop, with the partials received on them.
        """
        if "on_partial" in params:
            raise InvalidParameterError(
                "on_partial",
                params["on_partial"],  # type: ignore[typeddict-item]
                "leave it out: stream() yields the partial images itself",
            )
        spec = rules_for(str(params.get("model", DEFAULT_MODEL)))
        if (
            "partial_images" not in params
            and spec is not None
            and spec.accepts("stream")
            and params.get("output_format") not in NO_STREAM_FORMATS
        ):
            params["partial_images"] = DEFAULT_PARTIAL_IMAGES
        payload = build_payload(prompt, **params)
        queue: asyncio.Queue[PartialImage | None] = asyncio.Queue()
        task = asyncio.ensure_future(self.generate_payload(payload, on_partial=queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (item := await queue.get()) is not None:
                yield item
            yield await task
        finally:
            if not task.done():
                task.cancel()
                # wait(), not `await task`: a cancellation of this task itself still propagates.
                await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved (it was raised above, or nobody is listening)

    @signed(EditParams, model=DEFAULT_EDIT_MODEL)
    async def edit(
        self,
        prompt: str,
        *,
        image: ImageInput | Sequence[ImageInput],
        on_partial: OnPartial | None = None,
        on_retry: Callable[[CometError, float], None] | None = None,
        **params: Unpack[EditParams],
    ) -> Generation:
        """Edit ``image`` (one, or a list: ``image[]``) as ``prompt`` says, through
        ``POST /images/edits``: only where ``mask`` allows, or guided by ``markup``'s marks.

        ``params`` are those of ``EditParams`` (``_types.py``; ``None``: not sent; the model
        defaults to gpt-image-2). ``image``, ``mask`` and ``markup``: PIL images, numpy arrays
        (uint8 as is, uint16 scaled to 8 bits, float in 0..1 times 255, bool; other dtypes are
        refused), bytes, paths (regular files) or ``GeneratedImage``s. A mask that is a PNG
        with alpha is sent as it is (transparent = edit here); a boolean / 0-1 array or an
        image without alpha means "edit where true / white". A markup (gpt-image-2.5 models) is
        sent as it is: a PNG of the first image's size with transparent pixels. Parameters and
        files are checked first:
        ``InvalidParameterError`` for an unknown keyword (``moderation`` and ``style`` too:
        edits take neither), a markup with a mask, GIF output with a mask, and anything the
        catalogue's edit rules refuse, before any request is sent. ``partial_images`` and
        ``on_partial`` stream previews as for ``generate`` (``stream=True`` is the same path,
        with no previews); ``on_retry(error, delay)`` is called before each wait between
        attempts (the panel's countdown). ``size`` left unset is not sent (the API follows the
        input). The result's ``params`` hold the form fields sent plus each file's name, size
        and sha256 (never its bytes).
        """
        payload = build_edit_payload(prompt, params)
        files = await prepare(image, params.get("mask"), params.get("markup"))
        files.check(str(payload["model"]))
        # Provenance hashes are computed once the body is sent, while the server works.
        hashing = Hashing(files.all)
        try:
            generation = await self.generate_payload(
                payload,
                on_partial=on_partial,
                on_retry=on_retry,
                uploads=files,
                on_sent=hashing.start,
            )
        except CometError as error:
            await hashing.finish()
            if error.generation is not None:
                error.generation.params.update(files.describe())
            raise
        finally:
            await hashing.settle()  # a thread cannot be cancelled: let it finish
        await hashing.finish()
        generation.params.update(files.describe())  # now with their hashes
        return generation

    async def generate_payload(
        self,
        payload: dict[str, Any],
        *,
        limiter: RequestLimiter | None = None,
        on_retry: Callable[[CometError, float], None] | None = None,
        on_partial: OnPartial | None = None,
        uploads: EditFiles | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> Generation:
        """Send an already validated payload (from ``build_payload``).

        ``limiter`` also paces the request (a batch passes its own): the client's own limits
        always apply too, so a batch's can only tighten them; ``on_retry(error, delay)`` is
        called before each wait between attempts (the widget shows it); ``on_partial`` receives
        the partial previews of a streamed payload. ``uploads`` (the files of an edit, from
        ``_uploads.prepare``) makes it a multipart ``POST /images/edits`` on the
        same path: same retries, limits, streaming and redaction; ``on_sent()`` is called when
        an upload's whole body has been handed to the socket.
        """
        self._ensure_open()
        warn_lifecycle(str(payload.get("model")), stacklevel=3)
        partials: list[PartialImage] = []
        closed = (
            "the client was closed (aclose()) while this request was in flight; nothing more"
            " will arrive for it. What to do: create a new AsyncImageClient"
        )
        try:
            # This client's log records (its own, httpx's, httpcore's) are scrubbed of its key.
            with secret_scope(self._key_or_none()):
                async with self._tracked(closed):
                    generation = await self._generate(
                        payload,
                        limiter or self.limiter,
                        on_retry,
                        on_partial,
                        partials,
                        uploads=uploads,
                        on_sent=on_sent,
                    )
        except CometError as error:
            error.partials = partials
            raise
        for image_error in generation.errors:
            scrub(image_error, self._key_or_none())
        return generation

    @contextlib.asynccontextmanager
    async def _tracked(self, closed: str) -> AsyncIterator[None]:
        """Run the current task as one of this client's requests: ``aclose()`` cancels it,
        which then raises ``ClientClosedError(closed)``; a ``CometError`` leaves scrubbed."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            yield
        except CometError as error:
            scrub(error, self._key_or_none())  # a server may echo the key back
            raise
        except asyncio.CancelledError:
            if self._closed and task is not None:
                # aclose() cancelled this task: report it as an error, not as a cancellation
                # (uncancel() so that asyncio.timeout and TaskGroup see no pending cancel).
                if hasattr(task, "uncancel"):
                    task.uncancel()
                raise ClientClosedError(closed) from None
            raise
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def list_models(self, *, image_only: bool = False) -> list[ModelInfo]:
        """The models of ``GET {base_url}/models`` as ``ModelInfo`` objects, sorted by id
        (tolerant of the answer's shape: OpenAI's list, a ``models`` list, bare names).

        ``image_only=True`` keeps the image models (``ModelInfo.is_image_model``): the
        catalogue's, GPT image ids and ids such as ``flux-*`` or ``imagen-*``. The same path
        as a generation: capped at ``max_response_bytes``, the whole answer within the read
        timeout, the key redacted, every failure a typed ``CometError``; ``aclose()`` ends it.
        """
        http = self._ensure_open()
        key = self._api_key()
        request = http.build_request(
            "GET", f"{self.base_url}/models", headers={"Authorization": f"Bearer {key}"}
        )
        # aclose() ends it (and its connection) like a generation
        async with self._tracked("the client was closed while listing models"):
            answer = await self._exchange(request, key, "the model list")
            if answer.status >= 400:
                raise error_from_response(answer.status, answer.headers, answer.body, secret=key)
            try:
                document = json.loads(answer.body)
            except (ValueError, RecursionError):
                raise ResponseError(
                    "the model list is not JSON (or nested too deeply)",
                    request_id=answer.request_id,
                    kind="not_json",
                ) from None
        items = (
            document.get("data", document.get("models", []))
            if isinstance(document, dict)
            else document
        )
        found: dict[str, ModelInfo] = {}
        for item in items if isinstance(items, list) else []:
            info = _model_info(item)
            if info is not None:
                found.setdefault(info.id, info)
        models = [found[name] for name in sorted(found)]
        return [m for m in models if m.is_image_model] if image_only else models

    # -- internals -------------------------------------------------------------------------
    async def _generate(
        self,
        payload: dict[str, Any],
        limiter: RequestLimiter,
        on_retry: Callable[[CometError, float], None] | None,
        on_partial: OnPartial | None,
        partials: list[PartialImage],
        *,
        uploads: EditFiles | None,
        on_sent: Callable[[], None] | None,
    ) -> Generation:
        key = self._api_key()
        started = time.perf_counter()
        model = str(payload.get("model") or "")
        if payload.get("stream") and (self.base_url, model) in self._unstreamed:
            payload = _unstreamed(payload)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._slots(limiter):
                    parsed, request_id, streamed = await self._post(
                        payload, key, on_partial, partials, uploads, on_sent
                    )
                break
            except CometError as error:
                if payload.get("stream") and refuses_streaming(error) and not error.billable:
                    # Negotiation, not a retry: a refused request made nothing and was not
                    # billed (a stream that had begun may have: error.billable). Sent once more
                    # without streaming; it uses none of max_retries.
                    self._stop_streaming(model, "refuses streaming requests")
                    payload = _unstreamed(payload)
                    attempt -= 1
                    continue
                failure, hint = self._classify(error)
                # The facts a front end words itself (the panel); the text is for code.
                error.retryable = failure != "final"
                error.billable = failure == "billable"
                error.retries = attempt - 1
                if hint is not None and hint > self.retry_policy.max_retry_wait:
                    if isinstance(error, RateLimitError):
                        error.max_retry_wait = self.retry_policy.max_retry_wait
                    error.message += (
                        f" The server asks to wait {hint:g} s, more than max_retry_wait"
                        f" ({self.retry_policy.max_retry_wait:g} s): not waiting; try again later."
                    )
                    raise  # (scrub, on the way out, sets its args to the longer message)
                if not self.retry_policy.should_retry(failure, attempt):
                    if failure == "billable" and not self.retry_policy.retry_billable:
                        error.message += (
                            " Not retried, as it may have been billed (the provider may already"
                            " have made the image); pass retry_billable=True to retry such"
                            " failures."
                        )
                    raise
                delay = self.retry_policy.delay(attempt, hint)
                logger.info(
                    "retrying after %s in %.2f s (attempt %d)", type(error).__name__, delay, attempt
                )
                if on_retry is not None:
                    on_retry(error, delay)
                if isinstance(error, RateLimitError):
                    # Pause every request of this client (a batch's pass through its limiter
                    # too); this one waits it out in slot(). (Sleeping here as well would wait
                    # twice with an injected sleep.)
                    self.limiter.pause(delay)
                else:
                    await self.sleep(delay)
        if payload.get("stream") and not streamed:
            self._stop_streaming(model, "answers streaming requests with plain JSON")
        if parsed.pending_urls:
            await self._download_all(parsed)
        generation = Generation(
            prompt=payload["prompt"],
            model=payload["model"],
            created=parsed.created,
            images=parsed.images,
            params={**payload, **(uploads.describe() if uploads else {})},
            request_id=request_id,
            elapsed=time.perf_counter() - started,
            usage=parsed.usage,
            extra=parsed.extra,
            prices=self.prices,
            streamed=streamed,
        )
        failed = parsed.error or first_error(parsed.images)
        if failed is not None:
            failed.generation = generation
            raise failed
        return generation

    def _stop_streaming(self, model: str, why: str) -> None:
        """Remember, for this client's lifetime, that the gateway at ``base_url`` does not
        stream ``model``: its later requests go without ``stream``/``partial_images``. Logged
        at INFO once."""
        if (self.base_url, model) not in self._unstreamed:
            self._unstreamed.add((self.base_url, model))
            logger.info(
                "%s %s for %s: sending it without streaming from now on (no partial previews)",
                self.base_url,
                why,
                model,
            )

    @contextlib.asynccontextmanager
    async def _slots(self, limiter: RequestLimiter) -> AsyncIterator[None]:
        """A turn of ``limiter`` (a batch's) and then of the client's own limiter."""
        if limiter is self.limiter:
            async with self.limiter.slot():
                yield
        else:
            async with limiter.slot(), self.limiter.slot():
                yield

    def _classify(self, error: CometError) -> tuple[Failure, float | None]:
        """How to retry ``error``, and the server's wait hint (a ``RateLimitError``'s)."""
        if isinstance(error, APIStatusError):
            failure = classify_status(
                error.status_code,
                model_unavailable=isinstance(error, ModelUnavailableError),
                code=error.code,
            )
            if failure == "safe" and error.billable:
                failure = "billable"  # an error event of a stream that had begun
            return failure, getattr(error, "retry_after", None)
        if isinstance(error, APIConnectionError):
            return ("billable" if error.sent else "safe"), None
        return "final", None

    async def _post(
        self,
        payload: dict[str, Any],
        key: str,
        on_partial: OnPartial | None,
        partials: list[PartialImage],
        uploads: EditFiles | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> tuple[ParsedBody, str | None, bool]:
        """One request; the parsed answer, its request id and whether it came as a stream."""
        http = self._ensure_open()
        headers = {"Authorization": f"Bearer {key}"}
        if uploads is None:
            url = f"{self.base_url}/images/generations"
            request = http.build_request("POST", url, json=payload, headers=headers)
        else:
            # Multipart as the SDK sends it: text fields, then `image` (or `image[]` per file),
            # `markup` and `mask`, each with its real content type. The upload counts against
            # the write timeout; a retry rebuilds the body from the same bytes.
            url = f"{self.base_url}/images/edits"
            request = http.build_request(
                "POST", url, data=form_data(payload), files=uploads.files(), headers=headers
            )
            if on_sent is not None:
                request = when_sent(request, on_sent)
        reader: StreamReader | None = None
        if payload.get("stream"):
            # An event-stream answer is read event by event inside the boundary.
            reader = functools.partial(
                read_stream,
                n=int(payload.get("n") or 1),
                max_pixels=self.max_image_pixels,
                secret=key,
                on_partial=on_partial,
                partials=partials,
                edit=uploads is not None,
            )
        try:
            answer = await self._exchange(request, key, "the response", stream=reader)
        except StreamEnded:
            raise APIConnectionError(
                f"the stream ended before its completed event ({len(partials)} partial image(s)"
                " received). What to do: try again; it may have been billed",
                sent=True,
                host=urlsplit(self.base_url).netloc,
            ) from None
        request_id = answer.request_id
        status, body = answer.status, answer.body
        if isinstance(answer.streamed, ParsedBody):
            logger.debug(
                "POST %s -> %d, streamed %d image(s) and %d partial(s) request_id=%s",
                url,
                status,
                len(answer.streamed.images),
                len(partials),
                request_id,
            )
            return answer.streamed, request_id, True
        logger.debug("POST %s -> %d (%d bytes) request_id=%s", url, status, len(body), request_id)
        if status >= 400:
            hint = parse_retry_after(answer.headers, now=time.time()) if status == 429 else None
            raise error_from_response(
                status,
                answer.headers,
                body,
                retry_after=hint,
                secret=key,
                model=str(payload.get("model") or ""),
            )
        if 300 <= status < 400:
            location = answer.headers.get("location", "?")
            raise ResponseError(
                f"the API answered {status} redirecting to {location}; check base_url"
                f" ({self.base_url}: it should end with /v1)",
                request_id=request_id,
                kind="not_json",
                reason=f"the API answered {status} redirecting to {location}",
            )
        parse = functools.partial(
            parse_body,
            body,
            status=status,
            content_type=answer.headers.get("content-type", ""),
            request_id=request_id,
            max_pixels=self.max_image_pixels,
        )
        if len(body) > OFFLOAD_DECODE_BYTES:
            # JSON + base64 of tens of megabytes would stall the event loop (a notebook's kernel).
            return await asyncio.to_thread(parse), request_id, False
        return parse(), request_id, False

    async def _exchange(
        self, request: httpx.Request, key: str, what: str, *, stream: StreamReader | None = None
    ) -> Answer:
        """One API request through the boundary (``_boundary.exchange``): the whole response
        within one read timeout, the body within ``max_response_bytes``, the key redacted.
        Failures become typed ``CometError``s naming ``what`` was being read."""
        http = self._ensure_open()
        read, limit = self.timeout.read, self.max_response_bytes
        try:
            return await exchange(
                http, request, secret=key, limit=limit, timeout=read, stream=stream
            )
        except BodyTooLarge as exc:
            raise ResponseError(
                f"{what} is larger than max_response_bytes ({limit:,} bytes); refused",
                request_id=exc.request_id,
                kind="too_large",
                reason=f"{what} is larger than {limit:,} bytes",
            ) from None
        except DeadlinePassed:
            raise self._connection_error(
                httpx.ReadTimeout(f"the whole response took longer than {read:g} s"),
                f"reading {what}",
            ) from None
        except httpx.HTTPError as exc:
            sent_before = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            doing = "sending the request" if sent_before else f"reading {what}"
            raise self._connection_error(exc, doing) from None

    def _connection_error(self, exc: httpx.HTTPError, doing: str) -> APIConnectionError:
        sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        what = str(exc) or type(exc).__name__  # (redacted by scrub, like every error leaving)
        host = urlsplit(self.base_url).netloc
        advice = "try again" if sent else "check base_url and your network"
        if isinstance(exc, httpx.TimeoutException):
            kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
            if sent:
                advice += "; raise timeout= for slow models"
            limits = {
                httpx.ConnectTimeout: self.timeout.connect,
                httpx.WriteTimeout: self.timeout.write,
                httpx.PoolTimeout: self.timeout.pool,
            }
            return APITimeoutError(
                f"{kind} while {doing} to {host} ({what}). What to do: {advice}",
                sent=sent,
                host=host,
                timeout=limits.get(type(exc), self.timeout.read),
            )
        return APIConnectionError(
            f"connection failed while {doing} to {host}: {type(exc).__name__}: {what}."
            f" What to do: {advice}",
            sent=sent,
            host=host,
        )

    # -- url mode ---------------------------------------------------------------------------
    async def _download_all(self, parsed: ParsedBody) -> None:
        pending = [(url, parsed.images[index]) for index, url in parsed.pending_urls.items()]
        results = await asyncio.gather(
            *(self._download(url, image) for url, image in pending), return_exceptions=True
        )
        for (_, image), result in zip(pending, results, strict=True):
            if isinstance(result, CometError):
                image.error = result
            elif isinstance(result, BaseException):
                raise result

    async def _download(self, url: str, image: GeneratedImage) -> None:
        """Fetch a url-mode image's bytes into ``image`` (``url`` has no user:password@)."""
        index = image.index
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            reason = f"refusing to download a {scheme or 'schemeless'} URL (only http and https)"
            raise ImageDownloadError(
                f"image {index}: {reason}", url=url, index=index, reason=reason
            )
        http = self._ensure_open()
        read = min(self.timeout.read or DOWNLOAD_READ_TIMEOUT, DOWNLOAD_READ_TIMEOUT)
        timeout = httpx.Timeout(self.timeout.connect or CONNECT_TIMEOUT, read=read)
        status: int | None = None
        try:
            # No Authorization header: image URLs live on a CDN that must never see the key
            # (nor a user:password@ of the URL, which httpx would send as Basic auth).
            request = http.build_request("GET", url, timeout=timeout)
            answer = await exchange(
                http,
                request,
                secret=self._key_or_none(),
                limit=MAX_IMAGE_BYTES,
                timeout=read,
                redact_body=False,
                follow_redirects=True,
            )
            if answer.status >= 400:
                status = answer.status
                reason = (
                    f"download failed with HTTP {status}"
                    " (image URLs expire: the provider keeps them about an hour)"
                )
            else:
                info = sniff(answer.body, max_pixels=self.max_image_pixels)
        except BodyTooLarge:
            reason = f"larger than {MAX_IMAGE_BYTES:,} bytes; refused"
        except httpx.TooManyRedirects:
            reason = "too many redirects"
        except DeadlinePassed:
            reason = f"download failed: the whole response took longer than {read:g} s"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = f"download failed: {type(exc).__name__}"
        except NotAnImage as exc:
            reason = str(exc)
        else:
            if status is None:
                image.data, image.format = answer.body, info.format
                image.width, image.height = info.width, info.height
                return
        raise ImageDownloadError(
            f"image {index}: {reason}", url=url, status_code=status, index=index, reason=reason
        )
