"""The benchmark suite runs end to end (``python -m bench --smoke``), so it cannot rot.

Smoke mode uses tiny counts: its figures mean nothing and nothing here checks a timing. It checks
that every benchmark ran against the fake and that the report has each section with numbers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench._lab import start_server, stop_server

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
    "## 9. Browser: the panel in JupyterLab",
    "## 10. Long session: one panel, many runs",
    "## 11. Library: recording and browsing",
)
NUMBER = re.compile(r"\d+(\.\d+)?")


@pytest.mark.bench
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_suite_runs_once_and_reports_every_section(tmp_path: Path) -> None:
    report = tmp_path / "RESULTS.md"
    # Its servers' folders under one TMPDIR, where stop_server finds whatever it leaves. A short
    # one: Chromium's socket path under pytest's tmp_path (pytest-of-root/pytest-377/popen-gw1/
    # test_the_suite_..._r0/org.chromium.Chromium.XXXXXX/SingletonSocket) passes the 107-byte
    # limit of a Unix socket once pytest has counted its runs past 99, and Chromium aborts.
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as folder:
        process = start_server(
            [sys.executable, "-m", "bench", "--smoke", "--out", str(report)],
            cwd=REPO,
            env={**os.environ, "TMPDIR": folder},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # JupyterLab and Chromium start once for the browser section.
            _, stderr = process.communicate(timeout=270)
        finally:
            stop_server(process, Path(folder))
    assert process.returncode == 0, stderr[-4000:]
    text = report.read_text()
    assert text.startswith("# Benchmark results (SMOKE RUN")
    positions = [text.find(heading) for heading in SECTIONS]
    missing = [h for h, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert not missing, missing
    assert positions == sorted(positions)
    # Every section holds a table whose rows carry figures (the browser one, if it ran).
    ends = [*positions[1:], len(text)]
    at = SECTIONS.index("## 9. Browser: the panel in JupyterLab")
    browser = "Not run:" not in text[positions[at] : ends[at]]
    for heading, start, end in zip(SECTIONS, positions, ends, strict=True):
        rows = [line for line in text[start:end].splitlines() if line.startswith("| ")]
        figures = [row for row in rows[1:] if NUMBER.search(row)]
        if heading != "## Machine" and (browser or "Browser" not in heading):
            assert figures, f"{heading} has no figures"
    # One row per target, each with a measurement and a verdict.
    targets = text[positions[1] : positions[2]]
    verdicts = [ln for ln in targets.splitlines() if ln.endswith(("| met |", "| **MISSED** |"))]
    # 13, the edit upload ratio and its loop stall, the panel tile, the edit inputs' time on
    # the kernel's thread, the two browser targets (the browser section runs where Chromium
    # is: always in CI), the long session's three and the library's five (what recording adds
    # to the panel's landing, the Library view's open and search, a page, a search).
    assert browser or not os.environ.get("CI"), "the browser section did not run in CI"
    assert len(verdicts) == (27 if browser else 25)
    for name in ("ours", "httpx", "sdk"):
        assert f"| {name} |" in text
