"""``make demo``: generate one image for the seed's example prompt and save it.

With ``COMETAPI_KEY`` set it calls the real API; without it, it starts the offline fake API on
loopback first, so the demo runs with no key and no network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

from ._constants import API_KEY_ENV, BASE_URL_ENV

SEED_PROMPT = "A paper boat floating on calm water at sunrise."


@contextlib.contextmanager
def backend() -> Iterator[tuple[str | None, str | None, str]]:
    """Yield ``(api_key, base_url, label)``: the real API with a key, else the fake on loopback."""
    if os.environ.get(API_KEY_ENV):
        yield None, os.environ.get(BASE_URL_ENV), "CometAPI"
        return
    from .testing import FAKE_API_KEY, serve_fake

    with serve_fake() as server:
        yield FAKE_API_KEY, server.base_url, f"the offline fake API at {server.base_url}"


async def generate_one(api_key: str | None, base_url: str | None) -> int:
    from . import AsyncImageClient, read_metadata

    async with AsyncImageClient(api_key=api_key, base_url=base_url) as client:
        generation = await client.generate(
            SEED_PROMPT, model="dall-e-3", size="1024x1024", response_format="url"
        )
    image = generation.images[0]
    path = image.save()  # into ./comet-images/ (a bare "comet-images" would name a file)
    metadata = read_metadata(path)
    print(f"saved:          {path}")
    print(f"format:         {image.format} {image.width}x{image.height}")
    print(f"revised prompt: {image.revised_prompt}")
    print(f"request id:     {generation.request_id}")
    print(f"metadata keys:  {', '.join(sorted(metadata))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comet_widgets._demo")
    parser.add_argument("--script", action="store_true", help="generate one image and exit")
    parser.parse_args(argv)
    with backend() as (api_key, base_url, label):
        print(f"comet-widgets demo: generating with {label}")
        return asyncio.run(generate_one(api_key, base_url))


if __name__ == "__main__":
    sys.exit(main())
