"""AsyncImageClient against the fake API over real loopback sockets (in-process where noted).

Counts are taken at the fake (``generation_count``, ``requests``), retry waits from the injected
sleep: no test waits for a real backoff and none asserts on timing. What each fault (status,
broken answer, broken connection) comes to, retries included, is the fault table's job
(``tests/client/test_faults.py``); here are the successes, the key, results and limits.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from comet_widgets import (
    MODELS,
    AsyncImageClient,
    AuthenticationError,
    ClientClosedError,
    GeneratedImage,
    Generation,
    InvalidParameterError,
    MissingAPIKeyError,
    read_metadata,
)
from comet_widgets._constants import DECODED_CACHE_SIZE, THUMBNAIL_MAX_SIDE
from comet_widgets.images._formats import sniff
from comet_widgets.images._metadata import sidecar_path
from comet_widgets.images._results import decoded_cache
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, FakeAPI, FakeServer

PROMPT = "A paper boat floating on calm water at sunrise."


def last_generation_request(fake: FakeAPI) -> Any:
    posts = [r for r in fake.requests if r.path == "/v1/images/generations"]
    return posts[-1]


class Sleeps:
    """A recording sleep for clients built inside a test."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def make_client(fake_server: FakeServer) -> AsyncIterator[Any]:
    """Build extra clients on the loopback fake (closed at the end); returns (client, sleeps)."""
    made: list[AsyncImageClient] = []

    def build(**options: Any) -> tuple[AsyncImageClient, Sleeps]:
        sleeps = Sleeps()
        options.setdefault("api_key", FAKE_API_KEY)
        options.setdefault("base_url", fake_server.base_url)
        client = AsyncImageClient(sleep=sleeps, **options)
        made.append(client)
        return client, sleeps

    yield build
    for client in made:
        await client.aclose()


# -- success paths -----------------------------------------------------------------------------


async def test_url_mode_downloads_the_image(client: AsyncImageClient, fake: FakeAPI) -> None:
    gen = await client.generate(PROMPT, model="dall-e-3", size="1024x1024", response_format="url")
    assert isinstance(gen, Generation)
    assert gen.ok
    assert (gen.prompt, gen.model) == (PROMPT, "dall-e-3")
    assert gen.params == {
        "model": "dall-e-3",
        "prompt": PROMPT,
        "n": 1,
        "size": "1024x1024",
        "response_format": "url",
    }
    [image] = gen.images
    assert isinstance(image, GeneratedImage)
    assert image.url is not None
    assert image.url.startswith(client.base_url.removesuffix("/v1") + "/files/")
    assert (image.format, image.width, image.height) == ("png", 1024, 1024)
    assert image.data is not None
    assert sniff(image.data).format == "png"
    assert image.image.size == (1024, 1024)
    assert gen.created > 1_700_000_000
    assert gen.elapsed > 0
    assert fake.generation_count == 1
    assert fake.download_count == 1


async def test_the_key_goes_only_to_the_api(client: AsyncImageClient, fake: FakeAPI) -> None:
    await client.generate(PROMPT, model="dall-e-2", n=2, size="256x256", response_format="url")
    api = [r for r in fake.requests if r.path.startswith("/v1/")]
    downloads = [r for r in fake.requests if r.path.startswith("/files/")]
    assert len(api) == 1
    assert len(downloads) == 2
    assert all(r.auth_present and r.auth_ok for r in api)
    assert not any(r.auth_present for r in downloads)  # the CDN never sees the key
    assert FAKE_API_KEY not in repr(client)


async def test_b64_mode_with_several_images(client: AsyncImageClient, fake: FakeAPI) -> None:
    gen = await client.generate(
        PROMPT, model="dall-e-2", n=3, size="256x256", response_format="b64_json"
    )
    assert [image.index for image in gen.images] == [0, 1, 2]
    assert all(image.ok and image.url is None for image in gen.images)
    assert {(image.width, image.height) for image in gen.images} == {(256, 256)}
    assert len({image.data for image in gen.images}) == 3  # three different images
    assert fake.download_count == 0
    assert last_generation_request(fake).json["n"] == 3


