"""Release hygiene: the sdist and the wheel pass ``twine check --strict``, the wheel holds what
the package needs and nothing else, and its metadata (version, URLs, classifiers) is right."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import comet_widgets
from tests.helpers import clean_env, run_captured

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")
#: pyproject's [project.urls] (read without tomllib, which Python 3.10 lacks).
URLS = dict(
    re.findall(
        r'^(\w+) = "([^"]+)"$', PYPROJECT.split("\n[project.urls]\n", 1)[1].split("\n[")[0], re.M
    )
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("build", "twine"):
        assert importlib.util.find_spec(tool), f"{tool} comes with the dev extra"
    out = tmp_path_factory.mktemp("dist")
    done = run_captured(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        cwd=out,
        env=clean_env(("COMET", "PYTHON")),
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_twine_check_strict_passes_for_the_sdist_and_the_wheel(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert sorted(Path(f).suffix for f in files) == [".gz", ".whl"]
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_wheel_holds_the_package_and_nothing_else(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    version = comet_widgets.__version__
    assert wheel.name == f"comet_widgets-{version}-py3-none-any.whl"
    info = f"comet_widgets-{version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    for needed in (
        "comet_widgets/__init__.py",
        "comet_widgets/py.typed",
        "comet_widgets/widget/_painter.js",
        "comet_widgets/testing/__init__.py",
        f"{info}/licenses/LICENSE",
    ):
        assert needed in names, needed
    assert [n for n in names if not n.startswith(("comet_widgets/", f"{info}/"))] == []
    # No tests, benchmarks, notebooks, docs or caches; make demo's launcher is a development
    # tool that opens the checkout's notebooks.
    assert [n for n in names if n.endswith((".pyc", ".ipynb")) or "__pycache__" in n] == []
    assert "comet_widgets/cli/_demo.py" not in names
    assert (REPO / "comet_widgets/cli/_demo.py").exists()  # still in the checkout

    assert metadata["Version"] == version
    assert metadata["License"] == "MIT" or metadata["License-Expression"] == "MIT"
    urls = dict(line.split(", ", 1) for line in metadata.get_all("Project-URL"))
    assert urls == URLS
    classifiers = metadata.get_all("Classifier")
    for classifier in (
        "Framework :: Jupyter",
        "Framework :: Jupyter :: JupyterLab :: 4",
        "License :: OSI Approved :: MIT License",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.10",
    ):
        assert classifier in classifiers, classifier
    # Not a JupyterLab extension: the package ships no labextension.
    assert not any("JupyterLab :: Extensions" in c for c in classifiers)
    assert not any("labextension" in n for n in names)
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# comet-widgets")


def test_the_version_is_written_once() -> None:
    """pyproject reads it from comet_widgets/_version.py."""
    project = PYPROJECT.split("\n[project]\n", 1)[1].split("\n[", 1)[0]
    assert "\nversion =" not in project
    assert '\ndynamic = ["version"]\n' in project
    assert '\n[tool.hatch.version]\npath = "comet_widgets/_version.py"\n' in PYPROJECT


def test_license_and_changelog_are_there_and_true() -> None:
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in license_text
    assert 'license = { text = "MIT" }' in PYPROJECT
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in changelog
    assert "## [Unreleased]" in changelog
    assert f"## [{comet_widgets.__version__}] - " in changelog
    contributing = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for command in ("make unit", "make test", "make docs", "make bench"):
        assert command in contributing, command
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("unit:", "test:", "docs:", "bench:"):
        assert f"\n{target}" in makefile, target
