"""What each ``comet-images`` subcommand does, from parsed arguments to saved files and lines.

A command checks its input before it reads the key or opens a connection (exit code 2 for a
``UsageError``: nothing was sent), then runs one event loop over one client: the real API, or
the built-in fake with ``--offline``. Each command imports what it needs when it runs, so that
``comet-images --help`` stays light. Every line written passes through ``redact``: the API key
is never printed, and control characters (a server's ESC or BEL in an id, a revised prompt, an
error) are shown escaped, never sent to the terminal. The flags come from ``_parser``;
``_main`` runs a command by its name in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._constants import API_KEY_ENV
from .._errors import key_from_env, missing_key, redact
from .._types import EDIT_FILES
from ._parser import EDIT_FLAGS, compare_axes_of, params_of
from ._waiting import waiting

if TYPE_CHECKING:
    from ..client._client import AsyncImageClient
    from ..images._results import Generation

__all__ = ["COMMANDS", "UsageError", "err", "out", "redact_line"]


class UsageError(Exception):
    """A problem with the command line or its input files: exit code 2."""


# -- helpers --------------------------------------------------------------------------------


def _require_key(args: argparse.Namespace) -> None:
    if not args.offline and key_from_env() is None:
        raise missing_key(
            f"(export {API_KEY_ENV}=...) or add --offline to use the built-in fake API"
        )


def _client(args: argparse.Namespace) -> AbstractAsyncContextManager[AsyncImageClient]:
    """The API's client; with ``--offline``, one on the built-in fake (in this process)."""
    if args.offline:
        from ..testing._offline import OfflineClient

        return OfflineClient()
    from ..client._client import AsyncImageClient

    return AsyncImageClient(base_url=args.base_url)


def out(text: str) -> None:
    print(redact_line(text))


def err(text: str) -> None:
    print(redact_line(text), file=sys.stderr)


#: Every C0 and C1 control character but newline and tab, and DEL, as its escape (``\\x1b``).
_CONTROLS = {
    code: f"\\x{code:02x}"
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
    if code not in (9, 10)
}


def redact_line(text: str) -> str:
    """``text`` as the CLI may print it: the key redacted, control characters escaped."""
    return redact(text, key_from_env()).translate(_CONTROLS)