async def test_url_mode_with_several_images(client: AsyncImageClient, fake: FakeAPI) -> None:
    gen = await client.generate(
        PROMPT, model="dall-e-2", n=4, size="512x512", response_format="url"
    )
    assert len(gen.images) == 4
    assert all(image.ok for image in gen.images)
    assert len({image.url for image in gen.images}) == 4
    assert fake.download_count == 4


async def test_gpt_image_answers_base64_with_usage_and_extra(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    gen = await client.generate(
        PROMPT, model="gpt-image-1", n=2, size="1024x1536", quality="low", output_format="webp"
    )
    sent = last_generation_request(fake).json
    assert "response_format" not in sent  # never sent to GPT image models
    assert sent["output_format"] == "webp"
    assert [image.format for image in gen.images] == ["webp", "webp"]
    assert (gen.images[0].width, gen.images[0].height) == (1024, 1536)
    assert gen.usage is not None
    assert gen.usage["total_tokens"] == gen.usage["input_tokens"] + gen.usage["output_tokens"]
    assert gen.usage["output_tokens"] > 0
    # fields this package does not interpret are kept, not dropped
    assert gen.extra["output_format"] == "webp"
    assert gen.extra["quality"] == "low"
    assert gen.extra["size"] == "1024x1536"
    assert gen.extra["background"] == "opaque"
    assert "usage" not in gen.extra
    assert all(image.revised_prompt is None for image in gen.images)


async def test_gpt_image_2_free_size(client: AsyncImageClient) -> None:
    gen = await client.generate(PROMPT, model="gpt-image-2", size="1536x864", quality="low")
    assert (gen.images[0].width, gen.images[0].height) == (1536, 864)


async def test_dalle_3_returns_a_revised_prompt(client: AsyncImageClient) -> None:
    gen = await client.generate(PROMPT, model="dall-e-3", response_format="b64_json")
    revised = gen.images[0].revised_prompt
    assert revised is not None
    assert revised != PROMPT
    assert revised.startswith(PROMPT.rstrip("."))
    assert gen.usage is None


async def test_unknown_models_pass_through(client: AsyncImageClient, fake: FakeAPI) -> None:
    gen = await client.generate(
        PROMPT, model="flux-dev", size="640x480", response_format="b64_json"
    )
    assert last_generation_request(fake).json["model"] == "flux-dev"
    assert (gen.images[0].width, gen.images[0].height) == (640, 480)


async def test_the_format_is_sniffed_not_read_from_the_url(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.url_extension = "webp"  # CometAPI's CDN names every image .webp
    gen = await client.generate(PROMPT, model="dall-e-3", response_format="url")
    image = gen.images[0]
    assert image.url is not None
    assert image.url.endswith(".webp")
    assert image.format == "png"
    assert image.mime_type == "image/png"


async def test_extra_body_passes_through(client: AsyncImageClient, fake: FakeAPI) -> None:
    await client.generate(
        PROMPT, model="qwen-image", extra_body={"seed": 1234, "negative_prompt": "fog"}
    )
    sent = last_generation_request(fake).json
    assert sent["seed"] == 1234
    assert sent["negative_prompt"] == "fog"
    assert sent["model"] == "qwen-image"


async def test_unknown_keywords_are_refused_before_sending(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        await client.generate(PROMPT, model="dall-e-3", qualiti="hd")  # type: ignore[call-arg]
    message = str(info.value)
    assert "did you mean 'quality'?" in message
    assert "pass provider-specific fields as extra_body={...}" in message
    assert info.value.field == "qualiti"
    assert fake.generation_count == 0


async def test_invalid_parameters_never_reach_the_network(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    with pytest.raises(InvalidParameterError, match="response_format"):
        await client.generate(PROMPT, model="gpt-image-1", response_format="url")
    with pytest.raises(InvalidParameterError, match="n=1"):
        await client.generate(PROMPT, model="dall-e-3", n=2)
    assert fake.requests == []


async def test_list_models(client: AsyncImageClient, fake: FakeAPI) -> None:
    models = await client.list_models()
    assert [m.id for m in models] == sorted(m["id"] for m in fake.model_list())
    by_id = {m.id: m for m in models}
    assert by_id["gpt-image-2"].owned_by == "openai"
    assert isinstance(by_id["gpt-image-2"].created, int)
    assert by_id["gpt-image-1.5"].extra == {"object": "model", "shutdown_date": "2026-12-01"}
    assert by_id["gpt-image-2"].spec is MODELS["gpt-image-2"]
    assert "gpt-4o-mini" in by_id  # the gateway lists text models too...
    images = await client.list_models(image_only=True)
    assert "gpt-4o-mini" not in {m.id for m in images}  # ...which image_only leaves out
    assert set(MODELS) <= {m.id for m in images}  # the fixture's fake serves retired ones
    assert all(str(m) == m.id for m in images)
    request = fake.requests[0]
    assert (request.method, request.path, request.auth_ok) == ("GET", "/v1/models", True)


async def test_list_models_raises_typed_errors() -> None:
    app = FakeAPI(api_key="the-right-key")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncImageClient(
        api_key="a-wrong-key", base_url=IN_PROCESS_BASE_URL, http_client=http
    ) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.list_models()
    await http.aclose()
    assert info.value.status_code == 401
    assert "a-wrong-key" not in str(info.value)


# -- errors (the fault table, every status and broken answer, is tests/client/test_faults.py) --


async def test_a_real_401_for_a_wrong_key() -> None:
    app = FakeAPI(api_key="the-right-key")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncImageClient(
        api_key="sk-wrong-key-123", base_url=IN_PROCESS_BASE_URL, http_client=http
    ) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.generate(PROMPT)
    await http.aclose()
    assert "COMETAPI_KEY" in str(info.value)
    assert "sk-wrong-key-123" not in str(info.value)
    assert app.generation_count == 1


# -- key and lifecycle -------------------------------------------------------------------------


async def test_a_missing_key_is_raised_only_when_a_request_is_made(
    fake_server: FakeServer, fake: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    async with AsyncImageClient(base_url=fake_server.base_url) as client:  # no error yet
        with pytest.raises(MissingAPIKeyError) as info:
            await client.generate(PROMPT)
        assert "COMETAPI_KEY" in str(info.value)
        with pytest.raises(MissingAPIKeyError):
            await client.list_models()
    assert fake.requests == []


async def test_the_key_is_read_from_the_environment(
    fake_server: FakeServer, fake: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMETAPI_KEY", "from-the-environment")
    async with AsyncImageClient(base_url=fake_server.base_url) as client:
        assert (await client.generate(PROMPT, model="dall-e-3", response_format="b64_json")).ok
    assert last_generation_request(fake).auth_ok


async def test_the_base_url_is_read_from_the_environment(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMETAPI_BASE_URL", fake_server.base_url + "/")
    client = AsyncImageClient(api_key=FAKE_API_KEY)
    assert client.base_url == fake_server.base_url
    async with client:
        assert await client.list_models()


async def test_a_bad_base_url_is_refused(fake_server: FakeServer) -> None:
    with pytest.raises(InvalidParameterError, match="base_url"):
        AsyncImageClient(api_key=FAKE_API_KEY, base_url="api.cometapi.com/v1")


async def test_use_after_close_raises(make_client: Any) -> None:
    client, _ = make_client()
    async with client:
        assert (await client.generate(PROMPT, model="dall-e-3", response_format="b64_json")).ok
    assert client.closed
    assert "closed" in repr(client)
    with pytest.raises(ClientClosedError):
        await client.generate(PROMPT)
    with pytest.raises(ClientClosedError):
        await client.list_models()
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    await client.aclose()  # closing twice is fine


async def test_an_injected_http_client_is_not_closed(fake_server: FakeServer) -> None:
    async with httpx.AsyncClient() as http:
        async with AsyncImageClient(
            api_key=FAKE_API_KEY, base_url=fake_server.base_url, http_client=http
        ) as client:
            await client.generate(PROMPT, model="dall-e-3", response_format="b64_json")
        assert not http.is_closed


async def test_in_process_transport(inprocess_client: tuple[AsyncImageClient, FakeAPI]) -> None:
    client, app = inprocess_client
    gen = await client.generate(
        PROMPT, model="dall-e-2", n=2, size="256x256", response_format="url"
    )
    assert gen.ok
    assert app.download_count == 2


# -- results: saving, metadata, display --------------------------------------------------------


async def test_png_save_and_read_metadata(client: AsyncImageClient, tmp_path: Path) -> None:
    gen = await client.generate(PROMPT, model="dall-e-3", response_format="url", quality="hd")
    image = gen.images[0]
    path = image.save(tmp_path / "boat.png")
    assert not sidecar_path(path).exists()  # the PNG holds the record itself
    record = read_metadata(path)
    assert record["prompt"] == PROMPT
    assert record["model"] == "dall-e-3"
    assert record["revised_prompt"] == image.revised_prompt
    assert record["request_id"] == gen.request_id is not None
    assert record["parameters"]["quality"] == "hd"
    with Image.open(path) as saved:
        assert saved.text["Title"] == PROMPT  # type: ignore[attr-defined]
        assert saved.size == (1024, 1024)


@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
async def test_jpeg_and_webp_save_with_a_sidecar(
    client: AsyncImageClient, tmp_path: Path, output_format: str
) -> None:
    gen = await client.generate(
        PROMPT, model="gpt-image-1", quality="low", output_format=output_format
    )
    image = gen.images[0]
    assert image.format == output_format
    path = image.save(tmp_path)
    assert path.suffix == {"jpeg": ".jpg", "webp": ".webp"}[output_format]
    assert path.read_bytes() == image.data  # the bytes as received
    assert sidecar_path(path).exists()
    record = read_metadata(path)
    assert record["prompt"] == PROMPT
    assert record["model"] == "gpt-image-1"
    assert record["usage"] == gen.usage


async def test_saving_webp_bytes_as_png_converts(client: AsyncImageClient, tmp_path: Path) -> None:
    gen = await client.generate(PROMPT, model="gpt-image-1", quality="low", output_format="webp")
    path = gen.images[0].save(tmp_path / "x.png")
    assert path == tmp_path / "x.png"
    info = sniff(path.read_bytes())
    assert (info.format, info.width, info.height) == ("png", 1024, 1024)
    assert read_metadata(path)["prompt"] == PROMPT


async def test_generation_save_writes_every_image(client: AsyncImageClient, tmp_path: Path) -> None:
    gen = await client.generate(
        PROMPT, model="dall-e-2", n=3, size="256x256", response_format="b64_json"
    )
    paths = gen.save(tmp_path)
    assert len(set(paths)) == 3
    assert [read_metadata(p)["index"] for p in paths] == [0, 1, 2]


async def test_notebook_display_is_a_downscaled_preview(client: AsyncImageClient) -> None:
    gen = await client.generate(PROMPT, model="gpt-image-1", size="1536x1024", quality="low")
    image = gen.images[0]
    bundle = image._repr_mimebundle_()
    [mime] = [key for key in bundle if key.startswith("image/")]
    with Image.open(io.BytesIO(bundle[mime])) as preview:
        assert preview.size == (THUMBNAIL_MAX_SIDE, 341)
    assert max(sniff(bundle[mime]).width, sniff(bundle[mime]).height) <= THUMBNAIL_MAX_SIDE
    assert len(bundle[mime]) < len(image.data or b"")
    assert image.image.size == (1536, 1024)


async def test_the_decoded_cache_stays_bounded(client: AsyncImageClient) -> None:
    images: list[GeneratedImage] = []
    for _ in range(2):
        gen = await client.generate(
            PROMPT, model="dall-e-2", n=10, size="256x256", response_format="b64_json"
        )
        images.extend(gen.images)
    assert len(images) > DECODED_CACHE_SIZE
    for image in images:
        assert image.image.size == (256, 256)
        assert len(decoded_cache) <= DECODED_CACHE_SIZE
    assert all(image.data is not None for image in images)  # compressed bytes always kept


async def test_to_numpy(client: AsyncImageClient) -> None:
    pytest.importorskip("numpy")
    gen = await client.generate(
        PROMPT, model="dall-e-2", size="256x256", response_format="b64_json"
    )
    assert gen.images[0].to_numpy().shape == (256, 256, 3)
    transparent = await client.generate(
        PROMPT, model="gpt-image-1", quality="low", background="transparent", output_format="png"
    )
    assert transparent.images[0].to_numpy().shape == (1024, 1024, 4)


async def test_metadata_is_json_serialisable(client: AsyncImageClient) -> None:
    gen = await client.generate(PROMPT, model="gpt-image-1", quality="low")
    record = gen.images[0].metadata
    assert json.loads(json.dumps(record)) == record
    assert record["usage"] == gen.usage
    assert record["parameters"]["quality"] == "low"


# -- limits, lifecycle edges, tolerant parsing -------------------------------------------------


async def test_concurrency_caps_requests_in_flight(make_client: Any, fake: FakeAPI) -> None:
    fake.latency = 0.1
    client, _ = make_client(concurrency=2)
    gens = await asyncio.gather(
        *(
            client.generate(f"{PROMPT} #{i}", model="dall-e-3", response_format="b64_json")
            for i in range(5)
        )
    )
    assert all(gen.ok for gen in gens)
    assert fake.generation_count == 5
    assert 1 <= fake.max_in_flight <= 2


async def test_closing_the_client_ends_requests_in_flight(make_client: Any, fake: FakeAPI) -> None:
    fake.latency = 30  # the fake stops waiting when the client hangs up
    client, _ = make_client()
    task = asyncio.create_task(client.generate(PROMPT))
    for _ in range(500):
        if fake.in_flight:
            break
        await asyncio.sleep(0.01)
    assert fake.in_flight == 1
    await client.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await task


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="max_retries"):
        AsyncImageClient(api_key=FAKE_API_KEY, max_retries=-1)


@pytest.mark.parametrize("in_header", [True, False])
async def test_a_success_carries_the_request_id_header(
    client: AsyncImageClient, fake: FakeAPI, in_header: bool
) -> None:
    fake.request_id_in_header = in_header
    gen = await client.generate(PROMPT, model="dall-e-3", response_format="b64_json")
    expected = last_generation_request(fake).request_id if in_header else None
    assert gen.request_id == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"object": "list", "data": [{"id": "b"}, {"id": "a"}, {"id": "a"}]}, ["a", "b"]),
        ({"models": [{"name": "qwen-image"}, {"id": "dall-e-3"}]}, ["dall-e-3", "qwen-image"]),
        (["gpt-image-1", "dall-e-2", 7, None], ["dall-e-2", "gpt-image-1"]),
        ({"data": "nothing"}, []),
    ],
)
async def test_list_models_tolerates_answer_shapes(document: Any, expected: list[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer k"
        return httpx.Response(200, json=document)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncImageClient(api_key="k", base_url="http://localhost/v1", http_client=http) as c:
        assert [m.id for m in await c.list_models()] == expected
    await http.aclose()


async def test_a_429_pauses_every_request_sharing_the_limiter(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    waits: asyncio.Queue[float] = asyncio.Queue()
    release = asyncio.Event()

    async def held_sleep(seconds: float) -> None:  # a wait that lasts until the test says so
        waits.put_nowait(seconds)
        await release.wait()

    fake.fail_next(1, 429, headers={"Retry-After": "30"})
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, sleep=held_sleep
    ) as client:
        first = asyncio.create_task(
            client.generate(PROMPT, model="dall-e-3", response_format="b64_json")
        )
        # the first request got its 429 and waits...
        first_wait = await asyncio.wait_for(waits.get(), timeout=10)
        # ...and a request that got no 429, started during the pause, waits for it too
        second = asyncio.create_task(
            client.generate(PROMPT, model="dall-e-3", response_format="b64_json")
        )
        second_wait = await asyncio.wait_for(waits.get(), timeout=10)
        assert fake.generation_count == 1
        release.set()
        assert (await first).ok
        assert (await second).ok
    assert fake.generation_count == 3
    assert [first_wait, second_wait] == pytest.approx([30.0, 30.0], abs=5)
    assert waits.empty()


async def test_requests_per_minute_paces_the_client(make_client: Any, fake: FakeAPI) -> None:
    client, sleeps = make_client(requests_per_minute=1)  # one start a minute
    for _ in range(3):
        await client.generate(PROMPT, model="dall-e-3", response_format="b64_json")
    assert fake.generation_count == 3
    # the recording sleep takes no time, so the starts are reserved 60 s and 120 s after the first
    assert sleeps.calls == pytest.approx([60.0, 120.0], abs=10)
