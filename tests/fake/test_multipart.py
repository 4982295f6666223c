"""The fake's own multipart parser (``parse_form``): every body httpx (and so the openai SDK,
which sends through httpx) writes comes back exactly, binary files included, and malformed
bodies are refused with a message. The SDK's own bodies: tests/contract/test_edit_contract.py.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comet_widgets.testing._asgi import Refusal
from comet_widgets.testing._edits import parse_form

#: Bytes that trip a naive parser: line breaks, boundary-like runs, a blank line, NULs.
HOSTILE = st.lists(
    st.sampled_from([b"\r\n", b"\r", b"\n", b"--", b"\r\n--", b"\r\n\r\n", b"\x00", b"\xff"])
    | st.binary(max_size=40),
    max_size=12,
).map(b"".join)
NAMES = st.sampled_from(["image", "image[]", "mask"])
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


def encode(
    fields: dict[str, str], files: list[tuple[str, tuple[str, bytes, str]]]
) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://fake.local/v1/images/edits", data=fields, files=files)
    return request.read(), request.headers["content-type"]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(["prompt", "model", "n", "size", "user"]), TEXT),
    files=st.lists(st.tuples(NAMES, st.text(max_size=12), HOSTILE), min_size=1, max_size=5),
)
def test_every_part_comes_back_exactly(
    fields: dict[str, str], files: list[tuple[str, str, bytes]]
) -> None:
    body, content_type = encode(
        fields, [(name, (f"{filename}.png", data, "image/png")) for name, filename, data in files]
    )
    parts, by_name = parse_form(body, content_type)
    assert {p.name: p.value for p in parts if p.filename is None} == fields
    sent = [(name, data) for name, _, data in files]
    assert [(p.name, by_name[p.name].pop(0)) for p in parts if p.filename is not None] == sent
    assert [p.size for p in parts if p.filename is not None] == [len(d) for _, _, d in files]
    assert {p.content_type for p in parts if p.filename is not None} <= {"image/png"}


def test_filenames_and_unicode_survive() -> None:
    body, content_type = encode(
        {"prompt": "un café\r\nau lait"}, [("image[]", ("été; \\x.png", b"\x89PNG\r\n", "a/b"))]
    )
    parts, files = parse_form(body, content_type)
    assert [(p.name, p.filename, p.value) for p in parts] == [
        ("prompt", None, "un café\r\nau lait"),
        ("image[]", "été; \\x.png", None),
    ]
    assert files == {"image[]": [b"\x89PNG\r\n"]}


GOOD, GOOD_TYPE = encode({"prompt": "x"}, [("image", ("a.png", b"data", "image/png"))])


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (GOOD, "application/json", "expected a multipart/form-data body"),
        (GOOD, "multipart/form-data", "expected a multipart/form-data body"),
        (GOOD, "multipart/form-data; boundary=elsewhere", "the boundary never appears"),
        (GOOD[: GOOD.rindex(b"--")], GOOD_TYPE, "ends before the closing boundary"),
        (GOOD[: len(GOOD) // 2], GOOD_TYPE, "ends before the closing boundary"),
        (GOOD.replace(b"\r\n\r\n", b"\r\n", 1), GOOD_TYPE, "has no header block"),
    ],
    # Fixed ids: the boundary is random, and pytest-xdist's workers must collect the same names.
    ids=["json", "no-boundary", "other-boundary", "no-closing", "cut-in-half", "no-header-block"],
)
def test_malformed_bodies_are_refused(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse_form(body, content_type)
    assert (refused.value.status, refused.value.code) == (400, "invalid_request_body")
    assert message in refused.value.message


@pytest.mark.slow
def test_offline_edits_need_no_multipart_library() -> None:
    """Offline mode is part of the plain install: its edits parse without python-multipart."""
    script = """
import asyncio, io, sys
sys.modules["python_multipart"] = sys.modules["multipart"] = None  # importing them fails
from PIL import Image
from comet_widgets.testing._offline import OfflineClient

async def main():
    image, mask = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(image, "PNG")
    Image.new("RGBA", (64, 64)).save(mask, "PNG")
    async with OfflineClient() as client:
        done = await client.edit("snow", image=image.getvalue(), mask=mask.getvalue())
        assert done.ok and done.images[0].image.size == (64, 64), done

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
