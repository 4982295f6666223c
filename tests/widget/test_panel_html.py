"""Everything the panel shows in HTML is escaped: no text it is given or told runs as markup.

A hostile string goes into every text field the panel can show: the prompt, file names (an
upload and a path), the server's error message and request id, a revised prompt, a silently
changed parameter (the mismatch caption), a model id from the key's live model list. No HTML
widget's value may then hold the string's markup unescaped.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets
import pytest
from PIL import Image
from widget_parts import part, parts

import comet_widgets.widget as widget_package
from comet_widgets import ImageGenerator
from comet_widgets.testing import FakeAPI

HOSTILE = "<img src=x onerror=alert(1)>"
MakePanel = Callable[..., ImageGenerator]


def _unescaped(panel: ImageGenerator, descendants: Callable[..., list[Any]]) -> list[str]:
    """The HTML widgets' values that hold the hostile markup as markup."""
    found = []
    for widget in descendants(panel):
        if isinstance(widget, (ipywidgets.HTML, ipywidgets.HTMLMath)) and "<img src=x" in str(
            widget.value
        ):
            found.append(str(widget.value))
    return found


def _png(size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def _undecodable() -> bytes:
    """A PNG whose header and end read, its pixels garbage: its card says why, naming it."""
    data = bytearray(_png((128, 128)))
    data[60:-20] = bytes(len(data) - 80)
    return bytes(data)


@pytest.fixture
def panel(loopback_panel: MakePanel) -> ImageGenerator:
    return loopback_panel(api_key="sk-html", prompt=HOSTILE, model="dall-e-3")


async def test_hostile_text_from_the_user_and_the_server_is_escaped(
    panel: ImageGenerator, fake: FakeAPI, descendants: Callable[..., list[Any]]
) -> None:
    fake.silent_changes = {"prompt": HOSTILE, "quality": HOSTILE}
    await panel.generate()  # the prompt, a revised prompt, a mismatch caption
    assert panel.status == "done", panel.error
    fake.silent_changes = {}
    fake.fail_next(1, 400, message=HOSTILE, headers={"x-request-id": HOSTILE})
    part(panel, "cw-generate").click()
    await panel.wait()
    assert panel.status == "error"
    assert HOSTILE in panel.error  # the server's words, shown (escaped)
    assert _unescaped(panel, descendants) == []


async def test_hostile_file_names_on_input_cards_are_escaped(
    panel: ImageGenerator, tmp_path: Path, descendants: Callable[..., list[Any]], wait_until: Any
) -> None:
    path = tmp_path / f"{HOSTILE}.png"
    path.write_bytes(_undecodable())
    upload = part(panel, "cw-upload")
    data = _undecodable()
    upload.set_state(
        {
            "value": [
                {
                    "name": f"{HOSTILE}.png",
                    "type": "image/png",
                    "size": len(data),
                    "content": memoryview(data),
                    "last_modified": 0,
                }
            ]
        }
    )
    panel.inputs = [*panel.inputs, str(path)]
    wait_until(
        lambda: (
            len(parts(panel, "cw-input", visible=True)) == 2
            and not parts(panel, "cw-input-pending")
        )
    )
    labels = " ".join(str(part(card, "cw-input-label").value) for card in parts(panel, "cw-input"))
    assert "cannot be read" in labels
    assert _unescaped(panel, descendants) == []


async def test_hostile_model_ids_from_the_live_list_are_escaped(
    loopback_panel: MakePanel,
    fake: FakeAPI,
    descendants: Callable[..., list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    wait_until: Any,
) -> None:
    listed = fake.model_list()
    monkeypatch.setattr(fake, "model_list", lambda: [*listed, {"id": f"flux-{HOSTILE}"}])
    panel = loopback_panel(api_key="sk-html", prompt="a boat")
    wait_until(lambda: f"flux-{HOSTILE}" in dict(part(panel, "cw-model").options).values())
    panel.model = f"flux-{HOSTILE}"
    assert _unescaped(panel, descendants) == []


def test_text_enters_the_panels_html_through_one_helper() -> None:
    """``_dom.escaped`` is the one escaping helper: no other widget module escapes (or forgets
    to escape) on its own terms."""
    folder = Path(widget_package.__file__).parent
    others = [p.name for p in folder.glob("*.py") if p.name != "_dom.py"]
    assert [name for name in others if "html.escape" in (folder / name).read_text()] == []