def _check_output(folder: Path, *names: str) -> None:
    """Refuse, before anything is sent, an output folder the results could not be written in:
    a file in its place or on its way, a folder without write permission, or one of ``names``
    (files a command writes there under fixed names) that is a folder."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():  # -o itself, or a folder on its way (folders are made)
        raise UsageError(f"-o {folder}: {existing} is a file where a folder is needed")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"-o {folder}: cannot write in {existing} (permission denied)")
    for name in names:
        if (folder / name).is_dir():
            raise UsageError(f"-o {folder}: {folder / name} is a folder where a file goes")


def _check_run(args: argparse.Namespace) -> None:
    """``--concurrency`` and ``--budget`` of ``batch`` and ``compare``."""
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be 1 or more, got {args.concurrency}")
    if args.budget is not None and not (math.isfinite(args.budget) and args.budget >= 0):
        raise UsageError(f"--budget must be a number of USD, 0 or more, got {args.budget}")


async def _run_many(args: argparse.Namespace, run: Any, first: Any, **options: Any) -> Any:
    """``batch`` and ``compare``: ``run`` (``generate_many`` or ``compare``) over one client,
    with the options both take alike. SIGTERM (a job scheduler stopping us) ends the run like
    Ctrl-C: what finished is kept in its folder."""
    task = asyncio.current_task()
    if task is not None and sys.platform != "win32":
        import signal

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with _client(args) as client:
        return await run(
            first,
            client=client,
            concurrency=args.concurrency,
            output_dir=args.output,
            resume=not args.no_resume,
            progress=not args.quiet,
            budget_usd=args.budget,
            **options,
        )


async def _waited(args: argparse.Namespace, label: str, call: Any) -> Generation:
    """``call(client)`` (a generation or an edit), a spinner and ``label`` shown meanwhile."""
    async with _client(args) as client, waiting(redact_line(label), quiet=args.quiet):
        result: Generation = await call(client)
        return result


# -- commands -------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from .._catalog import build_payload

    payload = build_payload(args.prompt, **params_of(args))  # refuse bad input before the key
    _check_output(Path(args.output))
    _require_key(args)
    err(_estimate_line([payload]))
    label = f"generating {payload.get('n') or 1} image(s) with {payload['model']}"
    return _save_all(asyncio.run(_waited(args, label, lambda c: c.generate_payload(payload))), args)


def cmd_edit(args: argparse.Namespace) -> int:
    from .._catalog import build_edit_payload

    params = params_of(args, EDIT_FLAGS)  # --mask and --markup: paths, as client.edit takes them
    body = build_edit_payload(args.prompt, params)  # refused now, before the key or the network
    for path in [*args.image, *(params[name] for name in EDIT_FILES if name in params)]:
        if not Path(path).is_file():
            raise UsageError(f"no such image file: {path}")
    _check_output(Path(args.output))
    _require_key(args)
    err(_estimate_line([{**body, "image": args.image}]))
    label = f"editing {len(args.image)} image(s) with {body['model']}"
    image = args.image[0] if len(args.image) == 1 else args.image
    edit = _waited(args, label, lambda c: c.edit(args.prompt, image=image, **params))
    return _save_all(asyncio.run(edit), args)


def _save_all(generation: Generation, args: argparse.Namespace) -> int:
    from .._errors import describe
    from ..images._results import save_in

    failed = 0
    for image in generation.images:
        if not image.ok:
            failed += 1
            err(f"error: image {image.index}: {describe(image.error or Exception('no data'))}")
            continue
        path, moved = save_in(image, Path(args.output), sidecar=True if args.sidecar else None)
        if moved is not None:
            failed += 1
            err(f"error: image {image.index} could not be written in {args.output} ({moved});")
            err(f"  it is saved in {path.parent} instead: move it from there")
        out(str(path))
        if image.revised_prompt:
            out(f"  revised prompt: {image.revised_prompt}")
    err(_cost_line(generation))
    return 1 if failed else 0


def _priced_by(models: list[str]) -> str:
    """Where the prices of ``models`` come from and their date, or which have none."""
    from .._catalog import PRICES

    seen = []
    for model in dict.fromkeys(models):
        price = PRICES.get(model)
        seen.append(
            f"no known price for {model}" if price is None else f"{price.source}, {price.as_of}"
        )
    return "; ".join(dict.fromkeys(seen))


def _cost_line(generation: Generation) -> str:
    """``cost: $0.0052 (from usage: ...)`` after a generation or an edit (stderr)."""
    cost = generation.cost
    if cost.basis == "unpriced":
        return f"cost: unpriced ({_priced_by([generation.model])})"
    if cost.basis == "estimate":
        return f"cost: {cost} (an estimate: the answer carried no usable usage)"
    tokens = cost.tokens
    if not tokens:  # priced per image
        return f"cost: {cost} ({len(generation.images)} image(s))"
    return (
        f"cost: {cost} (from usage: {tokens['text_input']} text + {tokens['image_input']} image"
        f" input, {tokens['image_output']} output tokens)"
    )


def _estimate_line(bodies: list[dict[str, Any]], resumed: str = "") -> str:
    """One line before anything is sent: how many images of which models, qualities and sizes
    the request ``bodies`` ask for, the estimated cost, and where the prices come from
    (stderr); then ``resumed`` (a batch's note on items already done)."""
    from .._cost import Cost, estimate_payload

    total = sum((estimate_payload(body) for body in bodies), Cost(usd=0.0, basis="estimate"))

    def kinds(name: str, default: str) -> str:
        return ", ".join(dict.fromkeys(str(body.get(name) or default) for body in bodies))

    images = sum(int(body.get("n") or 1) for body in bodies)
    models = [str(body["model"]) for body in bodies]
    return (
        f"estimate: {images} image(s) of {kinds('model', '?')}, quality {kinds('quality', 'auto')},"
        f" size {kinds('size', 'auto')}: {total} ({_priced_by(models)}){resumed}"
    )


def _resolve_inputs(items: list[Any], folder: Path) -> None:
    """Edit items' relative ``image``/``mask``/``markup`` paths are read from the prompt file's
    folder (``a.png|b.png``: several images)."""
    for item in items:
        for name in ("image", *EDIT_FILES) if isinstance(item, dict) else ():
            value = item.get(name)
            if isinstance(value, str) and value.strip():
                parts = [str(folder / p.strip()) for p in value.split("|") if p.strip()]
                item[name] = parts if len(parts) > 1 else parts[0]
            elif isinstance(value, list):
                item[name] = [str(folder / p) for p in value]


def cmd_batch(args: argparse.Namespace) -> int:
    from ..batch._generate import InvalidItemError, generate_many, parse_shard
    from ..batch._manifest import MANIFEST_NAME, manifest_files, shard_manifest_name
    from ..batch._prompts import read_prompts

    _check_run(args)
    prompts = read_prompts(args.file, input_format=args.input_format)
    _resolve_inputs(prompts.items, Path(args.file).parent)
    shard = parse_shard(args.shard)

    def planned(bodies: list[dict[str, Any]]) -> None:
        """Every item checked (before the key or the network): the estimate, then send."""
        _check_output(Path(args.output), shard_manifest_name(*shard) if shard else MANIFEST_NAME)
        folder = Path(args.output)
        resumed = not args.no_resume and folder.is_dir() and manifest_files(folder)
        done = f"; items already done in {args.output} are not sent again" if resumed else ""
        err(_estimate_line(bodies, done))
        _require_key(args)

    params = params_of(args)
    options = {"requests_per_minute": args.rpm, "sidecar": args.sidecar, "on_plan": planned}
    try:
        run = _run_many(args, generate_many, prompts.items, shard=shard, **params, **options)
        results = asyncio.run(run)
    except InvalidItemError as exc:
        raise UsageError(f"{args.file} {prompts.where(exc.index)}: {exc.message}") from None
    out(results.summary())
    return 1 if results.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..batch._manifest import MANIFEST_NAME, manifest_files
    from ..compare._compare import SHEET_NAME, TABLE_NAME, compare_grid
    from ..compare._grid import plan_grid

    _check_run(args)
    prompts = args.prompt[0] if len(args.prompt) == 1 else list(args.prompt)
    axes = compare_axes_of(args)
    # refused now (InvalidParameterError: exit 2), before the key, the network or a file
    grid = plan_grid(prompts, axes, max_cells=args.max_cells, layout=args.layout)
    folder = Path(args.output)
    _check_output(folder, MANIFEST_NAME, SHEET_NAME, TABLE_NAME)
    resumed = not args.no_resume and folder.is_dir() and manifest_files(folder)
    done = f"; cells already done in {args.output} are not sent again" if resumed else ""
    budget = f" (budget ${args.budget:g})" if args.budget is not None else ""
    err(f"compare: {grid.describe()}{budget}{done}")
    _require_key(args)
    comparison = asyncio.run(_run_many(args, compare_grid, grid))
    for cell in comparison.cells:
        if cell.status != "ok":
            err(f"{cell.status}: {cell.label()}: {cell.error}")
    out(str(folder / SHEET_NAME))
    out(str(folder / TABLE_NAME))
    out(comparison.summary())
    return 1 if any(cell.status == "failed" for cell in comparison.cells) else 0


def _status(spec: Any) -> str:
    if spec.status == "current":
        return "current"
    if spec.status == "deprecated":
        return f"deprecated (shutdown {spec.shutdown})"
    return f"shut down {spec.shutdown}; try {' or '.join(spec.replacements)}"


#: The widest line of ``models`` without ``--wide``.
MODELS_WIDTH = 100
#: How wide the model and status columns of ``models`` may be without ``--wide``.
_NARROW = {0: 40, 1: 26}


def _table(rows: list[tuple[str, ...]], *, width: int | None = None) -> None:
    """Print ``rows`` as columns two spaces apart. With ``width``, each line fits in it: a model
    or status longer than ``_NARROW`` allows, and a last cell longer than what the other columns
    leave, continue on the lines below."""
    import textwrap

    def wrap(text: str, limit: int | None) -> list[str]:
        return textwrap.wrap(text, limit, break_on_hyphens=False) or [""] if limit else [text]

    last = len(rows[0]) - 1
    # Laid out as printed: an escaped control character takes four columns.
    cells = [
        [wrap(redact_line(cell), _NARROW.get(i) if width else None) for i, cell in enumerate(row)]
        for row in rows
    ]
    widths = [max(len(line) for row in cells for line in row[i]) for i in range(last)]
    if width:
        rest = max(20, width - sum(widths) - 2 * last)
        for row in cells:
            row[last] = wrap(" ".join(row[last]), rest)
    for row in cells:
        for k in range(max(map(len, row))):
            parts = [cell[k] if k < len(cell) else "" for cell in row]
            padded = [part.ljust(w) for part, w in zip(parts, widths, strict=False)]
            out("  ".join([*padded, parts[last]]).rstrip())


def cmd_models(args: argparse.Namespace) -> int:
    if args.live:
        _require_key(args)
        return asyncio.run(_live_models(args))
    from .._catalog import MODELS

    wide = ("model", "status", "sizes", "max n", "response formats", "options")
    rows: list[tuple[str, ...]] = [wide if args.wide else ("model", "status", "max n", "sizes")]
    for spec in MODELS.values():
        sizes = ", ".join(spec.sizes) + (", any WxH (x16)" if spec.free_size else "")
        if not args.wide:
            rows.append((spec.name, _status(spec), str(spec.max_n), sizes))
            continue
        options = []
        if spec.qualities:
            options.append("quality " + "/".join(spec.qualities))
        if spec.styles:
            options.append("style " + "/".join(spec.styles))
        options += sorted(spec.options - {"stream"})
        formats = ", ".join(spec.response_formats) or "b64_json (always)"
        rows.append(
            (spec.name, _status(spec), sizes, str(spec.max_n), formats, "; ".join(options) or "-")
        )
    _table(rows, width=None if args.wide else MODELS_WIDTH)
    more = "" if args.wide else "\n'comet-images models --wide' adds response formats and options."
    out(
        "\nOther model names pass through unchecked; 'comet-images models --live' lists yours."
        "\nLifecycle facts: the openai SDK's image_model.py and CometAPI's pages"
        " (see docs/python-api.md)." + more
    )
    return 0


async def _live_models(args: argparse.Namespace) -> int:
    """The catalogue's current models merged with the image models the key can use."""
    from .._catalog import CURRENT, MODELS

    async with _client(args) as client:
        live = await client.list_models(image_only=True)
    usable = {model.id for model in live}
    rows: list[tuple[str, ...]] = [("model", "status", "your key")]
    for name in dict.fromkeys([*CURRENT, *sorted(usable)]):
        spec = MODELS.get(name)
        status = _status(spec) if spec is not None else "not in the catalogue"
        rows.append((name, status, "available" if name in usable else "not listed for your key"))
    _table(rows, width=None if args.wide else MODELS_WIDTH)
    err(f"{len(usable)} image model(s) listed for your key")
    return 0


def cmd_serve_fake(args: argparse.Namespace) -> int:
    from ..testing.__main__ import main as serve_main

    return serve_main(
        ["--port", str(args.port), "--host", args.host, "--latency", str(args.latency)]
    )


def cmd_merge(args: argparse.Namespace) -> int:
    from ..batch._manifest import MANIFEST_NAME, merge_manifests

    paths = list(args.paths)
    if args.output is not None:
        output = Path(args.output) / MANIFEST_NAME
    else:
        if len(paths) < 2:
            raise UsageError("merge needs OUT and at least one input (or -o DIR and inputs)")
        first = Path(paths.pop(0))
        output = first if first.suffix == ".jsonl" else first / MANIFEST_NAME
    out(str(merge_manifests(paths, output, copy=args.copy)))
    return 0


def cmd_library(args: argparse.Namespace) -> int:
    import json

    from ..library._library import Library

    names = ("model", "since", "until", "starred", "collection")
    filters: dict[str, Any] = {key: getattr(args, key, None) for key in names}
    # closing() at the end folds the write-ahead log into the database file
    with contextlib.closing(Library(args.library)) as lib:
        if args.action == "search":
            hits = lib.search(args.text, **filters, limit=args.limit, offset=args.offset)
            rows = [
                (str(e.id), e.created.strftime("%Y-%m-%d %H:%M"), str(e.model), e.prompt)
                for e in hits
            ]
            if rows:
                _table([("ID", "CREATED (UTC)", "MODEL", "PROMPT"), *rows])
            err(f"{len(hits)} of {len(lib)} entries ({lib.path})")
        elif args.action == "show":
            record = lib.get(args.id).as_record()
            out(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True))
        elif args.action == "export":
            chosen = lib.search(args.text, **filters, limit=len(lib))
            out(str(lib.export(chosen, args.path)))
            err(f"exported {len(chosen)} entries")
        elif args.action == "import":
            if not Path(args.folder).is_dir():
                raise UsageError(f"{args.folder} is not a folder")
            out(f"recorded {len(lib.import_batch(args.folder))} image(s) in {lib.path}")
        else:
            out(f"rebuilt {lib.path}: {lib.rebuild()} entries")
    return 0


#: Each subcommand's name (as ``build_parser`` declares it) and what runs it.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "generate": cmd_generate,
    "edit": cmd_edit,
    "batch": cmd_batch,
    "models": cmd_models,
    "serve-fake": cmd_serve_fake,
    "merge": cmd_merge,
    "library": cmd_library,
    "compare": cmd_compare,
}
