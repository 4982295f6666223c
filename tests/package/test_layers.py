"""The package's import graph: no cycle, no Jupyter package outside ``widget/``, and no module
importing another folder's private helpers (a name starting with ``_``).

The graph is read with ``ast`` from the sources, so every import counts: module level, inside
functions, and under ``TYPE_CHECKING``. A fresh interpreter then imports every client-side
module (every one outside ``widget/``) and checks that no Jupyter package got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import comet_widgets

PACKAGE = Path(comet_widgets.__file__).resolve().parent
JUPYTER = ("ipywidgets", "IPython", "traitlets", "ipykernel", "anywidget", "jupyter_client")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def folder_of(name: str) -> str:
    """The package (folder) module ``name`` lives in (itself for an ``__init__``)."""
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def from_imports(name: str, source: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """``(absolute module, imported names)`` of every ``from ... import`` in module ``name``
    (or in ``source`` read as if it were that module)."""
    package = folder_of(name)
    text = MODULES[name].read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [alias.name for alias in node.names]


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """``(package modules, outside top-level packages)`` that module ``name`` imports."""
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "comet_widgets":
                    inside.add(alias.name)
                else:
                    outside.add(alias.name.split(".")[0])
    for target, names in from_imports(name):
        if target.split(".")[0] != "comet_widgets":
            outside.add(target.split(".")[0])
            continue
        for imported in names:
            inside.add(f"{target}.{imported}" if f"{target}.{imported}" in MODULES else target)
    return {m for m in inside if m in MODULES and m != name}, outside


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    """Guards the test: relative, TYPE_CHECKING and function-level imports all show up."""
    assert "comet_widgets._errors" in GRAPH["comet_widgets.images._results"]
    assert "comet_widgets.client._client" in GRAPH["comet_widgets.batch._generate"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def private_imports(name: str, source: str | None = None) -> list[str]:
    """What module ``name`` imports from another folder's modules under a private name (a
    leading underscore; the modules themselves are private by convention and may be named)."""
    return [
        f"{target}.{imported}"
        for target, names in from_imports(name, source)
        if target in MODULES and folder_of(target) != folder_of(name)
        for imported in names
        if imported.startswith("_") and not imported.endswith("__")
        if f"{target}.{imported}" not in MODULES
    ]


def test_no_module_imports_another_folders_private_helpers() -> None:
    # Guards the test: a function-level import of another folder's helper is caught; the
    # same folder's helpers, public names, dunders and modules are not.
    source = (
        "from .._version import __version__\n"
        "from ._results import _private_here\n"
        "from ..widget import _progress_bar\n"
        "def f():\n"
        "    from ..client._uploads import _helper, prepare\n"
    )
    assert private_imports("comet_widgets.batch._edits", source) == [
        "comet_widgets.client._uploads._helper"
    ]
    offenders = {name: private_imports(name) for name in MODULES if private_imports(name)}
    assert offenders == {}


def client_side() -> list[str]:
    return [name for name in MODULES if not name.startswith("comet_widgets.widget")]


def test_only_the_widget_folder_imports_jupyter_in_its_sources() -> None:
    offenders = {
        name: sorted(set(imports_of(name)[1]) & set(JUPYTER))
        for name in client_side()
        if set(imports_of(name)[1]) & set(JUPYTER)
    }
    assert offenders == {}
    assert {"ipywidgets", "traitlets"} <= {
        package
        for name in MODULES
        if name.startswith("comet_widgets.widget")
        for package in imports_of(name)[1]
    }


@pytest.mark.slow
def test_importing_every_client_side_module_loads_no_jupyter_package() -> None:
    names = [name for name in client_side() if not name.endswith("__main__")]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=90
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "comet_widgets.batch._generate" in loaded
    assert [m for m in loaded if m.split(".")[0] in JUPYTER] == []


def test_the_fakes_names_live_in_testing() -> None:
    """The fake's key, host name and request-id prefix are declared in ``testing/`` only; the
    client, the panel and the defaults import them or know nothing of them."""
    from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, REQUEST_ID_PREFIX

    names = (FAKE_API_KEY, IN_PROCESS_BASE_URL.split("/")[2], f'"{REQUEST_ID_PREFIX}', "comet-fake")
    for name, path in MODULES.items():
        if name == "comet_widgets.testing" or name.startswith("comet_widgets.testing."):
            continue
        text = path.read_text(encoding="utf-8")
        assert not [n for n in names if n in text], name
