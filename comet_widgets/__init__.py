"""comet-widgets: image generation in Jupyter on CometAPI's OpenAI-compatible image API.

The client (``AsyncImageClient``) knows nothing about Jupyter; the widget (``ImageGenerator``),
the batch API (``generate_many``) and the CLI are built on it. Heavy parts (the widget, Pillow's
plugins, the batch machinery) load on first use, so ``import comet_widgets`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from ._catalog import MODELS, ModelSpec, build_payload, get_model
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchError,
    ClientClosedError,
    CometError,
    ContentPolicyError,
    ImageDownloadError,
    InvalidItemError,
    InvalidParameterError,
    MissingAPIKeyError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
)

if TYPE_CHECKING:
    from ._batch import generate_many
    from ._batch_results import BatchItem, BatchResults
    from ._client import AsyncImageClient
    from ._metadata import read_metadata
    from ._results import GeneratedImage, Generation
    from ._widget import ImageGenerator

__version__ = "0.1.0"

# name -> private module that defines it; imported on first attribute access.
_LAZY = {
    "AsyncImageClient": "._client",
    "Generation": "._results",
    "GeneratedImage": "._results",
    "read_metadata": "._metadata",
    "generate_many": "._batch",
    "BatchResults": "._batch",
    "BatchItem": "._batch",
    "ImageGenerator": "._widget",
}

__all__ = [
    "MODELS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncImageClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "BatchItem",
    "BatchResults",
    "ClientClosedError",
    "CometError",
    "ContentPolicyError",
    "GeneratedImage",
    "Generation",
    "ImageDownloadError",
    "ImageGenerator",
    "InvalidItemError",
    "InvalidParameterError",
    "MissingAPIKeyError",
    "ModelSpec",
    "ModelUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "__version__",
    "build_payload",
    "generate_many",
    "get_model",
    "read_metadata",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'comet_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    # Publish every lazy name whose module is loaded by now, with the public __module__ (so a
    # Generation from the client reprs as comet_widgets.Generation, not ..._results.Generation).
    for other, where in _LAZY.items():
        loaded = getattr(sys.modules.get(__name__ + where), other, None)
        if loaded is not None:
            _publish(other, loaded)
    _publish(name, value)
    return value


def _publish(name: str, value: Any) -> None:
    if isinstance(value, type) and value.__module__.startswith("comet_widgets._"):
        value.__module__ = __name__
    globals()[name] = value


def __dir__() -> list[str]:
    return sorted(__all__)


# Tracebacks and reprs name the public path (comet_widgets.RateLimitError), not the private module.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type) and _obj.__module__.startswith("comet_widgets._"):
        _obj.__module__ = __name__
del _name, _obj
