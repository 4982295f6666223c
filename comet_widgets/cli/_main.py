"""``comet-images``: the entry point (``[project.scripts]``).

It parses the command line (``_parser``), runs the subcommand (``_commands``) and turns what
went wrong into one ``error: ...`` line on stderr (a traceback only with ``--debug``) and an exit
code: 2 for usage and input errors (nothing was sent), 1 for API failures and failed batch
items, 130 when interrupted. The API key is read from ``COMETAPI_KEY`` only (never from the
command line, where ``ps`` would show it).
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings
from collections.abc import Sequence

from ._commands import COMMANDS, UsageError, err, redact_line
from ._parser import build_parser

__all__ = ["main"]


def _debug_logging() -> None:
    """The package's DEBUG records on stderr, each line as ``err`` writes it (a request id from
    the server is server text)."""
    import logging

    class Shown(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return redact_line(super().format(record))

    handler = logging.StreamHandler()
    handler.setFormatter(Shown("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(handlers=[handler])
    logging.getLogger("comet_widgets").setLevel(logging.DEBUG)


def _warning_line(message: Warning | str, *_args: object, **_kwargs: object) -> None:
    """``warnings.showwarning``: a warning (a retired model, plain http) as one ``warning: ...``
    line on stderr, not Python's two-line ``file:line: Category: ...`` form."""
    err(f"warning: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``comet-images``; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.debug:
        _debug_logging()
    warnings.showwarning = _warning_line
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): no traceback at interpreter exit either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM during a batch
        where = getattr(args, "output", None)
        hint = f"; run the same command again to resume ({where})" if where else ""
        err(f"interrupted: finished items are saved{hint}")
        return 130
    except Exception as exc:
        from .._errors import CometError, InvalidParameterError, MissingAPIKeyError, describe
        from ..batch._prompts import PromptFileError

        if args.debug:
            import traceback

            err("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
        plain = isinstance(exc, (UsageError, OSError))
        err(f"error: {exc if plain else describe(exc)}")
        if not args.debug and not plain and not isinstance(exc, CometError):
            err("(an unexpected error: rerun with --debug for the traceback)")
        usage = (UsageError, InvalidParameterError, MissingAPIKeyError, PromptFileError)
        return 2 if isinstance(exc, (*usage, FileNotFoundError)) else 1


if __name__ == "__main__":
    sys.exit(main())
