"""``make demo-script``: with no key it runs against the offline fake and saves one image."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from comet_widgets import read_metadata
from comet_widgets.cli._demo import SEED_PROMPT
from comet_widgets.images._formats import sniff


def test_the_demo_script_saves_an_image_with_its_provenance(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    result = subprocess.run(
        [sys.executable, "-m", "comet_widgets.cli._demo", "--script"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "offline fake API" in result.stdout
    [saved_line] = [line for line in result.stdout.splitlines() if line.startswith("saved:")]
    path = tmp_path / saved_line.removeprefix("saved:").strip()
    assert path.is_file()
    assert path.resolve().parent == (tmp_path / "comet-images").resolve()
    info = sniff(path.read_bytes())
    assert (info.width, info.height) == (1024, 1024)
    record = read_metadata(path)
    assert record["prompt"] == SEED_PROMPT
    assert record["model"] == "gpt-image-2"  # the default: a model that works today
    assert record["revised_prompt"] is None  # GPT image models do not rewrite the prompt
    assert record["request_id"]
    assert "revised prompt" not in result.stdout
    assert "Traceback" not in result.stderr
