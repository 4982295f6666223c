"""comet-widgets: image generation in Jupyter on CometAPI's OpenAI-compatible image API.

The client (``AsyncImageClient``) knows nothing about Jupyter; the widget (``ImageGenerator``),
the batch API (``generate_many``) and the CLI are built on it. Heavy parts (the widget, Pillow's
plugins, the batch machinery) load on first use, so ``import comet_widgets`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from ._catalog import (
    MODELS,
    PRICES,
    ModelInfo,
    ModelLifecycleWarning,
    ModelSpec,
    Price,
    build_payload,
    get_model,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchError,
    ClientClosedError,
    CometError,
    ConflictError,
    ContentPolicyError,
    FakeServerError,
    ImageDownloadError,
    InvalidCallError,
    InvalidItemError,
    InvalidParameterError,
    LibraryError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    StateError,
    UnprocessableEntityError,
)

if TYPE_CHECKING:
    from ._cost import Cost, estimate_cost
    from .batch._generate import generate_many
    from .batch._results import BatchItem, BatchResults, StoredImage
    from .client._client import AsyncImageClient, InsecureTransportWarning
    from .compare._compare import compare
    from .compare._comparison import Comparison
    from .images._metadata import read_metadata
    from .images._results import GeneratedImage, Generation, PartialImage
    from .library._library import Library, LibraryEntry
    from .widget._painter import MaskPainter
    from .widget._panel import ImageGenerator
    from .widget._pending import PendingGeneration

from ._version import __version__

# name -> private module that defines it; imported on first attribute access.
_LAZY = {
    "AsyncImageClient": ".client._client",
    "Generation": ".images._results",
    "GeneratedImage": ".images._results",
    "PartialImage": ".images._results",
    "read_metadata": ".images._metadata",
    "generate_many": ".batch._generate",
    "BatchResults": ".batch._generate",
    "BatchItem": ".batch._generate",
    "ImageGenerator": ".widget._panel",
    "MaskPainter": ".widget._painter",
    "InsecureTransportWarning": ".client._client",
    "PendingGeneration": ".widget._pending",
    "StoredImage": ".batch._results",
    "Cost": "._cost",
    "Library": ".library._library",
    "LibraryEntry": ".library._library",
    "estimate_cost": "._cost",
    "compare": ".compare._compare",
    "Comparison": ".compare._comparison",
}

__all__ = [
    "MODELS",
    "PRICES",
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
    "Comparison",
    "ConflictError",
    "ContentPolicyError",
    "Cost",
    "FakeServerError",
    "GeneratedImage",
    "Generation",
    "ImageDownloadError",
    "ImageGenerator",
    "InsecureTransportWarning",
    "InvalidCallError",
    "InvalidItemError",
    "InvalidParameterError",
    "Library",
    "LibraryEntry",
    "LibraryError",
    "MaskPainter",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelInfo",
    "ModelLifecycleWarning",
    "ModelSpec",
    "ModelUnavailableError",
    "NotFoundError",
    "PartialImage",
    "PendingGeneration",
    "PermissionDeniedError",
    "Price",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "StateError",
    "StoredImage",
    "UnprocessableEntityError",
    "__version__",
    "build_payload",
    "compare",
    "estimate_cost",
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


def _is_private(module: str) -> bool:
    """True for a module under a private name (``comet_widgets.client._client``)."""
    return module.startswith("comet_widgets.") and any(
        part.startswith("_") for part in module.split(".")[1:]
    )


def _publish(name: str, value: Any) -> None:
    if isinstance(value, type) and _is_private(value.__module__):
        value.__module__ = __name__
    globals()[name] = value


def __dir__() -> list[str]:
    return sorted(__all__)


# Tracebacks and reprs name the public path (comet_widgets.RateLimitError), not the private module.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type) and _is_private(_obj.__module__):
        _obj.__module__ = __name__
del _name, _obj
