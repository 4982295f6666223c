"""Re-extract ``images-openapi.json`` from a newer copy of OpenAI's OpenAPI document.

    python tests/spec/extract.py path/to/openapi.json --commit abc1234

keeps the image routes (every path under ``/images/``), the schemas in ``EXTRA_SCHEMAS`` and
every component they reference, directly or through other components (no dangling ``$ref``),
with ``$ref``s in their original form. ``openapi.yaml`` works too when PyYAML is installed.
The source document comes from https://github.com/openai/openai-openapi (MIT licence); update
``README.md`` here with the commit. The tests read only the extracted file in this folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "images-openapi.json"
PATH_PREFIX = "/images/"
#: Schemas the tests use that no image route references: the fake's error bodies.
EXTRA_SCHEMAS = ("ErrorResponse",)
_REF_PREFIX = "#/components/"


def load(path: Path) -> dict[str, Any]:
    """The whole document, from JSON or (with PyYAML) YAML."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in {".yaml", ".yml"}:
        import yaml  # type: ignore[import-untyped, unused-ignore]

        document: dict[str, Any] = yaml.safe_load(text)
    else:
        document = json.loads(text)
    return document


def refs(node: Any) -> Iterator[tuple[str, str]]:
    """Every ``(section, name)`` of a ``#/components/SECTION/NAME`` reference inside ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                section, _, name = value.removeprefix(_REF_PREFIX).partition("/")
                yield section, name.replace("~1", "/").replace("~0", "~")
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def extract(document: dict[str, Any], source: str) -> dict[str, Any]:
    """The image routes, ``EXTRA_SCHEMAS`` and the closure of the components they reference."""
    paths = {p: v for p, v in sorted(document["paths"].items()) if p.startswith(PATH_PREFIX)}
    if not paths:
        raise SystemExit(f"no path starts with {PATH_PREFIX!r}: is this OpenAI's document?")
    components: dict[str, dict[str, Any]] = {}
    todo = [*refs(paths), *(("schemas", name) for name in EXTRA_SCHEMAS)]
    while todo:
        section, name = todo.pop()
        if name in components.get(section, {}):
            continue
        try:
            value = document["components"][section][name]
        except KeyError:
            raise SystemExit(f"dangling reference: #/components/{section}/{name}") from None
        components.setdefault(section, {})[name] = value
        todo.extend(refs(value))
    ordered = {s: dict(sorted(items.items())) for s, items in sorted(components.items())}
    return {"source": source, "paths": paths, "components": ordered}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("document", type=Path, help="openapi.json (or .yaml) of openai-openapi")
    parser.add_argument("--commit", required=True, help="the openai-openapi commit it is from")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    name = "openapi" + args.document.suffix  # the upstream file's name, wherever the copy is
    source = f"openai/openai-openapi {name} @ {args.commit} (MIT License, Copyright (c) OpenAI)"
    extracted = extract(load(args.document), source)
    args.output.write_text(json.dumps(extracted, indent=1, ensure_ascii=False) + "\n")
    count = sum(len(items) for items in extracted["components"].values())
    print(f"{args.output}: {len(extracted['paths'])} paths, {count} components", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
