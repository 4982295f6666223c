"""What ``pip install comet-widgets`` gives, the README's opening and Install, and the Install
section of the docs' Getting started page (docs/getting-started.md).

The slow test builds the sdist and, from it, the wheel (``python -m build``), checks the sdist,
installs the wheel with no extras into a fresh venv and, there, outside the checkout: offline
generate, edit with a mask and stream, the docs' first image, the CLI with ``--offline``, and
the extras' errors. The fast tests run the docs' five lines against the fake.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from comet_widgets.testing import FakeAPI, serve_fake

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
GETTING_STARTED = (REPO / "docs" / "getting-started.md").read_text(encoding="utf-8")
SERVER = 'pip install "comet-widgets[server]"'
PAINTER = 'pip install "comet-widgets[painter]"'
#: What an sdist must hold for a build, and what it must never carry.
SDIST_NEEDS = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "comet_widgets/__init__.py",
    "comet_widgets/py.typed",
    "comet_widgets/widget/_painter.js",
)
JUNK = {".venv", "test-artifacts", "__pycache__", ".pytest_cache", ".mypy_cache", "comet-images"}


def install_section(text: str = GETTING_STARTED) -> str:
    """The ``## Install`` section of the docs' Getting started page (or of ``text``)."""
    return text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]


def first_image() -> str:
    """The Install section's Python block: the first image in five lines."""
    return install_section().split("```python\n", 1)[1].split("```", 1)[0]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this checkout on the path and without any key or API address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMET", "PYTHON"))}
    return {**env, **extra}


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 90) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)[:200]}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def is_png(path: Path) -> bool:
    return path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_install_section_follows_the_two_commands() -> None:
    """Right after the README's opening ``make demo`` / ``make test``, the first section."""
    opening = README.index("make demo")
    assert (
        opening < README.index("make test") < README.index("\n## ") == README.index("\n## Install")
    )
    section = install_section(README)
    for line in ("pip install comet-widgets", PAINTER):
        assert line in section, line
    assert '"[server]"' in section
    assert "COMETAPI_KEY" in README.split("\n## The key\n", 1)[1].split("\n## ", 1)[0]


def test_the_docs_install_section_has_the_first_image() -> None:
    section = install_section()
    for line in ("pip install comet-widgets", PAINTER, "COMETAPI_KEY", "offline=True"):
        assert line in section, line
    assert '"[server]"' in section
    assert len(first_image().strip().splitlines()) == 5


@pytest.mark.slow
def test_the_first_image_uses_the_key_from_the_environment(tmp_path: Path) -> None:
    key = "sk-docs-first-image"
    with serve_fake(FakeAPI(api_key=key)) as server:
        env = clean_env(COMETAPI_KEY=key, COMETAPI_BASE_URL=server.base_url, PYTHONPATH=str(REPO))
        run([sys.executable, "-c", first_image()], tmp_path, env)
        assert [(r.path, r.auth_ok) for r in server.app.requests if r.method == "POST"] == [
            ("/v1/images/generations", True)
        ]
    assert is_png(tmp_path / "boat.png")


@pytest.mark.slow
def test_the_first_image_offline(tmp_path: Path) -> None:
    code = first_image().replace("ImageGenerator(prompt", "ImageGenerator(offline=True, prompt")
    assert "offline=True" in code
    run([sys.executable, "-c", code], tmp_path, clean_env(PYTHONPATH=str(REPO)))
    assert is_png(tmp_path / "boat.png")


