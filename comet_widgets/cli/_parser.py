"""The shape of ``comet-images``: its subcommands, their flags and help, and how flags map to
image parameters and back.

The generation flags are derived from ``ImageParams`` in ``_types.py`` (names, types, allowed
values, help), and :func:`params_of` reads them back into parameters, so both directions of
the mapping live here and a test over ``PARAMETERS`` catches drift; the ``edit`` flags are
derived from ``EditParams`` the same way (``EDIT_FLAGS``). Building the parser imports
no HTTP, imaging or Jupyter package: ``comet-images --help`` stays light. What each subcommand
does is in ``_commands``; running one and turning its errors into exit codes is ``_main``.
"""

from __future__ import annotations

import argparse
from typing import Any, get_args

from .._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    COMPARE_MAX_CELLS,
    DEFAULT_EDIT_MODEL,
    DEFAULT_MODEL,
    DEFAULT_OUTPUT_DIR,
    LIBRARY_ENV,
    LIBRARY_PAGE_SIZE,
    OFFLINE_ENV,
)
from .._errors import offline_from_env
from .._types import (
    EDIT_FILES,
    EDIT_PARAMETERS,
    HELP,
    PARAMETERS,
    EditParams,
    ImageParams,
    SvgEffort,
    choices,
    scalar_kind,
)
from .._version import __version__

__all__ = [
    "EDIT_FLAGS",
    "FLAGS",
    "NOT_ON_COMMAND_LINE",
    "PROG",
    "build_parser",
    "compare_axes_of",
    "params_of",
]

PROG = "comet-images"


_MAIN_EPILOG = f"""\
examples:
  {PROG} generate "a paper boat on calm water" -m gpt-image-2.5-flare -o boats/
  {PROG} batch prompts.txt -o dataset/ --concurrency 4 --rpm 60
  {PROG} batch prompts.csv -o dataset/ --offline          # no key: the built-in fake API
  {PROG} models
  {PROG} merge -o dataset/ dataset/                       # join shard manifests

The key comes from {API_KEY_ENV} (export {API_KEY_ENV}=...); {BASE_URL_ENV} overrides
the API address. --offline (or {OFFLINE_ENV}=1) uses the built-in fake API and needs no key.
exit codes: 0 ok, 1 API failure or failed items, 2 usage or input error, 130 interrupted."""

_GENERATE_EPILOG = f"""\
examples:
  {PROG} generate "a red fox in snow"
  {PROG} generate "a red fox in snow" -s 1536x1024 -n 3 -o foxes/
  {PROG} generate "an isometric city" -m gpt-image-2 --quality low --sidecar --offline

Prints each saved path, then its revised prompt when the model rewrote it; on stderr, the
estimated cost before sending, a spinner with the seconds elapsed while waiting (on a
terminal, unless --quiet) and the cost after. PNG files carry their metadata in text
chunks, other formats in a <file>.json sidecar; --sidecar writes the sidecar for PNG too."""

_BATCH_EPILOG = f"""\
input formats (by extension; --input-format overrides; '-' reads stdin):
  .txt    one prompt per line; blank lines and lines starting with '#' are skipped
  .csv    a 'prompt' column; parameter columns (model, size, n, quality, style, ...)
          override the defaults per row; other columns are labels kept in 'meta'
  .jsonl  one object per line: {{"prompt": ..., "size": ..., "meta": {{...}}}}

examples:
  {PROG} batch prompts.txt -o dataset/ --quality low -s 1024x1024
  {PROG} batch prompts.csv -o dataset/ --concurrency 8 --rpm 120
  {PROG} batch prompts.txt -o dataset/ --shard 0/2 &    # two processes, one manifest each
  {PROG} batch prompts.txt -o dataset/ --shard 1/2 &
  {PROG} merge -o dataset/ dataset/

Images are written as they arrive; each finished item appends one line to
DIR/manifest.jsonl (DIR/manifest.shard-i-of-k.jsonl with --shard). Running the same command
again resumes: items already done are not requested (or paid for) again; failed ones are
retried. Prints a summary; exits 1 when any item failed.

costs: before it starts, one line on stderr estimates the batch's cost ("up to" when quality
auto counts as high) and names the prices' source and date. With --budget USD an item starts
only while what the batch has spent (resumed items included) plus the estimates of the items
in flight and its own stays within USD; the others are not sent ("over budget" in the
summary, not a failure). Run again with a larger --budget to continue."""

_MODELS_EPILOG = f"""\
examples:
  {PROG} models                 # the built-in catalogue: what each model accepts
  {PROG} models --wide          # with response formats and options, unwrapped
  {PROG} models --live          # the models your key can use (GET /v1/models)"""

