"""Long ``b64_json`` strings are decoded straight from the body (``_wire._lift_b64``).

The fast path must never change a result: whatever the body, parsing with it gives the document
that parsing the whole body gives, with the long strings as views of the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from comet_widgets.client._wire import (
    LIFT_MIN_BYTES,
    _lift_b64,
    _loads,
    _loads_lifted,
    parse_body,
)

MAX_PIXELS = 64_000_000


def big_png() -> bytes:
    """A PNG whose base64 is longer than LIFT_MIN_BYTES (random pixels do not compress)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (160, 160), os.urandom(160 * 160 * 3)).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert len(base64.b64encode(data)) > LIFT_MIN_BYTES
    return data


def parse(body: bytes) -> Any:
    return parse_body(
        body, status=200, content_type="application/json", request_id="r1", max_pixels=MAX_PIXELS
    )


def plain(value: Any) -> Any:
    """The document with memoryviews turned back into the strings they hold."""
    if isinstance(value, memoryview):
        return bytes(value).decode("ascii")
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def test_long_strings_are_lifted_and_decoded_from_the_body() -> None:
    png = big_png()
    text = base64.b64encode(png).decode()
    body = json.dumps(
        {"created": 5, "data": [{"b64_json": text, "revised_prompt": "r"}, {"url": "u"}]}
    ).encode()
    lifted = _lift_b64(body)
    assert lifted is not None
    skeleton, views = lifted
    assert len(skeleton) < 200
    assert [bytes(v) for v in views] == [text.encode()]
    document = _loads_lifted(body)
    assert isinstance(document["data"][0]["b64_json"], memoryview)
    parsed = parse(body)
    assert parsed.images[0].data == png
    assert parsed.images[0].revised_prompt == "r"
    assert parsed.pending_urls == {1: "u"}


def test_escaped_slashes_fall_back_to_parsing_the_whole_body() -> None:
    png = big_png()
    text = base64.b64encode(png).decode()
    assert "/" in text
    body = b'{"data":[{"b64_json":"' + text.replace("/", "\\/").encode() + b'"}]}'
    assert _lift_b64(body) is None
    assert parse(body).images[0].data == png


def test_a_b64_json_key_outside_the_data_items_falls_back() -> None:
    png = big_png()
    text = base64.b64encode(png).decode()
    body = json.dumps({"b64_json": text, "data": [{"b64_json": text}]}).encode()
    document = _loads_lifted(body)
    assert document == _loads(body)
    assert parse(body).images[0].data == png


def test_a_server_string_that_looks_like_a_placeholder_falls_back() -> None:
    png = big_png()
    text = base64.b64encode(png).decode()
    body = json.dumps({"data": [{"b64_json": "\x00b64:0"}, {"b64_json": text}]}).encode()
    parsed = parse(body)
    assert parsed.images[0].error is not None
    assert parsed.images[1].data == png


def test_bad_base64_in_a_long_string_fails_that_image_only() -> None:
    png = big_png()
    text = base64.b64encode(png).decode()
    broken = text[:1000] + "%%%" + text[1003:]
    body = json.dumps({"data": [{"b64_json": broken}, {"b64_json": text}]}).encode()
    parsed = parse(body)
    assert "not valid base64" in str(parsed.images[0].error)
    assert "r1" in str(parsed.images[0].error)
    assert parsed.images[1].data == png


class _Long(str):
    """A long string with a short repr: hypothesis writes every example's repr, and a
    64 KB one trips its HypothesisWarning (an error under filterwarnings=error)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} chars ending {self[-4:]!r}>"


LONG = _Long("A" * LIFT_MIN_BYTES)
KEYS = st.sampled_from(["b64_json", "url", "revised_prompt", "x", 'q"b64_json', "b64_json "])
VALUES = st.one_of(
    st.just(LONG),
    st.just(_Long(LONG[:-4] + "\\/AA")),
    st.just("\x00b64:0"),
    st.just("\x00b64:1"),
    st.text(max_size=8),
    st.integers(),
    st.none(),
)
ITEMS = st.dictionaries(KEYS, VALUES, max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(ITEMS, max_size=3),
    top=st.dictionaries(KEYS, VALUES, max_size=2),
    indent=st.sampled_from([None, 1]),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]),
)
def test_lifting_never_changes_the_document(
    items: list[dict[str, Any]],
    top: dict[str, Any],
    indent: int | None,
    separators: tuple[str, str],
) -> None:
    document = {**top, "data": items}
    body = json.dumps(document, indent=indent, separators=separators).encode()
    assert plain(_loads_lifted(body)) == _loads(body) == document


def test_bytes_json_forbids_inside_a_long_string_fail_that_image_only() -> None:
    png = big_png()
    text = base64.b64encode(png)
    for junk in (b"\n", b"\xff\xfe"):
        body = b'{"data":[{"b64_json":"' + text[:500] + junk + text[500:] + b'"}]}'
        parsed = parse(body)
        assert "not valid base64" in str(parsed.images[0].error)


def test_a_key_ending_in_b64_json_cannot_swap_values() -> None:
    # '"q\"b64_json"' holds the bytes '"b64_json"', and the real b64_json is a server string
    # that reads like a placeholder: lifting would put the long value under the wrong key.
    document = {"data": [{'q"b64_json': str(LONG), "b64_json": "\x00b64:0"}]}
    body = json.dumps(document).encode()
    assert _lift_b64(body) is None
    assert plain(_loads_lifted(body)) == document
