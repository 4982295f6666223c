"""The package's import graph: no cycle, and no Jupyter package outside ``widget/``.

The graph is read with ``ast`` from the sources, so every import counts: module level, inside
functions, and under ``TYPE_CHECKING``. A fresh interpreter then imports every client-side
module (every one outside ``widget/``) and checks that no Jupyter package got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
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


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """``(package modules, outside top-level packages)`` that module ``name`` imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "comet_widgets":
                    inside.add(alias.name)
                else:
                    outside.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "comet_widgets":
                outside.add(target.split(".")[0])
                continue
            for alias in node.names:
                inside.add(
                    f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target
                )
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