_MERGE_EPILOG = f"""\
Joins batch manifests: one row per key (the SHA-256 of the request body); a successful row
beats a failed one, otherwise the later row wins; rows are ordered by their input index.
Image files stay where they are (paths are rewritten relative to the output manifest) unless
--copy copies them next to it. The output is written atomically and may be an input.

examples:
  {PROG} merge -o dataset/ dataset/     # dataset/manifest.shard-*.jsonl -> manifest.jsonl
  {PROG} merge all.jsonl run-a/ run-b/manifest.jsonl
  {PROG} merge -o combined/ --copy run-a/ run-b/"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


#: The flags of a parameter when they are not just ``--name-with-dashes``.
FLAGS: dict[str, tuple[str, ...]] = {
    "model": ("-m", "--model"),
    "size": ("-s", "--size"),
    "n": ("-n",),
    "response_format": ("--format", "--response-format"),
}
#: Parameters with no flag of their own, and why.
NOT_ON_COMMAND_LINE: dict[str, str] = {
    "svg": "an object: given as --svg-model and --svg-effort",
    "stream": "the CLI waits for the finished images",
    "partial_images": "previews are for notebooks: the CLI waits for the finished images",
    "extra_body": "provider-specific JSON has no place on a command line",
}
#: The parameters ``comet-images edit`` takes as flags: those of ``EditParams`` that are on a
#: command line (``--mask`` and ``--markup`` take a file).
EDIT_FLAGS = tuple(name for name in EDIT_PARAMETERS if name not in NOT_ON_COMMAND_LINE)


def _add_params(
    parser: argparse.ArgumentParser, *, defaults: bool, edit: bool = False, axes: bool = False
) -> None:
    """One flag per parameter of ``ImageParams`` (``EditParams`` with ``edit``): names, types
    and values come from it. With ``axes`` (``compare``) each takes one value or several."""
    what = "default " if defaults else ""
    declaration, names = (EditParams, EDIT_FLAGS) if edit else (ImageParams, PARAMETERS)
    title = "edit parameters" if edit else "generation parameters"
    if axes:
        title += " (one value, or several: an axis)"
    group = parser.add_argument_group(title + (" (defaults)" if defaults else ""))
    for name in names:
        if name in NOT_ON_COMMAND_LINE:
            continue
        flags = FLAGS.get(name, ("--" + name.replace("_", "-"),))
        values = choices(name, closed_only=True, declaration=declaration)
        text = what + HELP[name]
        if values:
            text += f" ({'/'.join(values)})"
        if name == "model":
            text += f" (default: {DEFAULT_EDIT_MODEL if edit else DEFAULT_MODEL})"
        is_int = scalar_kind(name, declaration) is int
        metavar = "FILE" if name in EDIT_FILES else "N" if is_int else name.upper()
        group.add_argument(
            *flags,
            dest=name,
            type=int if is_int else str,
            metavar=metavar,
            help=text,
            nargs="+" if axes else None,
        )
    if axes:
        return  # svg is an object: not an axis
    efforts = "/".join(get_args(SvgEffort))
    group.add_argument(
        "--svg-model", metavar="MODEL", help=f"{what}the model that authors svg output"
    )
    group.add_argument(
        "--svg-effort", metavar="EFFORT", help=f"{what}the SVG author's reasoning ({efforts})"
    )


def params_of(args: argparse.Namespace, names: tuple[str, ...] = PARAMETERS) -> dict[str, Any]:
    """The generation parameters given on the command line (``--svg-*`` make ``svg``)."""
    params = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.svg_model is not None or args.svg_effort is not None:
        svg: dict[str, Any] = {"model": args.svg_model}
        if args.svg_effort is not None:
            svg["reasoning"] = {"effort": args.svg_effort}
        params["svg"] = svg
    return params


def _add_output(parser: argparse.ArgumentParser, what: str = "") -> None:
    """``-o DIR``, ``--quiet`` and (but for ``compare``) ``--sidecar``. With ``what`` ("item":
    ``batch``, "cell": ``compare``), a run of many: ``-o`` is required, and the run's
    ``--concurrency``, ``--budget`` and ``--no-resume``."""
    parser.add_argument(
        "-o",
        "--output",
        required=bool(what),
        default=None if what else DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help="output folder (holds the manifest)" if what else "folder (default: %(default)s)",
    )
    quiet = "no spinner while waiting (there is none when stderr is not a terminal)"
    parser.add_argument(
        "-q",
        "--quiet",
        "--no-progress",
        action="store_true",
        help="no progress bar or lines" if what else quiet,
    )
    if what != "cell":
        parser.add_argument(
            "--sidecar", action="store_true", help="write <file>.json metadata for PNG too"
        )
    if not what:
        return
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="K",
        help="requests in flight (default: %(default)s; keep it at 16 or below)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help=f"send no {what} that would take the run's cost past USD",
    )
    parser.add_argument("--no-resume", action="store_true", help=f"request every {what} again")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``comet-images`` (every subcommand documented in ``--help``)."""
    debug_help = "show tracebacks and debug logs on errors"
    # Accepted before and after the subcommand; SUPPRESS keeps a subparser from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Generate images with CometAPI's OpenAI-compatible image API.",
        epilog=_MAIN_EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--debug", action="store_true", help=debug_help)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str, summary: str, description: str, epilog: str, *, api: bool = True, **more: Any
    ) -> argparse.ArgumentParser:
        """A subcommand with ``--debug``; with ``api``, ``--offline`` and ``--base-url``."""
        sub = commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=epilog,
            formatter_class=_formatter,
            parents=[common],
            **more,
        )
        if api:
            sub.add_argument(
                "--offline",
                action="store_true",
                default=offline_from_env(),
                help=f"use the built-in fake API (no key, no network; also when ${OFFLINE_ENV}=1)",
            )
            sub.add_argument(
                "--base-url",
                metavar="URL",
                help=f"API address (default: ${BASE_URL_ENV} or CometAPI)",
            )
        return sub

    gen = command(
        "generate",
        "generate images for one prompt and save them with their metadata",
        "Generate images for one prompt; save them with their metadata.",
        _GENERATE_EPILOG,
    )
    gen.add_argument("prompt", help="what the image should show")
    _add_output(gen)
    _add_params(gen, defaults=False)

    edit = command(
        "edit",
        "edit one or more images as a prompt says (optionally only where a mask allows)",
        "Edit images with POST /images/edits and save the results with their metadata."
        " The mask is a PNG whose transparent pixels mark the area to change, or a"
        " black-and-white image where white means 'edit here'.",
        "example:\n  comet-images edit photo.png 'make it winter' --mask mask.png -o out/\n"
        "  comet-images edit cat1.png cat2.png 'both cats on one sofa' --offline\n"
        "  comet-images edit room.png 'a lamp where I drew' --markup marks.png"
        " -m gpt-image-2.5-flare",
    )
    edit.add_argument("image", nargs="+", help="the image file(s) to edit (then the prompt)")
    edit.add_argument("prompt", help="what to change")
    _add_output(edit)
    _add_params(edit, defaults=False, edit=True)

    batch = command(
        "batch",
        "generate a dataset from a .txt/.csv/.jsonl prompt file (resumable)",
        "Generate images for every prompt of a file into a folder, resumably.",
        _BATCH_EPILOG,
    )
    batch.add_argument("file", help="prompt file (.txt, .csv, .jsonl) or '-' for stdin")
    _add_output(batch, "item")
    batch.add_argument(
        "--input-format",
        choices=("txt", "csv", "jsonl"),
        help="how to read FILE (default: from its extension)",
    )
    batch.add_argument(
        "--rpm",
        type=float,
        metavar="R",
        help="at most R requests per minute (generate_many's requests_per_minute; default: no"
        " limit)",
    )
    batch.add_argument(
        "--shard", metavar="i/k", help="only items whose index %% k == i (one shard per process)"
    )
    _add_params(batch, defaults=True)

    models = command(
        "models",
        "list the model catalogue (or, with --live, the API's model list)",
        "Show what each known model accepts, or the live model list.",
        _MODELS_EPILOG,
    )
    models.add_argument("--live", action="store_true", help="ask the API (needs a key)")
    models.add_argument(
        "--wide",
        action="store_true",
        help="every field on one line per model (default: fit 100 columns, long fields wrapped)",
    )

    serve = command(
        "serve-fake",
        "run the offline fake API on loopback (for demos and tests)",
        "Run the offline fake of the image API until Ctrl-C.",
        f"example:\n  {PROG} serve-fake --port 8765\n"
        f"  {BASE_URL_ENV}=http://127.0.0.1:8765/v1 {API_KEY_ENV}=<the printed key> {PROG} ...",
        api=False,
    )
    serve.add_argument(
        "--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serve.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds per generation (demos)"
    )

    merge = command(
        "merge",
        "join batch manifests (e.g. of shards) into one",
        "Join batch manifests into one manifest.",
        _MERGE_EPILOG,
        api=False,
        usage=f"{PROG} merge [-h] [--copy] (OUT IN [IN ...] | -o DIR IN [IN ...])",
    )
    merge.add_argument("paths", nargs="+", metavar="PATH", help="OUT then inputs, or inputs")
    merge.add_argument(
        "-o", "--output", metavar="DIR", help="output folder (writes DIR/manifest.jsonl)"
    )
    merge.add_argument("--copy", action="store_true", help="copy the image files next to OUT")

    library = command(
        "library",
        "search, show, export, import or rebuild the image library",
        "The image library: every recorded image with its provenance.",
        _LIBRARY_EPILOG,
        api=False,
    )
    _add_library(library, common)

    compare = command(
        "compare",
        "compare prompts, models, qualities, sizes...: a labelled sheet, images and a CSV",
        "Generate the product of parameter axes and draw it as a labelled grid.",
        _COMPARE_EPILOG,
    )
    compare.add_argument("prompt", nargs="+", help="the prompt (several: the prompt axis)")
    _add_output(compare, "cell")
    compare.add_argument(
        "--layout", nargs="+", metavar="AXIS", help="the axes as rows, columns, then sheets"
    )
    compare.add_argument(
        "--max-cells",
        type=int,
        default=COMPARE_MAX_CELLS,
        metavar="N",
        help="refuse a grid of more cells (default: %(default)s)",
    )
    _add_params(compare, defaults=False, axes=True)
    return parser


