"""Every default of the package in one place.

Timeouts are generous on purpose: a real image generation takes tens of seconds, minutes for
high-quality GPT images, while a connection that cannot be opened should fail fast.
"""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://api.cometapi.com/v1"
API_KEY_ENV: Final = "COMETAPI_KEY"
BASE_URL_ENV: Final = "COMETAPI_BASE_URL"
OFFLINE_ENV: Final = "COMETAPI_OFFLINE"
#: What adds each extra (its error, the panel's notice and docs/getting-started.md say these lines).
SERVER_INSTALL: Final = 'pip install "comet-widgets[server]"'
PAINTER_INSTALL: Final = 'pip install "comet-widgets[painter]"'

DEFAULT_MODEL: Final = "gpt-image-2"  # CometAPI's Create-images page starts with it
DEFAULT_SIZE: Final = "1024x1024"
DEFAULT_N: Final = 1
#: The panel's image count on entering edit mode (the generation's comes back on leaving it).
DEFAULT_EDIT_N: Final = 1
#: Partial previews per image when streaming is wanted and no number is given (client.stream;
#: the panel's previews are off until the user picks a number). Each costs about 100 output
#: tokens.
DEFAULT_PARTIAL_IMAGES: Final = 2
DEFAULT_OUTPUT_DIR: Final = "comet-images"
#: Where a paid image goes when its folder cannot be written at the end (in the temp folder).
RESCUE_DIR: Final = "comet-images-rescued"

# Timeouts, in seconds.
CONNECT_TIMEOUT: Final = 10.0
READ_TIMEOUT: Final = 600.0  # ten minutes: slow models and edits legitimately take minutes
WRITE_TIMEOUT: Final = 60.0
POOL_TIMEOUT: Final = 3600.0  # a batch may queue behind its own concurrency cap for long
DOWNLOAD_READ_TIMEOUT: Final = 120.0

# Retries. Only failures that cannot have produced (and billed) an image are retried by default.
DEFAULT_MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
MAX_RETRY_WAIT: Final = 60.0  # a server hint above this is not waited for: the call fails instead

# Size limits.
MAX_RESPONSE_BYTES: Final = 256 * 1024 * 1024  # a whole JSON body with n=10 large b64 images fits
MAX_IMAGE_BYTES: Final = 64 * 1024 * 1024  # one downloaded image
MAX_IMAGE_PIXELS: Final = 64_000_000  # 8000x8000; gpt-image-2's largest is 3840x2160 (8.3 MP)
MAX_REDIRECTS: Final = 5
#: A ``usage`` count above this is absurd (100M output tokens would be $2,400 for one request):
#: the cost then falls back to the estimate.
MAX_USAGE_TOKENS: Final = 100_000_000

# Parsing a body above this size moves to a thread so the event loop stays free. Below it,
# parsing on the loop is cheaper: jiter + pybase64 take ~0.3 ms per 2 MB image (a loop stall of
# ~3 ms for four at once), while the thread hand-off cost ~0.7 ms per call (bench/RESULTS.md).
OFFLOAD_DECODE_BYTES: Final = 16 * 1024 * 1024

# Previews shown in notebooks and the widget gallery.
THUMBNAIL_MAX_SIDE: Final = 512  # gallery thumbnails and notebook previews alike
THUMBNAIL_JPEG_QUALITY: Final = 85

# Decoded PIL images kept alive at once (GeneratedImage.image); older ones are dropped and
# decoded again on the next access. Compressed bytes are always kept.
DECODED_CACHE_SIZE: Final = 16

USER_AGENT: Final = "comet-widgets"

#: The model ``AsyncImageClient.edit`` (and the fake's edits, when no model is sent) uses:
#: one that edits (dall-e-3 cannot).
DEFAULT_EDIT_MODEL: Final = "gpt-image-2"

# The image library (comet_widgets.Library).
#: Where the library lives when no path is given (else the user's data directory).
LIBRARY_ENV: Final = "COMET_WIDGETS_LIBRARY"
#: How long a write waits for another process's transaction before giving up, in seconds.
LIBRARY_BUSY_TIMEOUT: Final = 30.0
#: The longest side of the thumbnails the library stores (browsing never decodes full images).
LIBRARY_THUMBNAIL_SIDE: Final = 256
#: Entries a search returns per page by default.
LIBRARY_PAGE_SIZE: Final = 50
#: Cards per page of the panel's Library view (each page reuses the same cards).
LIBRARY_VIEW_PAGE: Final = 24

# Comparisons (comet_widgets.compare).
#: The most cells a comparison runs unless ``max_cells=`` is raised.
COMPARE_MAX_CELLS: Final = 64
#: The side of one cell of a comparison's contact sheet, in pixels.
COMPARE_CELL_SIDE: Final = 256
#: The size of the sheet's header text, in pixels.
COMPARE_FONT_SIZE: Final = 15
