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
    name: module
    for module, names in {
        ".client._client": ("AsyncImageClient", "InsecureTransportWarning"),
        ".images._results": ("Generation", "GeneratedImage", "PartialImage"),
        ".images._metadata": ("read_metadata",),
        ".batch._generate": ("generate_many", "BatchResults", "BatchItem"),
        ".batch._results": ("StoredImage",),
        ".widget._panel": ("ImageGenerator",),
        ".widget._painter": ("MaskPainter",),
        ".widget._pending": ("PendingGeneration",),
        "._cost": ("Cost", "estimate_cost"),
        ".library._library": ("Library", "LibraryEntry"),
        ".compare._compare": ("compare",),
        ".compare._comparison": ("Comparison",),
    }.items()
    for name in names
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
    importlib.import_module(module_name, __name__)
    # Publish every lazy name whose module is loaded by now (this one's included), with the
    # public __module__ (a Generation from the client reprs as comet_widgets.Generation, not
    # ..._results.Generation).
    for other, where in _LAZY.items():
        loaded = getattr(sys.modules.get(__name__ + where), other, None)
        if loaded is not None:
            _publish(other, loaded)
    return globals()[name]


def _publish(name: str, value: Any) -> None:
    # Every public name is defined in a private module (comet_widgets._errors, ...).
    if isinstance(value, type) and value.__module__.startswith(__name__ + "."):
        value.__module__ = __name__
    globals()[name] = value


def __dir__() -> list[str]:
    return sorted(__all__)


# Tracebacks and reprs name the public path (comet_widgets.RateLimitError), not the private module.
for _name in __all__:
    if _name in globals():
        _publish(_name, globals()[_name])
del _name
