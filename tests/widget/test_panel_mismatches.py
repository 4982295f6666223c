"""The tile caption says in words what came back unlike what was asked (``cw-mismatch``)."""

from __future__ import annotations

from collections.abc import Callable

from widget_parts import part, parts

from comet_widgets import ImageGenerator
from comet_widgets.testing import FakeAPI

MakePanel = Callable[..., ImageGenerator]


async def test_the_caption_says_what_differs(make_panel: MakePanel, app: FakeAPI) -> None:
    app.silent_changes = {
        "size": "1024x1024",
        "output_format": "png",
        "prompt": "A paper <boat> on a pond",
    }
    panel = make_panel(
        prompt="A paper boat", size="1536x1024", output_format="webp", partial_images=0
    )
    await panel.generate()
    [tile] = parts(panel, "cw-tile", visible=True)
    caption = part(tile, "cw-caption").value
    assert '<div class="cw-mismatch" title="asked: A paper boat">' in caption
    assert "asked 1536x1024, got 1024x1024 · asked webp, got png · prompt rewritten" in caption
    assert "A paper &lt;boat&gt; on a pond" in caption  # escaped
    part(tile, "cw-full-size").click()
    assert "asked webp, got png" in part(panel, "cw-lightbox-caption").value


async def test_no_mismatch_line_when_all_matches(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A paper boat", size="1536x1024", partial_images=0)
    await panel.generate()
    [tile] = parts(panel, "cw-tile", visible=True)
    assert "cw-mismatch" not in part(tile, "cw-caption").value
