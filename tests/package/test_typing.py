"""mypy still checks the keywords of ``generate``, ``stream``, ``edit`` and ``generate_many``
at a call site, though they take ``**params: Unpack[...]``: a misspelt keyword, a value of the
wrong type and an edit's ``moderation`` are errors, the right calls are not."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import comet_widgets

CALLS = """\
from comet_widgets import AsyncImageClient, generate_many


async def calls(client: AsyncImageClient) -> None:
    await client.generate("x", quality="low", n=2, model="gpt-image-2")
    await client.generate("x", qualty="low")  # error
    await client.generate("x", quality="ultra")  # error
    await client.generate("x", n="2")  # error
    await client.edit("x", image=b"", markup=b"", model="gpt-image-2.5-flare", n=1)
    await client.edit("x", image=b"", moderation="low")  # error
    await client.edit("x", image=b"", quality="hd")  # error
    await client.edit("x", image=b"", input_fidelity="medium")  # error
    await generate_many(["x"], quality="low", concurrency=2)
    await generate_many(["x"], qualty="low")  # error
    async for _ in client.stream("x", partial_images=2):
        pass
    async for _ in client.stream("x", sizee="1024x1024"):  # error
        pass
"""


@pytest.mark.slow
def test_mypy_flags_each_bad_call_and_no_good_one(tmp_path: Path) -> None:
    (tmp_path / "calls.py").write_text(CALLS)
    root = Path(comet_widgets.__file__).parent.parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version=3.10",
            f"--cache-dir={tmp_path / 'cache'}",
            "--follow-imports=silent",
            "calls.py",
        ],
        cwd=tmp_path,
        env={"MYPYPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    flagged = {int(line) for line in re.findall(r"^calls\.py:(\d+): error", done.stdout, re.M)}
    expected = {n for n, line in enumerate(CALLS.splitlines(), 1) if line.endswith("# error")}
    assert flagged == expected, done.stdout
