"""The fake's ``POST /v1/images/edits`` refuses what the real service refuses, over loopback."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

AUTH = {"Authorization": f"Bearer {FAKE_API_KEY}"}


def png(size: tuple[int, int] = (64, 64), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


async def post(server: FakeServer, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{server.base_url}/images/edits", headers=AUTH, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"json": {"prompt": "x"}}, "multipart/form-data"),
        (
            {"data": {"prompt": "x", "model": "gpt-image-2"}, "files": {"mask": ("m.png", png())}},
            "no image",
        ),
        (
            {
                "data": {"prompt": "x"},
                "files": [("image", ("a.png", png())), ("image[]", ("b.png", png()))],
            },
            "either image",
        ),
        ({"data": {"prompt": "x"}, "files": {"image": ("a.txt", b"hello")}}, "not an image"),
        (
            {"data": {"prompt": "x", "model": "dall-e-3"}, "files": {"image": ("a.png", png())}},
            "cannot edit",
        ),
        (
            {
                "data": {"prompt": "x", "model": "dall-e-2"},
                "files": {"image": ("a.png", png((64, 32)))},
            },
            "square",
        ),
        (
            {
                "data": {"prompt": "x"},
                "files": {"image": ("a.png", png()), "mask": ("m.png", png(mode="RGB"))},
            },
            "no alpha channel",
        ),
        (
            {"data": {"prompt": "x", "n": "two"}, "files": {"image": ("a.png", png())}},
            "n must be a number",
        ),
        (
            {
                "data": {"prompt": "x", "input_fidelity": "high"},
                "files": {"image": ("a.png", png())},
            },
            "input_fidelity",
        ),
    ],
)
async def test_refusals(
    fake_server: FakeServer, fake: FakeAPI, kwargs: dict[str, object], text: str
) -> None:
    response = await post(fake_server, **kwargs)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert text in error["message"]
    # Every refusal says why, and names the field when one is at fault, as OpenAI does.
    if error["code"] == "invalid_request_body":  # not multipart at all: no field to name
        assert error["param"] is None
    else:
        assert error["code"] in ("invalid_value", "unsupported_parameter")
        assert error["param"]
        assert error["param"] in error["message"]
    assert fake.success_count == 0


async def test_get_is_not_allowed_and_a_key_is_needed(fake_server: FakeServer) -> None:
    async with httpx.AsyncClient() as http:
        got = await http.get(f"{fake_server.base_url}/images/edits", headers=AUTH)
        assert got.status_code == 405
        anonymous = await http.post(
            f"{fake_server.base_url}/images/edits",
            data={"prompt": "x"},
            files={"image": ("a.png", png())},
        )
        assert anonymous.status_code == 401


async def test_fault_knobs_apply_to_edits(fake_server: FakeServer, fake: FakeAPI) -> None:
    fake.fail_next(1, 503)
    fake.malform_next("bad_base64")
    files = {"image": ("a.png", png())}
    first = await post(fake_server, data={"prompt": "x"}, files=files)
    second = await post(fake_server, data={"prompt": "x"}, files=files)
    third = await post(fake_server, data={"prompt": "x"}, files=files)
    assert first.status_code == 503
    assert second.status_code == 200
    assert "b64_json" in second.text
    assert third.json()["data"][0]["b64_json"] != second.json()["data"][0]["b64_json"]
    assert fake.edit_count == 3


async def test_a_gif_edit_answers_an_animated_gif(fake_server: FakeServer) -> None:
    """``output_format=gif``: GIF bytes with ``frame_count`` frames, not a PNG labelled gif."""
    response = await post(
        fake_server,
        data={"prompt": "x", "model": "gpt-image-2", "output_format": "gif", "frame_count": "3"},
        files={"image": ("a.png", png((96, 64)))},
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert (document["output_format"], document["size"]) == ("gif", "96x64")
    data = base64.b64decode(document["data"][0]["b64_json"])
    with Image.open(io.BytesIO(data)) as gif:
        assert (gif.format, gif.size, gif.n_frames) == ("GIF", (96, 64), 3)
