"""The batch's progress in a notebook: an ``IntProgress`` bar and an ``HTML`` label.

``batch/_progress.py`` keeps the counts and the text, and picks this display in a Jupyter
kernel; it lives here because ``widget/`` is the only folder that imports ipywidgets or IPython.
"""

from __future__ import annotations

import sys
from typing import Any

import ipywidgets

from ._dom import escaped

__all__ = ["ProgressBar", "in_notebook"]


class ProgressBar:
    """An ``IntProgress`` and an ``HTML`` label, displayed once on creation."""

    def __init__(self, total: int, *, label: str, text: str) -> None:
        from IPython import display as ipython_display

        display: Any = ipython_display.display  # untyped in IPython
        self.bar = ipywidgets.IntProgress(value=0, min=0, max=max(total, 1), description=label)
        self.html = ipywidgets.HTML(value=escaped(text))
        self.box = ipywidgets.HBox([self.bar, self.html])
        display(self.box)

    def show(self, done: int, text: str, *, final: bool, failed: int) -> None:
        self.bar.value = done
        self.html.value = escaped(text)
        if final:
            self.bar.bar_style = "warning" if failed else "success"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where this bar can be displayed)."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
