"""The fake's own names: its key, its in-process address, its request ids' prefix.

They live with the fake, not in the package's production modules; this module imports nothing,
so the panel recognises the fake (``comet_widgets.testing.FAKE_API_KEY``...) without loading it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FAKE_API_KEY", "IN_PROCESS_BASE_URL", "REQUEST_ID_PREFIX"]

#: A key for talking to the fake (which accepts any non-empty key unless given one). The panel
#: shows its offline banner when its default client would send it (as under ``make demo``).
FAKE_API_KEY: Final = "comet-fake-key"
#: The base URL to use with ``fake_transport`` (never resolved; a ``.localhost`` name, so the
#: client sees a loopback address and sends the key over plain http without a warning).
IN_PROCESS_BASE_URL: Final = "http://comet-fake.localhost/v1"
#: How the fake's request ids start (``fake-1-...``): the panel's badge turns "Offline" on them.
REQUEST_ID_PREFIX: Final = "fake-"
