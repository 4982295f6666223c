"""The documentation site: it builds with no warning, holds no key, shows the tutorials' panels,
and every link in the README and the pages resolves (offline: internal links only)."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import comet_widgets
from comet_widgets.testing import FAKE_API_KEY, serve_fake

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def pyproject_urls() -> dict[str, str]:
    """``[project.urls]`` of pyproject.toml (read without tomllib, which Python 3.10 lacks)."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    table = text.split("\n[project.urls]\n", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^(\w+) = "([^"]+)"$', table, re.M))


HOME = pyproject_urls()["Homepage"].rstrip("/")
OWNER_REPO = HOME.removeprefix("https://github.com/")
#: Absolute links into this repository, checked as files of the checkout.
REPO_PREFIXES = (
    f"{HOME}/blob/main/",
    f"{HOME}/tree/main/",
    f"https://raw.githubusercontent.com/{OWNER_REPO}/main/",
)
README = (REPO / "README.md").read_text(encoding="utf-8")
TUTORIALS = sorted((REPO / "notebooks").glob("*.ipynb"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
PAGES = sorted(
    path
    for path in DOCS.rglob("*.md")
    if not {"_build", "tutorials"} & set(path.relative_to(DOCS).parts)
)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub and MyST (``myst_heading_anchors``) make it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # no headings in code blocks
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def links_of(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", markdown_of(path), flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    return LINK.findall(text)


def broken(path: Path, target: str) -> str | None:
    """Why ``target`` (a link in ``path``) does not resolve, or None when it does."""
    for prefix in REPO_PREFIXES:
        if target.startswith(prefix):
            where = REPO / target.removeprefix(prefix).split("#", 1)[0]
            return None if where.exists() else f"{target}: no {where.relative_to(REPO)}"
    if re.match(r"^[a-z]+:", target):
        return None  # another site or mailto: not checked offline
    file, _, anchor = target.partition("#")
    where = (path.parent / file).resolve() if file else path
    if path.parent == DOCS and file.startswith("tutorials/"):
        where = REPO / "notebooks" / file.removeprefix("tutorials/")  # copied at build time
    if not where.exists():
        return f"{target}: no such file"
    if anchor and where.suffix == ".md" and anchor not in anchors(where):
        return f"{target}: no heading #{anchor} in {where.name}"
    return None


def test_the_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A part\n", encoding="utf-8")
    assert broken(page, "page.md#a-part") is None
    assert broken(page, "page.md#no-part") is not None
    assert broken(page, "other.md") is not None
    assert broken(page, f"{HOME}/blob/main/no-such-file.md") is not None
    assert broken(page, f"{HOME}/blob/main/README.md") is None


@pytest.mark.parametrize(
    "path",
    [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "CONTRIBUTING.md", *PAGES, *TUTORIALS],
    ids=lambda path: str(path.relative_to(REPO)),
)
def test_every_internal_link_resolves(path: Path) -> None:
    targets = links_of(path)
    assert [why for target in targets if (why := broken(path, target))] == []


def test_the_readme_fits_on_a_few_screens() -> None:
    lines = README.splitlines()
    assert len(lines) < 200
    assert "pip install comet-widgets" in README
    # The screenshot works on a package index page too: an absolute link into the repository.
    shots = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert shots == [f"https://raw.githubusercontent.com/{OWNER_REPO}/main/docs/panel.png"]
    for page in ("getting-started", "panel", "python-api", "errors", "costs", "cli", "testing"):
        assert f"{HOME}/blob/main/docs/{page}.md" in README, page


def test_the_package_metadata_points_at_one_repository() -> None:
    urls = pyproject_urls()
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert urls["Changelog"] == f"{HOME}/blob/main/CHANGELOG.md"
    assert urls["Issues"] == f"{HOME}/issues"
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{comet_widgets.__version__}] - " in changelog


def test_the_panel_pictures_are_the_browser_tests_screenshots() -> None:
    """Each picture under docs/ is a copy of a PNG that a browser test writes."""
    tests = (REPO / "tests" / "browser").glob("*.py")
    sources = "\n".join(path.read_text(encoding="utf-8") for path in tests)
    written = [
        re.compile(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(name)) + r"\Z")
        for name in re.findall(r"""f?["']([\w{}.-]+\.png)["']""", sources)
    ]
    assert len(written) >= 10
    pictures = {"readme-panel.png": DOCS / "panel.png"}
    pictures |= {p.name: p for p in (DOCS / "screenshots").glob("*.png")}
    for name, path in pictures.items():
        assert any(rule.match(name) for rule in written), name
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
    used = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    for path in pictures.values():
        assert path.relative_to(DOCS).as_posix() in used, f"{path.name} is not on any page"


@pytest.mark.docs
@pytest.mark.timeout(900)
def test_the_site_builds_with_no_warning(built_site: Any) -> None:
    # Sphinx's warnings (the kernels' own stderr lines, such as ipykernel's TCP notice, are not).
    problems = re.findall(r"^.*: (?:WARNING|ERROR|CRITICAL|SEVERE): .*$", built_site.log, re.M)
    assert problems == []
    pages = {p.relative_to(built_site.html).as_posix() for p in built_site.html.rglob("*.html")}
    wanted = {f"{p.relative_to(DOCS).with_suffix('.html').as_posix()}" for p in PAGES}
    wanted -= {"README.html"}
    wanted |= {f"tutorials/{nb.stem}.html" for nb in TUTORIALS}
    assert wanted <= pages, wanted - pages
    reference = (built_site.html / "reference.html").read_text(encoding="utf-8")
    for name in comet_widgets.__all__:
        if name != "__version__":
            assert f'id="comet_widgets.{name}"' in reference, name


@pytest.mark.docs
@pytest.mark.timeout(900)
def test_no_built_file_holds_the_key(built_site: Any) -> None:
    files = [p for p in built_site.html.rglob("*") if p.is_file()]
    assert len(files) > 20
    holding = [p.name for p in files if built_site.secret.encode() in p.read_bytes()]
    assert holding == []
    assert built_site.secret not in built_site.log


@pytest.mark.docs
@pytest.mark.timeout(900)
def test_the_tutorials_carry_their_panels_widget_state(built_site: Any) -> None:
    """A tutorial that shows a panel carries its saved widget state, images included, and the
    widget manager from the site itself; one that shows no widget shows its images as outputs."""
    panels = 0
    for notebook in TUTORIALS:
        page = (built_site.html / "tutorials" / f"{notebook.stem}.html").read_text("utf-8")
        for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
            assert cdn not in page, (notebook.name, cdn)
        state = re.search(
            r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', page, re.S
        )
        source = notebook.read_text(encoding="utf-8")
        if state is None:
            assert "ImageGenerator(" not in source, notebook.name
            assert "<img " in page, notebook.name  # its images are plain outputs
            continue
        models = json.loads(state.group(1))["state"]
        assert models, notebook.name
        if "ImageGenerator(" in source:  # shows a panel
            panels += 1
            images = [m for m in models.values() if m["model_name"] == "ImageModel"]
            assert any(m.get("buffers") for m in images), notebook.name
        assert "application/vnd.jupyter.widget-view+json" in page, notebook.name
        assert re.search(r'<script src="\.\./_static/embed\.js\?v=\w+"></script>', page)
    assert panels >= 2  # the quickstart and the edits


def readme_section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


async def test_the_readme_client_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's asyncio example, as written, against the fake on loopback."""
    code = readme_section("In a notebook").split("```python\n")[2].split("```", 1)[0]
    with serve_fake() as server:
        monkeypatch.setenv("COMETAPI_KEY", FAKE_API_KEY)
        monkeypatch.setenv("COMETAPI_BASE_URL", server.base_url)
        monkeypatch.chdir(tmp_path)
        names: dict[str, Any] = {}
        await eval(compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT), names)
        posts = [r.path for r in server.app.requests if r.method == "POST"]
    assert posts.count("/v1/images/edits") == 1
    assert posts.count("/v1/images/generations") == 3
    assert names["edited"].images[0].image.size == (1024, 1024)
    assert names["results"].ok
    assert len(list((tmp_path / "dataset").glob("*.png"))) == 2


def test_the_readme_command_lines_parse() -> None:
    """Every ``comet-images`` line of the README names real subcommands and flags."""
    from comet_widgets.cli._parser import build_parser

    lines = readme_section("From a terminal").split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("  #", 1)[0] for line in lines.splitlines()]
    assert len(commands) == 3
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "comet-images"
        build_parser().parse_args(argv[1:])  # exits 2 (SystemExit) on an unknown flag
