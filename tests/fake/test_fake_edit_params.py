"""The fake's ``POST /v1/images/edits`` validates with ``EditParams`` (``build_edit_payload``),
as the client does."""

from __future__ import annotations

import httpx

from comet_widgets import AsyncImageClient
from comet_widgets.testing import FAKE_API_KEY, FakeServer
from tests.helpers import MARKUP_MODEL, PHOTO, marks


async def test_the_fake_refuses_what_the_client_refuses(
    fake_server: FakeServer, client: AsyncImageClient
) -> None:
    """A form the client would never send (here sent by hand) is refused with a 400 naming
    the problem, and a markup for a gpt-image-2.5 model is taken."""
    http = httpx.AsyncClient(base_url=fake_server.base_url)
    headers = {"Authorization": f"Bearer {FAKE_API_KEY}"}
    cases = [
        ({"prompt": "x", "moderation": "low"}, {}, "edits take no moderation"),
        ({"prompt": "x", "model": "gpt-image-2"}, {"markup": marks()}, "takes no markup"),
        (
            {"prompt": "x", "model": MARKUP_MODEL},
            {"markup": marks(), "mask": marks()},
            "cannot be combined with a mask",
        ),
        ({"prompt": "x", "output_format": "gif"}, {"mask": marks()}, "GIF output takes no mask"),
    ]
    async with http:
        for data, extra, words in cases:
            files = [("image", ("a.png", PHOTO, "image/png"))]
            files += [(name, (f"{name}.png", body, "image/png")) for name, body in extra.items()]
            answer = await http.post("/images/edits", data=data, files=files, headers=headers)
            assert answer.status_code == 400, (data, answer.text)
            assert words in answer.text
    await client.edit("x", image=PHOTO, markup=marks(), model=MARKUP_MODEL)  # and takes a markup
