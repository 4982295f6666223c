"""The static view: what a saved notebook shows of the panel without widget state.

The panel is displayed as two outputs: the live widget, then a small static one (a
``display_id``) carrying ``image/png`` (a contact sheet of the latest run) and ``text/html``
(the sheet with its captions). The static output is replaced after every run, so a notebook
saved with JupyterLab's default settings (no widget state), its nbconvert HTML and GitHub's
viewer show the latest images. Where the live panel is on the page, a CSS rule inside the
static HTML hides it (no image shown twice); where the widget cannot render, it shows.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._dom import escaped

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["StaticView"]


class StaticView:
    """The static output of one panel (``panel_class`` is the panel's unique CSS class)."""

    def __init__(self, panel_class: str) -> None:
        self.panel_class = panel_class
        self.display_id = f"{panel_class}-static"
        self.displayed = False
        self._bundle: dict[str, Any] = self._render(None, [], "")

    def _render(self, sheet: Image | None, captions: Sequence[str], title: str) -> dict[str, Any]:
        css = f"static-{self.panel_class}"
        hide = f"<style>body:has(.{self.panel_class}) .{css} {{ display: none; }}</style>"
        if sheet is None:
            return {
                "text/plain": "ImageGenerator: no images yet",
                "text/html": f'{hide}<div class="cw-static {css}"></div>',
            }
        # A 256-colour PNG, and a JPEG for the HTML: a saved notebook carries both.
        png, jpeg = io.BytesIO(), io.BytesIO()
        sheet.quantize(256).save(png, format="PNG", optimize=True)
        sheet.save(jpeg, format="JPEG", quality=80, optimize=True)
        encoded = base64.b64encode(png.getvalue()).decode("ascii")
        inline = base64.b64encode(jpeg.getvalue()).decode("ascii")
        items = "".join(f"<li>{escaped(c)}</li>" for c in captions)
        alt = escaped(captions[0] if captions else title)
        body = (
            f'{hide}<div class="cw-static {css}" style="max-width:100%;overflow-wrap:break-word">'
            f"<div><b>Image generator</b> · {escaped(title)}</div>"
            f'<img src="data:image/jpeg;base64,{inline}" alt="{alt}" style="max-width:100%">'
            f'<ol style="margin:4px 0;padding-left:1.6em">{items}</ol></div>'
        )
        plain = f"ImageGenerator: {title}\n" + "\n".join(
            f"{n}. {c}" for n, c in enumerate(captions, 1)
        )
        return {"text/plain": plain, "text/html": body, "image/png": encoded}

    def display(self) -> None:
        """Display the static output (under the live panel)."""
        from IPython.display import display

        display(self._bundle, raw=True, display_id=self.display_id)  # type: ignore[no-untyped-call]
        self.displayed = True

    def update(self, sheet: Image, captions: Sequence[str], title: str) -> None:
        """Replace the static output with the latest run (where it was displayed)."""
        self._bundle = self._render(sheet, captions, title)
        if not self.displayed:
            return
        from IPython.display import update_display

        update_display(self._bundle, raw=True, display_id=self.display_id)  # type: ignore[no-untyped-call]
