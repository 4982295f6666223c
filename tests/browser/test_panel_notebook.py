"""The browser tests' notebook stays the quickstart's public API (no browser needed)."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICKSTART = HERE.parents[1] / "notebooks" / "01-quickstart.ipynb"


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_panel_cell_is_the_quickstarts() -> None:
    """panel.ipynb builds its panel with exactly the quickstart's first code cell."""
    assert _code_cells(HERE / "panel.ipynb")[0] == _code_cells(QUICKSTART)[0]
