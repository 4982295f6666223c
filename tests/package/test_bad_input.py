"""Bad-input matrix: everything a user can type wrong is refused before any request is sent.

Each row goes through ``AsyncImageClient.generate`` against the loopback fake, and checks that
the fake saw no generation request and that the message names the field, the value and what is
allowed. The rows live in tests/bad_inputs.py: the panel's part of the matrix
(tests/widget/test_panel_faults.py) sets the same inputs on its traits.
"""

from __future__ import annotations

import pytest
from bad_inputs import ROWS, BadInput

from comet_widgets import AsyncImageClient, InvalidParameterError
from comet_widgets.testing import FAKE_API_KEY, FakeAPI


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_bad_input_is_refused_before_any_request(
    row: BadInput, client: AsyncImageClient, fake: FakeAPI
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        await client.generate(row.prompt, **row.params)
    error = info.value
    message = str(error)
    assert error.field == row.field, message
    assert row.field in message
    assert row.shown in message, message
    assert row.allowed in message, message
    assert row.allowed in error.allowed, error.allowed  # the field, not only the text
    assert fake.generation_count == 0
    assert fake.requests == []  # nothing at all reached the fake
    # The client is still usable after a refusal.
    assert (await client.generate("a paper boat", model="dall-e-2", size="256x256")).ok
    assert fake.generation_count == 1


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("api.cometapi.com/v1", "'api.cometapi.com/v1'"),
        ("localhost:8000/v1", "'localhost:8000/v1'"),
        ("ftp://example.com/v1", "'ftp://example.com/v1'"),
        ("https://", "'https://'"),
    ],
    ids=["no-scheme", "host-port-no-scheme", "ftp", "no-host"],
)
def test_a_base_url_without_http_scheme_is_refused_by_the_constructor(
    base_url: str, shown: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        AsyncImageClient(api_key=FAKE_API_KEY, base_url=base_url)
    message = str(info.value)
    assert info.value.field == "base_url"
    assert "base_url" in message
    assert shown in message
    assert "https://api.cometapi.com/v1" in message  # what is allowed, by example


def test_unknown_constructor_keywords_are_refused() -> None:
    with pytest.raises(TypeError, match="max_retry"):
        AsyncImageClient(api_key=FAKE_API_KEY, max_retry=3)  # type: ignore[call-arg]


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(InvalidParameterError) as info:
        AsyncImageClient(api_key=FAKE_API_KEY, max_retries=-1)
    assert info.value.field == "max_retries"
    assert "-1" in str(info.value)
    assert "0 or more" in str(info.value)