_LIBRARY_EPILOG = f"""\
examples:
  {PROG} library search lighthouse --model gpt-image-2 --starred
  {PROG} library show 42
  {PROG} library export lighthouses.zip lighthouse     # images + metadata.jsonl
  {PROG} library import dataset/                        # a batch's output folder
  {PROG} library rebuild                                # the database, from the image files

The library is --library DIR, else ${LIBRARY_ENV}, else the user's data directory."""


def _add_library(library: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """``library search|show|export|import|rebuild``: the image library (``Library``)."""
    where = argparse.ArgumentParser(add_help=False, parents=[common])  # every action takes it
    where.add_argument(
        "--library", metavar="DIR", help=f"the library folder (default: ${LIBRARY_ENV} or data dir)"
    )
    actions = library.add_subparsers(dest="action", metavar="ACTION", required=True)
    found = argparse.ArgumentParser(add_help=False)
    found.add_argument("text", nargs="?", help="words of the prompt or revised prompt")
    found.add_argument("--model", help="only this model")
    found.add_argument("--since", metavar="DATE", help="created on or after (ISO 8601)")
    found.add_argument("--until", metavar="DATE", help="created on or before (ISO 8601)")
    found.add_argument("--starred", action="store_true", default=None, help="only starred")
    found.add_argument("--collection", metavar="NAME", help="only this collection")
    search = actions.add_parser("search", help="list entries, newest first", parents=[where, found])
    search.add_argument(
        "--limit", type=int, default=LIBRARY_PAGE_SIZE, help="how many (default: %(default)s)"
    )
    search.add_argument("--offset", type=int, default=0, help="skip this many (default: 0)")
    show = actions.add_parser("show", help="one entry's provenance, as JSON", parents=[where])
    show.add_argument("id", type=int, help="the entry's id (search lists it)")
    export = actions.add_parser(
        "export",
        help="write entries (all, or those found) to a ZIP or a dataset folder",
        parents=[where, found],
    )
    export.add_argument("path", metavar="OUT", help="a .zip file, or a folder")
    imports = actions.add_parser(
        "import", help="record a batch output folder (its manifest)", parents=[where]
    )
    imports.add_argument("folder", metavar="DIR", help="the folder generate_many/batch wrote")
    actions.add_parser(
        "rebuild", help="recreate the database from the image files", parents=[where]
    )


_COMPARE_EPILOG = f"""\
Every parameter flag takes one value (shared by every cell) or several (an axis); several
prompts make the prompt axis. The grid is the product of the axes: two make rows and columns,
a third one sheet per value (--layout names the axes in that order). Cells a model refuses
(a quality it lacks) are marked "not applicable" and never sent. The cells run as one batch:
OUT holds the images, the batch manifest, the sheet (comparison.png) and one CSV line per
cell (comparison.csv); running the same command again sends only the cells not done yet.

examples:
  {PROG} compare "a red fox" --model gpt-image-2 gpt-image-2.5-flare --quality low high -o out/
  {PROG} compare "a fox" "a lighthouse" -m gpt-image-2 -s 1024x1024 1536x1024 -o sizes/
  {PROG} compare "a red fox" --quality low medium high --budget 0.50 -o fox/ --offline"""


def compare_axes_of(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters ``compare`` was given: one value as itself, several as a list (an axis)."""
    axes: dict[str, Any] = {}
    for name in PARAMETERS:
        given = getattr(args, name, None)
        if given is not None:
            axes[name] = given[0] if len(given) == 1 else list(given)
    return axes
