"""The panel's edit mode sends the choices ``EditParams`` declares and no other (``style``
refuses an edit while set; ``moderation``, a generation setting, is left out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

from comet_widgets import ImageGenerator, InvalidParameterError
from comet_widgets._types import EDIT_PARAMETERS, choices
from comet_widgets.testing import FakeAPI
from comet_widgets.widget._controls import OPTIONAL

MakePanel = Callable[..., ImageGenerator]
#: A model the catalogue does not know: the panel offers it every declared choice.
UNKNOWN = "flux-kontext-pro"


async def test_every_choice_edits_declare_is_sent_and_no_other(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="make it winter", model=UNKNOWN, partial_images=0)
    picked = {name: choices(name, closed_only=True)[-1] for name in OPTIONAL if name != "style"}
    picked["response_format"] = "b64_json"
    for name, value in picked.items():
        setattr(panel, name, value)
    panel.inputs = [Image.new("RGB", (64, 64), (200, 30, 30))]
    await panel.edit()
    [request] = [r for r in app.requests if r.path.endswith("/images/edits")]
    fields: dict[str, Any] = {p.name: p.value for p in request.form if p.filename is None}
    for name, value in picked.items():
        if name in EDIT_PARAMETERS:
            assert fields[name] == value, name
        else:
            assert name not in fields, name
    assert "moderation" in picked  # the case the rule is for
    panel.style = "vivid"
    with pytest.raises(InvalidParameterError, match="edits take no style"):
        panel.edit()


async def test_gif_output_with_a_mask_is_refused_before_sending(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2", output_format="gif")
    panel.inputs = [Image.new("RGB", (64, 64), (200, 30, 30))]
    panel.mask = np.ones((64, 64), dtype=bool)
    with pytest.raises(InvalidParameterError, match="GIF output takes no mask"):
        panel.edit()
    assert app.edit_count == 0
    panel.output_format = "png"
    await panel.edit()
    assert app.edit_count == 1
