"""Reading prompt files for batches: ``.txt``, ``.csv`` and ``.jsonl``.

* ``.txt``: one prompt per line; blank lines and lines starting with ``#`` are skipped.
* ``.csv``: a header with a ``prompt`` column; parameter columns (``model``, ``size``, ``n``,
  ``quality``, ...) set that row's parameters (an empty cell keeps the default); any other
  column is a label kept in the row's ``meta`` (prefix ``meta.`` to be explicit). A column
  whose name looks like a misspelt parameter (``szie``) is refused rather than guessed.
* ``.jsonl``: one JSON object per line (``{"prompt": ..., "size": ..., "meta": {...}}``) or a
  JSON string (a bare prompt).

Items are validated later, all at once, by ``generate_many``; this module only reads.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._errors import CometError
from .._types import EDIT_FILES, EDIT_PARAMETERS, PARAMETERS, EditParams, scalar_kind

__all__ = ["PromptFileError", "read_prompts", "text_prompts"]

InputFormat = Literal["txt", "csv", "jsonl"]

#: The parameters a CSV column can set: the text and number ones (objects and flags cannot).
#: Edit items add ``image`` (a path, or several joined with ``|``) and the edit-only
#: ``EditParams`` (``mask`` and ``markup`` paths, ``input_fidelity``); relative paths are read
#: from the prompt file's folder.
_CSV_PARAMETERS = (
    *(name for name in PARAMETERS if scalar_kind(name) in (str, int)),
    "image",
    *(
        name
        for name in EDIT_PARAMETERS
        if name not in PARAMETERS
        and (name in EDIT_FILES or scalar_kind(name, EditParams) in (str, int))
    ),
)
_INT_COLUMNS = frozenset(name for name in PARAMETERS if scalar_kind(name) is int)


class PromptFileError(CometError, ValueError):
    """A prompt file could not be read; the message names the file and the line."""


@dataclass
class PromptFile:
    """The items of a prompt file and the line each came from (``lines[i]`` for ``items[i]``)."""

    items: list[str | dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def where(self, index: int) -> str:
        """``"line 12"`` for the item at ``index`` (or ``"item 12"`` when unknown)."""
        if 0 <= index < len(self.lines):
            return f"line {self.lines[index]}"
        return f"item {index}"


def format_of(path: str | os.PathLike[str]) -> InputFormat:
    """The input format from a file's extension (``.txt`` and anything unknown: txt)."""
    return _FORMATS.get(Path(path).suffix.lower(), "txt")


_FORMATS: dict[str, InputFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


_NEWLINES = re.compile(r"\r\n|\r|\n")


def read_prompts(
    path: str | os.PathLike[str], *, input_format: InputFormat | None = None
) -> PromptFile:
    """Read the items of a prompt file (``"-"`` reads standard input).

    Returns a ``PromptFile``; raises ``PromptFileError`` (a ``ValueError``) naming the file and
    line of anything unreadable, and ``FileNotFoundError`` for a missing file.
    """
    name = str(path)
    kind = input_format or format_of(path)
    if name == "-":
        text = sys.stdin.read()
        name = "<stdin>"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PromptFileError(f"{name} is not UTF-8 text ({exc.reason})") from None
    result = {"txt": _read_txt, "csv": _read_csv, "jsonl": _read_jsonl}[kind](text, name)
    if not result.items:
        raise PromptFileError(f"{name} holds no prompts")
    return result


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, split on ``\\n``, ``\\r\\n`` and ``\\r`` only.

    ``str.splitlines`` also splits on U+2028, U+2029, U+0085, U+001C-U+001E, vertical tab and
    form feed, which can sit inside a prompt (or a JSON string) and would cut it in two.
    """
    lines = _NEWLINES.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def text_prompts(text: str) -> list[tuple[int, str]]:
    """``(line number, prompt)`` of a text with one prompt per line: a ``.txt`` prompt file, or
    the panel's batch text. Blank lines and lines starting with ``#`` are skipped."""
    found = []
    for number, line in enumerate(split_lines(text), start=1):
        prompt = line.strip()
        if prompt and not prompt.startswith("#"):
            found.append((number, prompt))
    return found


def _read_txt(text: str, name: str) -> PromptFile:
    found = text_prompts(text)
    return PromptFile([prompt for _, prompt in found], [number for number, _ in found])


def _read_jsonl(text: str, name: str) -> PromptFile:
    result = PromptFile()
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise PromptFileError(f"{name} line {number}: not valid JSON ({exc})") from None
        if not isinstance(value, (str, dict)):
            raise PromptFileError(
                f"{name} line {number}: expected an object with a 'prompt' or a string,"
                f" got {type(value).__name__}"
            )
        if isinstance(value, dict) and "prompt" not in value:
            raise PromptFileError(f"{name} line {number}: the object has no 'prompt'")
        result.items.append(value)
        result.lines.append(number)
    return result


def _column_role(column: str, name: str) -> tuple[str, str]:
    """``("prompt"|"param"|"meta", field name)`` for a CSV header cell."""
    clean = column.strip()
    lowered = clean.lower()
    if lowered == "prompt":
        return "prompt", "prompt"
    if lowered in _CSV_PARAMETERS:
        return "param", lowered
    if lowered.startswith("meta."):
        return "meta", clean[len("meta.") :]
    guess = difflib.get_close_matches(lowered, (*_CSV_PARAMETERS, "prompt"), n=1, cutoff=0.75)
    if guess:
        raise PromptFileError(
            f"{name}: column {clean!r} looks like a misspelt {guess[0]!r}; rename it, or call"
            f" it 'meta.{clean}' to keep it as a label"
        )
    return "meta", clean


def _read_csv(text: str, name: str) -> PromptFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise PromptFileError(f"{name} is empty") from None
    except csv.Error as exc:
        raise PromptFileError(f"{name} line 1: {exc}") from None
    roles = [_column_role(column, name) for column in header]
    if ("prompt", "prompt") not in roles:
        raise PromptFileError(
            f"{name}: no 'prompt' column in the header ({', '.join(header) or 'empty'})"
        )
    result = PromptFile()
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise PromptFileError(
                    f"{name} line {number}: {len(row)} cells for {len(header)} columns"
                )
            item: dict[str, Any] = {}
            meta: dict[str, Any] = {}
            # a short row leaves its last columns unset
            for (role, key), cell in zip(roles, row, strict=False):
                value = cell.strip()
                if role == "prompt":
                    item["prompt"] = value
                elif role == "meta":
                    meta[key] = value
                elif value and key in _INT_COLUMNS:
                    try:
                        item[key] = int(value)
                    except ValueError:
                        raise PromptFileError(
                            f"{name} line {number}: {key} must be a whole number, got {value!r}"
                        ) from None
                elif value:
                    item[key] = value
            if meta:
                item["meta"] = meta
            result.items.append(item)
            result.lines.append(number)
    except csv.Error as exc:
        raise PromptFileError(f"{name} line {reader.line_num}: {exc}") from None
    return result
