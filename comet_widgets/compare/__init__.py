"""Comparisons: ``compare`` runs the product of parameter axes as one batch and returns a
``Comparison`` (a labelled contact sheet and one record per cell).

Public names are re-exported from :mod:`comet_widgets`; the modules here are private.
"""

from ._compare import compare
from ._comparison import Comparison
from ._grid import Cell

__all__ = ["Cell", "Comparison", "compare"]
