"""The API key never leaks: not in a repr, an error, a traceback, a log record or CLI output.

The key is recognisable and built at runtime (a committed string shaped like a real key would
trip the repository's secret check). The fake echoes it back in some answers, as a careless
gateway might, to prove that ``redact`` scrubs whatever the server sends.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import subprocess
import sys
import traceback
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

import comet_widgets
from comet_widgets import AsyncImageClient, CometError, Generation
from comet_widgets.client._client import InsecureTransportWarning
from comet_widgets.testing import FakeAPI, FakeServer
from tests.helpers import clean_env, run_captured

KEY = "sk-" + "test-SECRET-" + "0123456789abcdef"
SECRET_PART = "SECRET-0123456789abcdef"  # what must not appear, even cut from its prefix
BUSY = "service unavailable, please try again later"


def assert_clean(text: str, where: str = "") -> None:
    assert SECRET_PART not in text, f"the key leaked into {where}: {text[:500]}"


def error_texts(error: BaseException) -> dict[str, str]:
    """Every text an error shows: message, repr, traceback, attributes, partial results."""
    texts = {
        "str": str(error),
        "repr": repr(error),
        "args": repr(error.args),
        "traceback": "".join(traceback.format_exception(error)),
        "attributes": repr(vars(error)),
    }
    generation = getattr(error, "generation", None)
    if isinstance(generation, Generation):
        texts["generation"] = repr(generation) + repr(generation.params)
        texts["images"] = "".join(repr(image) for image in generation.images)
    return texts


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every logger at DEBUG, httpx and httpcore included."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "comet_widgets"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_logs_clean(logs: pytest.LogCaptureFixture) -> None:
    assert logs.records, "nothing was logged: the check would prove nothing"
    for record in logs.records:
        assert_clean(record.getMessage(), f"log record {record.name}")
        assert_clean(repr(record.args), f"log args {record.name}")
        if record.exc_info and record.exc_info[1] is not None:
            assert_clean("".join(traceback.format_exception(record.exc_info[1])), "a logged error")
    assert_clean(logs.text, "the log text")


@pytest.fixture
async def keyed_client(fake_server: FakeServer) -> AsyncIterator[AsyncImageClient]:
    async def no_wait(seconds: float) -> None:
        pass

    async with AsyncImageClient(
        api_key=KEY, base_url=fake_server.base_url, sleep=no_wait, timeout=0.5
    ) as client:
        yield client


def inject(method: str, *args: Any, **kwargs: Any) -> Callable[[FakeAPI], None]:
    return lambda fake: getattr(fake, method)(*args, **kwargs)


FAULTS: dict[str, Callable[[FakeAPI], None]] = {
    "401-echoes-bearer": inject("fail_next", 1, 401, message=f"bad key: Bearer {KEY}"),
    "401-echoes-bare-key": inject("fail_next", 1, 401, message=f"the key {KEY} was revoked"),
    "400-echoes-key-in-code": inject("fail_next", 1, 400, message="no", code=KEY),
    "502-html-echoes-headers": inject(
        "fail_next", 3, 502, body=f"<html><pre>Authorization: Bearer {KEY}</pre></html>"
    ),
    "500-text-echoes-key": inject(
        "fail_next", 1, 500, body=f"upstream said {KEY}", content_type="text/plain"
    ),
    "429-echoes-key-above-cap": inject(
        "fail_next", 1, 429, message=f"slow down {KEY}", headers={"Retry-After": "999"}
    ),
    "429-exhausted": inject("fail_next", 3, 429),
    "503-model-unavailable": inject("fail_next", 1, 503),
    "503-busy-exhausted": inject("fail_next", 3, 503, message=BUSY),
    "reset-mid-body": inject("malform_next", "reset_mid_body"),
    "close-after-headers": inject("malform_next", "close_after_headers"),
    "trickle": inject("malform_next", "trickle"),
    "read-timeout": lambda fake: setattr(fake, "latency", 5.0),
    "invalid-json": inject("malform_next", "invalid_json"),
    "html-200": inject("malform_next", "html_200"),
    "html-301": inject("malform_next", "html_301"),
    "empty-data": inject("malform_next", "empty_data"),
    "bad-base64": inject("malform_next", "bad_base64"),
    "not-an-image": inject("malform_next", "not_an_image"),
    "truncated-png": inject("malform_next", "truncated_png"),
    "bomb": inject("malform_next", "bomb"),
    "huge-body": inject("malform_next", "huge_body"),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_the_key_never_leaks_from_an_error(
    fault: Callable[[FakeAPI], None],
    fake: FakeAPI,
    keyed_client: AsyncImageClient,
    logs: pytest.LogCaptureFixture,
) -> None:
    fake.trickle_seconds, fake.trickle_chunks = 3.0, 30
    keyed_client.max_response_bytes = 1_000_000
    fault(fake)
    with pytest.raises(CometError) as info:
        await keyed_client.generate(
            "a paper boat", model="dall-e-2", size="256x256", response_format="b64_json"
        )
    for where, text in error_texts(info.value).items():
        assert_clean(text, where)
    assert_clean(repr(getattr(info.value, "body", None)), "the error body")
    assert_clean(repr(keyed_client), "the client's repr")
    assert_logs_clean(logs)
    assert all(r.auth_ok for r in fake.requests if r.path.endswith("/generations"))


async def test_an_echoed_key_is_scrubbed_but_the_rest_of_the_message_kept(
    fake: FakeAPI, keyed_client: AsyncImageClient
) -> None:
    """The check above must be able to fail: the fake really sends the key back."""
    fake.fail_next(1, 401, message=f"bad key: Bearer {KEY} (see docs)")
    with pytest.raises(CometError) as info:
        await keyed_client.generate("a paper boat", model="dall-e-2", size="256x256")
    assert "bad key: Bearer [redacted] (see docs)" in str(info.value)
    assert "request id: fake-" in str(info.value)


async def test_the_key_never_leaks_from_results_or_url_mode(
    fake: FakeAPI, keyed_client: AsyncImageClient, logs: pytest.LogCaptureFixture
) -> None:
    fake.expire_urls([1])
    fake.non_http_urls([2])
    generation = await keyed_client.generate(
        "a paper boat", model="dall-e-2", size="256x256", n=3, response_format="url"
    )
    assert [image.ok for image in generation.images] == [True, False, False]
    assert_clean(repr(generation) + repr(generation.params) + repr(generation.extra), "generation")
    for image in generation.images:
        assert_clean(repr(image) + repr(image.metadata), "an image")
        if image.error is not None:
            for where, text in error_texts(image.error).items():
                assert_clean(text, where)
    files = [r for r in fake.requests if r.path.startswith("/files/")]
    assert len(files) == 2
    assert not any(r.auth_present for r in files)  # downloads never carry the key
    assert_logs_clean(logs)


async def test_a_text_200_answer_echoing_the_key_is_scrubbed() -> None:
    """A 2xx that is not JSON is quoted in the error: the quote is scrubbed too."""

    def handler(request: httpx.Request) -> httpx.Response:
        text = f"hello {request.headers['authorization']} and {KEY}"
        return httpx.Response(200, text=text, headers={"content-type": "text/plain"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncImageClient(
        api_key=KEY, base_url="http://127.0.0.1:9/v1", http_client=http
    ) as client:
        with pytest.raises(CometError) as info:
            await client.generate("a paper boat")
    await http.aclose()
    assert "hello Bearer [redacted]" in str(info.value)
    for where, text in error_texts(info.value).items():
        assert_clean(text, where)


async def test_the_key_is_not_in_the_client_or_its_payloads(
    fake: FakeAPI, fake_server: FakeServer
) -> None:
    async with AsyncImageClient(api_key=KEY, base_url=fake_server.base_url) as client:
        generation = await client.generate("a paper boat", model="dall-e-2", size="256x256")
        assert_clean(repr(client), "the client's repr")
        assert_clean(str(client), "the client's str")
        assert_clean(repr(generation.params), "the params sent")
    assert [r.auth_ok for r in fake.requests if r.path.endswith("/generations")] == [True]


# -- plain http to another host -------------------------------------------------------------------


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


def _image_answer(request: httpx.Request) -> httpx.Response:
    b64 = base64.b64encode(_png()).decode()
    return httpx.Response(200, json={"created": 1, "data": [{"b64_json": b64}]})


@pytest.mark.parametrize(
    ("base_url", "warns"),
    [
        ("http://images.example.com/v1", True),
        ("http://10.0.0.7:8080/v1", True),
        ("https://images.example.com/v1", False),
        ("http://127.0.0.1:8080/v1", False),
        ("http://localhost:8080/v1", False),
        ("http://[::1]:8080/v1", False),
    ],
)
async def test_plain_http_to_another_host_warns(base_url: str, warns: bool) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return _image_answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # nothing leaves the process
    client = AsyncImageClient(api_key=KEY, base_url=base_url, http_client=http)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await client.generate("a paper boat")
        await client.generate("a paper boat")
    await client.aclose()
    await http.aclose()
    insecure = [w for w in caught if issubclass(w.category, InsecureTransportWarning)]
    assert len(insecure) == (1 if warns else 0)  # once per client, not per request
    if warns:
        message = str(insecure[0].message)
        assert "plain http" in message
        assert str(httpx.URL(base_url).host) in message
        assert_clean(message, "the warning")
        # It points at the caller's line (this test), not at the package's own.
        assert insecure[0].filename == __file__
    assert len(sent) == 2


async def test_the_insecure_warning_points_at_the_users_line_for_list_models() -> None:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"data": []}))
    )
    client = AsyncImageClient(api_key=KEY, base_url="http://api.example.com/v1", http_client=http)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await client.list_models()
    await client.aclose()
    await http.aclose()
    [warning] = [
        w for w in caught if issubclass(w.category, comet_widgets.InsecureTransportWarning)
    ]
    assert warning.filename == __file__


# -- the command line ---------------------------------------------------------------------------


def run_cli(
    *args: str, base_url: str, cwd: Path, debug: bool = True
) -> subprocess.CompletedProcess[str]:
    debugging = ["--debug"] if debug else []
    return run_captured(
        [sys.executable, "-m", "comet_widgets", *args, "--base-url", base_url, *debugging],
        cwd=cwd,
        env=clean_env("COMETAPI", COMETAPI_KEY=KEY),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "exit_code"),
    [
        (None, 0),
        (inject("fail_next", 1, 401, message=f"bad key: Bearer {KEY}"), 1),
        (inject("fail_next", 1, 500, body=f"<html>Authorization: Bearer {KEY}</html>"), 1),
        (inject("malform_next", "reset_mid_body"), 1),
    ],
    ids=["success", "401-echoing-the-key", "500-html-echoing-the-key", "reset-mid-body"],
)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_cli_output_never_shows_the_key(
    fault: Callable[[FakeAPI], None] | None,
    exit_code: int,
    debug: bool,
    fake: FakeAPI,
    fake_server: FakeServer,
    tmp_path: Path,
) -> None:
    if fault is not None:
        fault(fake)
    result = run_cli(
        "generate",
        "a paper boat",
        "-m",
        "dall-e-2",
        "--size",
        "256x256",
        "-o",
        str(tmp_path / "out"),
        base_url=fake_server.base_url,
        cwd=tmp_path,
        debug=debug,
    )
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output
    assert_clean(output, "CLI output")
    assert fake.generation_count == 1
    if fault is None:
        assert list((tmp_path / "out").glob("*.png")), output  # it did generate and save
    elif debug:  # --debug adds the traceback, which must be as clean as the message
        assert "Traceback" in result.stderr, output
    else:  # the one-line message says what to do, and no traceback is shown
        assert "What to do" in result.stderr, output
        assert "Traceback" not in output, output
    for path in (tmp_path / "out").rglob("*") if (tmp_path / "out").exists() else []:
        if path.is_file():
            assert SECRET_PART.encode() not in path.read_bytes(), path


# -- log redaction is per client (docs/errors.md "Secrets") ---------------------------------


async def test_an_echoed_header_is_scrubbed_from_httpcores_record(
    fake: FakeAPI, keyed_client: AsyncImageClient, logs: pytest.LogCaptureFixture
) -> None:
    # httpcore logs response headers raw at DEBUG: only the filter stands between them and a log.
    fake.fail_next(1, 400, headers={"x-echo": f"Bearer-less {KEY}"})
    with pytest.raises(CometError):
        await keyed_client.generate("a paper boat", model="dall-e-2", size="256x256")
    echoed = [r for r in logs.records if "x-echo" in r.getMessage()]
    assert echoed, "httpcore logged no response headers: the check would prove nothing"
    assert all("Bearer-less [redacted]" in r.getMessage() for r in echoed)
    assert_logs_clean(logs)


async def test_each_clients_records_are_scrubbed_of_its_own_key_only(
    fake_server: FakeServer, logs: pytest.LogCaptureFixture
) -> None:
    # "k" is a one-letter key, as tests use: it must garble no record but its own client's.
    short = AsyncImageClient(api_key="k", base_url=fake_server.base_url)
    keyed = AsyncImageClient(api_key=KEY, base_url=fake_server.base_url)
    async with short, keyed:
        await asyncio.gather(
            short.generate("one", model="dall-e-2", size="256x256"),
            keyed.generate("two", model="dall-e-2", size="256x256"),
        )
    posted = [r.getMessage() for r in logs.records if "request_id=" in r.getMessage()]
    assert len(posted) == 2, posted
    # The fake's request ids are "fake-...": the short client's line loses its k, the other not.
    assert sorted("request_id=fa[redacted]e-" in line for line in posted) == [False, True]
    assert any("request_id=fake-" in line for line in posted)
    assert_logs_clean(logs)


async def test_a_used_key_is_not_scrubbed_from_records_of_no_client(
    fake_server: FakeServer, logs: pytest.LogCaptureFixture
) -> None:
    async with AsyncImageClient(api_key="k", base_url=fake_server.base_url) as client:
        await client.generate("one", model="dall-e-2", size="256x256")
    logging.getLogger("comet_widgets").warning("keep working")
    logging.getLogger("httpx").warning("ok, talk")
    assert [r.getMessage() for r in logs.records[-2:]] == ["keep working", "ok, talk"]
