"""Sphinx configuration of the docs site (``make docs``; docs/README.md says why this stack).

The build is offline: the tutorial notebooks run on the package's built-in fake API (no key, no
network), and the widget manager that shows their saved panels comes from the npm registry
(``@jupyter-widgets/html-manager``), fetched once into ``docs/_build/`` by ``npm pack``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))

# The notebooks run offline whatever the shell holds: a key must never reach a built page.
for name in ("COMETAPI_KEY", "COMETAPI_BASE_URL"):
    os.environ.pop(name, None)
os.environ["COMETAPI_OFFLINE"] = "1"
# The panels the notebooks show record their runs into a library: a throw-away one, never the
# user's (the notebooks also run in a temporary folder: nb_execution_in_temp).
_LIBRARY = tempfile.mkdtemp(prefix="comet-docs-library-")
atexit.register(shutil.rmtree, _LIBRARY, ignore_errors=True)
os.environ["COMET_WIDGETS_LIBRARY"] = _LIBRARY
# The kernel imports this checkout, not another installed copy.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)

import comet_widgets  # noqa: E402

project = "comet-widgets"
author = "comet-widgets developers"
copyright = "2026, comet-widgets developers"
release = version = comet_widgets.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"comet-widgets {release}"
html_static_path: list[str] = []

# -- the tutorial notebooks ------------------------------------------------------------------
# notebooks/*.ipynb are copied into docs/tutorials/ (ignored by git) before each build, so a
# notebook added to notebooks/ becomes a page; they run top to bottom on the fake.
TUTORIALS = DOCS / "tutorials"
TUTORIALS.mkdir(exist_ok=True)
_wanted = {path.name for path in sorted((REPO / "notebooks").glob("*.ipynb"))}
for stale in TUTORIALS.glob("*.ipynb"):
    if stale.name not in _wanted:
        stale.unlink()
for name in _wanted:
    source, copy = REPO / "notebooks" / name, TUTORIALS / name
    if not copy.exists() or copy.read_bytes() != source.read_bytes():
        shutil.copyfile(source, copy)

nb_execution_mode = "force"
nb_execution_in_temp = True
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# -- the widget manager, from the npm registry -----------------------------------------------
HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"
WIDGETS_JS = DOCS / "_build" / "html-manager"


def _html_manager() -> Path:
    """``dist/`` of the html-manager package (``embed.js``: no RequireJS, no CDN)."""
    dist = WIDGETS_JS / "package" / "dist"
    if (dist / "embed.js").exists():
        return dist
    WIDGETS_JS.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("make docs needs npm (Node.js) to fetch " + HTML_MANAGER)
    done = subprocess.run(
        [npm, "pack", "--silent", HTML_MANAGER],
        cwd=WIDGETS_JS,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    archive = WIDGETS_JS / done.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        tar.extractall(WIDGETS_JS, filter="data")
    return dist


html_static_path.append(str(_html_manager()))
nb_ipywidgets_js = {"embed.js": {}}

# -- the API reference -----------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = False
napoleon_numpy_docstring = False


def _reference_entries() -> str:
    """One autodoc directive per name in ``comet_widgets.__all__``, in that order (reST: the
    docstrings are reStructuredText)."""
    lines = ["```{eval-rst}"]
    for name in comet_widgets.__all__:
        if name == "__version__":
            continue
        value = getattr(comet_widgets, name)
        if isinstance(value, type):
            kind = "autoexception" if issubclass(value, BaseException) else "autoclass"
            lines += [f".. {kind}:: comet_widgets.{name}", ""]
        elif callable(value):
            lines += [f".. autofunction:: comet_widgets.{name}", ""]
        else:
            lines += [f".. py:data:: {name}", "   :module: comet_widgets", ""]
            lines += [f"   {line}" for line in _attribute_doc(name, value)] + [""]
    lines.append("```")
    return "\n".join(lines)


def _attribute_doc(name: str, value: object) -> list[str]:
    """The ``#:`` comment above a public constant where its module defines it."""
    from sphinx.pycode import ModuleAnalyzer

    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith("comet_widgets.") and getattr(module, name, None) is value:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", name))
            if docs:
                return [line for line in docs if line.strip()]
    raise RuntimeError(f"comet_widgets.{name} has no #: comment where it is defined")


def _unlisted_pages(index: str) -> list[str]:
    """Pages under docs/ that index.md does not list (guides added later, such as library.md)."""
    blocks = re.findall(r"^```\{toctree\}\n(.*?)^```", index, re.S | re.M)
    listed = {line.strip() for block in blocks for line in block.splitlines()}
    pages = sorted(path.stem for path in DOCS.glob("*.md"))
    return [page for page in pages if page not in listed | {"README", "index"}]


def _add_generated(app: object, docname: str, source: list[str]) -> None:
    if docname == "reference":
        source[0] += "\n" + _reference_entries()
    elif docname == "index":
        # Every page is in the user guide's table of contents, after the Python API guide.
        extra = "".join(f"{page}\n" for page in _unlisted_pages(source[0]))
        source[0] = source[0].replace("\npython-api\n", "\npython-api\n" + extra, 1)


def setup(app: object) -> None:
    app.connect("source-read", _add_generated)  # type: ignore[attr-defined]