# Runs in the fresh venv: everything offline mode promises, with no extra installed.
OFFLINE = """
import asyncio, io, json, sys

import httpx
import numpy as np
from PIL import Image

import comet_widgets
from comet_widgets import AsyncImageClient, ImageGenerator, MissingDependencyError
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, fake_transport, serve_fake

found = {"where": comet_widgets.__file__, "prefix": sys.prefix}
for name in ("uvicorn", "anywidget", "python_multipart"):
    try:
        __import__(name)
        found[name] = True
    except ImportError:
        found[name] = False


async def main():
    http = httpx.AsyncClient(transport=fake_transport())
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http
    ) as client:
        made = await client.generate("a paper boat", model="gpt-image-2", n=2, quality="low")
        found["generate"] = [isinstance(i.image, Image.Image) for i in made.images]
        source = Image.new("RGB", (256, 256), (200, 30, 30))
        mask = np.zeros((256, 256), dtype=bool)
        mask[:, :128] = True
        edited = await client.edit("snow", image=source, mask=mask, model="gpt-image-2")
        result = np.asarray(edited.images[0].image.convert("RGB"), dtype=int)
        changed = np.abs(result - np.asarray(source, dtype=int)).sum(axis=2) > 0
        found["edit"] = [round(float(changed[mask].mean()), 2), bool(changed[~mask].any())]
        kinds = []
        async for item in client.stream("a kite", model="gpt-image-2", partial_images=2):
            final = isinstance(item, comet_widgets.Generation)
            kinds.append("final" if final else "partial")
            kinds.append(isinstance(item.images[0].image if final else item.image, Image.Image))
        found["stream"] = kinds
    await http.aclose()


asyncio.run(main())
gen = ImageGenerator(offline=True)  # no kernel: built in a plain interpreter
found["panel"] = [type(gen).__name__, gen.status]
gen.close()
for name, use in {
    "serve_fake": lambda: serve_fake().__enter__(),
    "MaskPainter": lambda: comet_widgets.MaskPainter,
}.items():
    try:
        use()
    except MissingDependencyError as exc:
        found[name] = str(exc)
print(json.dumps(found))
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_built_wheel_works_in_a_fresh_venv_without_extras(tmp_path: Path) -> None:
    # No skip: `build` is in the dev extra, and a test that skips in CI for a missing tool hides
    # a broken install step.
    assert importlib.util.find_spec("build"), "python -m build comes with the dev extra"
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist, so the
    # wheel also proves that the sdist holds what a build needs.
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], work, clean_env(), 240)
    (sdist,) = dist.glob("comet_widgets-*.tar.gz")
    (wheel,) = dist.glob("comet_widgets-*.whl")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert [need for need in SDIST_NEEDS if need not in names] == []
    assert [n for n in names if JUNK & set(n.split("/")) or n.endswith(".pyc")] == []

    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, clean_env())
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)]
    run(pip, work, clean_env(), 300)

    found = json.loads(run([str(python), "-c", OFFLINE], work, clean_env()).splitlines()[-1])
    assert found["where"].startswith(found["prefix"])  # the installed copy, not the checkout
    assert found["uvicorn"] is found["anywidget"] is found["python_multipart"] is False
    assert found["generate"] == [True, True]  # PIL images
    assert found["edit"][0] > 0.9
    assert found["edit"][1] is False  # only the masked half changed
    assert found["stream"] == ["partial", True, "partial", True, "final", True]
    assert found["panel"] == ["ImageGenerator", "idle"]
    assert found["serve_fake"].endswith(SERVER)
    assert found["MaskPainter"].endswith(PAINTER)

    # The docs' five lines, as written, with COMETAPI_OFFLINE=1 instead of a key.
    run([str(python), "-c", first_image()], work, clean_env(COMETAPI_OFFLINE="1"))
    assert is_png(work / "boat.png")

    cli = str(bin_dir / "comet-images")
    run([cli, "generate", "a paper boat", "--offline", "-o", "made"], work, clean_env())
    (made,) = (work / "made").glob("*.png")
    run([cli, "edit", str(made), "make it winter", "--offline", "-o", "edited"], work, clean_env())
    assert is_png(next((work / "edited").glob("*.png")))
    refused = subprocess.run(
        [cli, "serve-fake", "--port", "0"],
        cwd=work,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert re.fullmatch(rf"error: .*uvicorn.*{re.escape(SERVER)}\n", refused.stderr)
