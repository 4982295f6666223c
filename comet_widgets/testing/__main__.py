"""``python -m comet_widgets.testing``: run the fake API standalone until Ctrl-C.

The first line printed on stdout is the base URL to give a client.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .._errors import MissingDependencyError
from ._app import FakeAPI
from ._faults import STREAM_REFUSALS
from ._server import serve_fake

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake API on loopback until interrupted; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m comet_widgets.testing",
        description="Run the offline fake of CometAPI's image API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds each generation takes (default 0)"
    )
    parser.add_argument(
        "--api-key", default=None, help="accept only this key (default: any non-empty key)"
    )
    parser.add_argument(
        "--image-file",
        default=None,
        help="serve this file's exact bytes as every image (benchmarks pass a large PNG)",
    )
    parser.add_argument(
        "--stream-interval",
        type=float,
        default=0.0,
        help="seconds before each event of a streamed answer (stream: true; default 0)",
    )
    parser.add_argument(
        "--refuse-stream",
        choices=STREAM_REFUSALS,
        default=None,
        help="refuse streaming requests with a 400 naming stream, in CometAPI's or OpenAI's"
        " shape, like a gateway that does not stream the model",
    )
    args = parser.parse_args(argv)
    if args.latency < 0:
        parser.error("--latency must be 0 or more")
    if args.stream_interval < 0:
        parser.error("--stream-interval must be 0 or more")
    app = FakeAPI(
        api_key=args.api_key,
        latency=args.latency,
        image_bytes=Path(args.image_file).read_bytes() if args.image_file else None,
        stream_interval=args.stream_interval,
        stream_refusal=args.refuse_stream,
    )
    try:
        with serve_fake(app, host=args.host, port=args.port) as server:
            print(server.base_url, flush=True)
            print(
                f"comet-widgets fake API at {server.base_url}; press Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    except (RuntimeError, MissingDependencyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
