"""Every string the server sends is redacted of the key, wherever an error keeps it.

The fake echoes the key in every server-controlled string it can set: an error's message,
``code``, ``type`` and ``param``, a problem+json answer's entries, an HTML page, a request id
header, an SSE event's name and its error object. The key may appear nowhere in the error:
not in its message, nor in any attribute (``reason``, ``body``, ``invalid_params``...), nor in
the errors of the partial result it carries.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from comet_widgets import AsyncImageClient, CometError
from comet_widgets.testing import FakeAPI, FakeServer

KEY = "sk-" + "echoed-SECRET-" + "5d1c0ffee"
JSON = "application/json"

#: Ways the fake sends the key back in what it says; each queues one fault.
ECHOES: dict[str, Callable[[FakeAPI], None]] = {
    "message, code and request id": lambda fake: fake.fail_next(
        1, 400, message=f"bad key {KEY}", code=KEY, headers={"x-request-id": KEY}
    ),
    "openai fields": lambda fake: fake.fail_next(
        1,
        400,
        body=json.dumps({"error": {"message": KEY, "type": KEY, "param": KEY, "code": KEY}}),
        content_type=JSON,
    ),
    "problem+json": lambda fake: fake.fail_next(
        1,
        422,
        body=json.dumps({"title": KEY, "detail": KEY, "errors": [{"field": KEY, "message": KEY}]}),
        content_type="application/problem+json",
    ),
    "html page": lambda fake: fake.fail_next(1, 500, body=f"<html><h1>{KEY}</h1></html>"),
    "error event": lambda fake: fake.break_stream_next(
        "error", after=1, message=KEY, code=KEY, event=KEY
    ),
    "error event after an image": lambda fake: fake.break_stream_next(
        "error", after=2, message=KEY, code=KEY, event=KEY
    ),
    "event name of bad json": lambda fake: fake.break_stream_next(
        "invalid_json", after=1, event=f"image_generation.partial_image {KEY}"
    ),
}


def _everything(error: CometError) -> str:
    """All an error shows: its str, repr, attributes, and the same of its partial result's."""
    errors = [error, *(error.generation.errors if error.generation is not None else [])]
    return "\n".join(f"{e}\n{e!r}\n{vars(e)!r}\n{e.args!r}" for e in errors)


@pytest.mark.parametrize("echo", sorted(ECHOES))
async def test_a_key_echoed_in_any_server_string_is_in_no_part_of_the_error(
    fake_server: FakeServer, fake: FakeAPI, echo: str
) -> None:
    ECHOES[echo](fake)
    async with AsyncImageClient(
        api_key=KEY, base_url=fake_server.base_url, max_retries=0
    ) as client:
        with pytest.raises(CometError) as caught:
            await client.generate("a key", model="gpt-image-2", n=2, partial_images=1)
    assert fake.requests, "the fault reached the fake"
    shown = _everything(caught.value)
    assert "[redacted]" in shown
    assert KEY not in shown
