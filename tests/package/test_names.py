"""One public name per idea (issue 12): ``.ok`` is a bool wherever it exists, the retry-wait
cap and the concurrency cap have one name each across the client, the batch and the defaults."""

from __future__ import annotations

import inspect
import typing

import pytest

from comet_widgets import (
    AsyncImageClient,
    BatchItem,
    BatchResults,
    GeneratedImage,
    Generation,
    StoredImage,
    generate_many,
)
from comet_widgets import _constants as constants
from comet_widgets.batch._manifest import MergeReport
from comet_widgets.client._retry import RetryPolicy


@pytest.mark.parametrize(
    "cls",
    [Generation, GeneratedImage, StoredImage, BatchItem, BatchResults, MergeReport],
    ids=lambda cls: cls.__name__,
)
def test_ok_is_a_bool_everywhere(cls: type) -> None:
    ok = inspect.getattr_static(cls, "ok")
    assert isinstance(ok, property), f"{cls.__name__}.ok is not a property"
    assert typing.get_type_hints(ok.fget)["return"] is bool


def test_the_retry_wait_cap_has_one_name() -> None:
    client = inspect.signature(AsyncImageClient).parameters["max_retry_wait"]
    assert client.default == constants.MAX_RETRY_WAIT == RetryPolicy().max_retry_wait
    for old in ("MAX_RETRY_AFTER",):
        assert not hasattr(constants, old)
    assert "max_retry_after" not in {f for f in RetryPolicy.__dataclass_fields__}


def test_the_concurrency_cap_has_one_name() -> None:
    client = inspect.signature(AsyncImageClient).parameters
    batch = inspect.signature(generate_many).parameters
    assert "concurrency" in client
    assert "concurrency" in batch
    assert "max_concurrency" not in client
    assert "max_concurrency" not in batch
