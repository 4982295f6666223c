"""The benchmark suite runs end to end (``python -m bench --smoke``), so it cannot rot.

Smoke mode uses tiny counts: its figures mean nothing and nothing here checks a timing. It checks
that every benchmark ran against the fake and that the report has each section with numbers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTIONS = (
    "## Machine",
    "## Targets",
    "## 1. Per-call overhead",
    "## 2. Batch efficiency",
    "## 3. Start-up",
    "## 4. Memory",
    "## 5. Widget",
    "## 6. Kernel loop stall",
    "## 7. Streaming: time to first pixel",
    "## 8. Edits: upload cost",
)
NUMBER = re.compile(r"\d+(\.\d+)?")


@pytest.mark.slow
def test_the_suite_runs_once_and_reports_every_section(tmp_path: Path) -> None:
    report = tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = report.read_text()
    assert text.startswith("# Benchmark results (SMOKE RUN")
    positions = [text.find(heading) for heading in SECTIONS]
    missing = [h for h, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert not missing, missing
    assert positions == sorted(positions)
    # Every section holds a table whose rows carry figures.
    for heading, start, end in zip(SECTIONS, positions, [*positions[1:], len(text)], strict=True):
        rows = [line for line in text[start:end].splitlines() if line.startswith("| ")]
        figures = [row for row in rows[1:] if NUMBER.search(row)]
        if heading != "## Machine":
            assert figures, f"{heading} has no figures"
    # One row per target, each with a measurement and a verdict.
    targets = text[positions[1] : positions[2]]
    verdicts = [ln for ln in targets.splitlines() if ln.endswith(("| met |", "| **MISSED** |"))]
    assert len(verdicts) == 16  # 13, the edit upload ratio and its loop stall, the panel tile
    for name in ("ours", "httpx", "sdk"):
        assert f"| {name} |" in text
