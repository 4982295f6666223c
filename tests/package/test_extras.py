"""What a plain ``pip install comet-widgets`` holds, and what the extras add.

Every package the code imports is a declared dependency, or is imported inside a ``try`` whose
``except ImportError`` raises ``MissingDependencyError`` (which names the ``pip install``
line). Fresh interpreters where uvicorn, anywidget and pandas cannot be imported show that the
error comes when the feature is used, not at import or when a panel is built. The built wheel in
a fresh venv: test_install.py.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import comet_widgets

PACKAGE = Path(comet_widgets.__file__).resolve().parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
SERVER = 'pip install "comet-widgets[server]"'
PAINTER = 'pip install "comet-widgets[painter]"'
#: ``make demo`` runs from a checkout with the dev extra, where JupyterLab's settings are optional.
EXEMPT = {("cli/_demo.py", "jupyterlab")}


def requirements() -> dict[str, list[str]]:
    """The distribution names of the dependencies (``""``) and of each extra."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {
        group: [re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0] for spec in specs]
        for group, specs in groups.items()
    }


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _raises_missing(handler: ast.ExceptHandler) -> bool:
    catches = ast.unparse(handler.type) if handler.type is not None else ""
    return "ImportError" in catches and any(
        isinstance(node, ast.Raise) and "MissingDependencyError" in ast.unparse(node)
        for node in ast.walk(handler)
    )


def imports(tree: ast.AST) -> Iterator[tuple[str, bool, int]]:
    """``(top-level name, guarded, line)`` of every absolute import: guarded when it sits in a
    ``try`` that raises ``MissingDependencyError`` for an ``ImportError``, or is for typing only."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Try) and any(map(_raises_missing, node.handlers))) or (
            isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        ):
            guarded |= {id(inner) for part in node.body for inner in ast.walk(part)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name.split(".")[0], id(node) in guarded, node.lineno


def test_the_extras_add_only_what_they_name() -> None:
    groups = requirements()
    assert groups["server"] == ["uvicorn"]
    assert groups["painter"] == ["anywidget"]


@pytest.mark.slow
def test_every_import_is_a_dependency_or_says_what_to_install() -> None:
    wanted = {normal(name) for name in requirements()[""]}
    owners = importlib.metadata.packages_distributions()  # import name -> distributions
    provided = {module for module, dists in owners.items() if wanted & set(map(normal, dists))}
    assert {"PIL", "httpx", "ipywidgets", "IPython", "numpy"} <= provided
    plain = provided | set(sys.stdlib_module_names) | {"comet_widgets", "__future__"}
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for name, guarded, line in imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name not in plain and not guarded and (where, name) not in EXEMPT:
                wrong.append(f"{where}:{line} imports {name}")
    assert wrong == []


def test_the_check_sees_an_unguarded_import() -> None:
    """Guards the test itself."""
    code = "try:\n    import uvicorn\nexcept ImportError:\n    uvicorn = None\nimport numpy\n"
    assert sorted((n, g) for n, g, _ in imports(ast.parse(code))) == [
        ("numpy", False),
        ("uvicorn", False),
    ]
    code = "try:\n    import uvicorn\nexcept ImportError as e:\n    raise MissingDependencyError(1)"
    assert [(n, g) for n, g, _ in imports(ast.parse(code))] == [("uvicorn", True)]


def run(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where uvicorn, anywidget and pandas cannot be imported."""
    blocked = (
        "import sys\nfor name in ('uvicorn', 'anywidget', 'pandas'): sys.modules[name] = None\n"
    )
    return subprocess.run(
        [sys.executable, "-c", blocked + code],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.slow
def test_without_the_extras_the_features_say_what_to_install() -> None:
    done = run(
        """
import comet_widgets
from comet_widgets import BatchResults, ImageGenerator, MissingDependencyError
from comet_widgets.testing import serve_fake

ImageGenerator(offline=True).close()  # a panel that does not paint needs no extra
uses = {
    "serve_fake": lambda: serve_fake().__enter__(),
    "MaskPainter": lambda: comet_widgets.MaskPainter,
    "to_dataframe": lambda: BatchResults([]).to_dataframe(),
}
for name, use in uses.items():
    try:
        use()
    except MissingDependencyError as exc:
        print(name, exc.package, "|", exc, "|", isinstance(exc, ImportError))
"""
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["serve_fake"].startswith("uvicorn |")
    assert lines["serve_fake"].endswith(f"{SERVER} | True")
    assert lines["MaskPainter"].startswith("anywidget |")
    assert lines["MaskPainter"].endswith(f"{PAINTER} | True")
    assert lines["to_dataframe"].startswith("pandas |")
    assert "pip install pandas" in lines["to_dataframe"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        "from comet_widgets.cli._main import main; sys.exit(main(['serve-fake', '--port', '0']))",
        "import runpy; runpy.run_module('comet_widgets.testing', run_name='__main__')",
    ],
    ids=["comet-images serve-fake", "python -m comet_widgets.testing"],
)
def test_serving_the_fake_without_the_server_extra_is_one_clear_line(command: str) -> None:
    done = run(command)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: serving the fake API on a port (serve_fake, comet-images serve-fake) needs"
        f" uvicorn, which is not installed: {SERVER}"
    ]
