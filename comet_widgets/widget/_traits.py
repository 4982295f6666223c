"""Two small trait types for the widget: a list of images that always notifies, and a path.

``PixelList``: assigning a new list of PIL images must fire ``observe(..., names="images")``
even when the pixels equal the previous ones (a placeholder drawn again from the same prompt),
and must not compare megabytes of pixels to find out. Its lists compare their items by identity.
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import List, Unicode

__all__ = ["PathText", "PixelList"]


class _IdentityList(list[Any]):
    """A list equal to another only when they hold the very same objects, in order.

    traitlets compares the old and new value to decide whether to notify: new images (new
    objects) always notify, and no pixels are compared.
    """

    __hash__ = None  # lists stay unhashable, as list itself

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list):
            return NotImplemented
        return len(self) == len(other) and all(a is b for a, b in zip(self, other, strict=True))

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal


class PixelList(List):  # type: ignore[type-arg]  # traitlets' List is generic only in stubs
    """A ``List`` trait whose value is an identity-compared list."""

    klass = _IdentityList
    _cast_types = (tuple, list)


class PathText(Unicode):  # type: ignore[type-arg]
    """A ``Unicode`` trait that also takes ``os.PathLike`` values (stored as text)."""

    def validate(self, obj: Any, value: Any) -> Any:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        return super().validate(obj, value)
