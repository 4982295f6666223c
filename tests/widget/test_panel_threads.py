"""The panel's two threads: the kernel's (cells, clicks) and its private loop's (runs).

Each test forces one interleaving with events instead of sleeps: a hook on the loop's side
stops it at the worst moment, the test's thread (the kernel's, here) then writes, and the hook
waits a bounded moment for that write. Where the write cannot happen in that window (the panel
lock holds it back), the hook's wait ends unanswered and the loop goes on first.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from widget_parts import parts

from comet_widgets import AsyncImageClient, ImageGenerator, InvalidParameterError
from comet_widgets.testing import FakeAPI
from comet_widgets.widget import _loop

MakePanel = Callable[..., ImageGenerator]
#: How long a loop-side hook waits for the kernel's write it lets in (it never comes while
#: the panel lock holds that write back).
WINDOW = 0.3


def pause_loop_in(obj: Any, name: str) -> tuple[threading.Event, threading.Event]:
    """Make ``obj.name`` stop on the loop's thread once, after running: it sets ``inside`` and
    waits up to ``WINDOW`` for ``written``. Returns ``(inside, written)``."""
    inside, written = threading.Event(), threading.Event()
    original = getattr(obj, name)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if _loop.in_loop_thread() and not inside.is_set():
            inside.set()
            written.wait(WINDOW)
        return result

    setattr(obj, name, hooked)
    return inside, written


@pytest.mark.parametrize("how", ["assignment", "upload"])
async def test_a_bad_input_written_while_a_run_lands_is_refused_at_once(
    make_panel: MakePanel, part: Any, how: str
) -> None:
    """An input written on the kernel's thread while ``_land`` holds the panel's notifications
    (here: while the gallery shows the landed run) is validated as it is written: refused with
    the clear error, and ``inputs`` stays as it was."""
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=4)
    inside, written = pause_loop_in(panel._gallery, "show")
    pending = panel.generate()
    assert inside.wait(10)
    refused: list[BaseException] = []
    if how == "assignment":
        try:
            panel.inputs = [b"not an image"]
        except Exception as exc:
            refused.append(exc)
        written.set()
        assert len(refused) == 1
        assert isinstance(refused[0], InvalidParameterError)
        assert "is not an image" in str(refused[0])
    else:
        upload = part(panel, "cw-upload")
        data = b"not an image"
        file = {"name": "notes.png", "type": "image/png", "size": len(data), "last_modified": 0}
        upload.set_state({"value": [{**file, "content": memoryview(data)}]})
        written.set()
        assert "notes.png" in part(panel, "cw-error").value
    generation = await pending
    assert panel.inputs == []
    assert panel.mode == "generate"
    assert (panel.status, panel.error) == ("done", "")
    assert panel.generation is generation
    assert len(panel.images) == 4


async def test_cancel_while_the_loop_shows_progress_leaves_the_status_line_cancelled(
    make_panel: MakePanel, app: FakeAPI, part: Any
) -> None:
    """``cancel()`` on the kernel's thread between the loop's "still running?" check and its
    status line: the line says Cancelled, as ``status`` does, and stays so."""
    app.latency = 30
    panel = make_panel(model="dall-e-2", prompt="A paper boat")
    inside, written = pause_loop_in(panel._gallery, "tick")
    pending = panel.generate()
    assert inside.wait(10)
    panel.cancel()
    written.set()
    with pytest.raises(asyncio.CancelledError):
        await pending
    ran = threading.Event()
    _loop.call_soon(ran.set)  # whatever the loop had queued has run by now
    assert ran.wait(5)
    assert panel.status == "cancelled"
    assert part(panel, "cw-status").value.startswith("Cancelled")


def test_a_client_the_user_also_awaits_is_refused_at_once_with_what_to_do() -> None:
    """A client given to the panel would be bound to the panel's private loop, and awaiting it
    in a cell fails ("bound to a different event loop"): the panel refuses it when built and
    says to pass a factory (or let the panel build its own)."""
    client = AsyncImageClient(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(InvalidParameterError, match="client_factory=") as info:
        ImageGenerator(client=client)
    assert info.value.field == "client"


async def test_every_held_notification_runs_holding_the_panel_lock(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    """The one-owner rule itself: whichever thread holds the panel's notifications (a run
    landing on the loop, a cell starting one, a cancel) holds the panel's lock meanwhile."""
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=2)
    original = panel.hold_trait_notifications
    held: list[tuple[str, bool]] = []

    def hold() -> Any:
        held.append((threading.current_thread().name, panel._lock._is_owned()))
        return original()

    panel.hold_trait_notifications = hold
    await panel.generate()
    await panel.generate_many(["A kite", "A lighthouse"])
    app.latency = 30
    pending = panel.generate()
    panel.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    threads = {name for name, _ in held}
    assert threads == {threading.current_thread().name, "comet-widgets-loop"}
    assert all(owned for _, owned in held), held


async def test_every_view_only_click_writes_holding_the_panel_lock(
    make_panel: MakePanel, part: Any, descendants: Callable[[Any], list[Any]]
) -> None:
    """The gallery's and the controls' own clicks (View, the lightbox's paging, Save,
    Download, Close, a tile's Save, More options, selecting tiles, saving and downloading the
    selected) write their widgets holding the panel's lock, as the loop's callbacks do: a
    click that writes without it could interleave with a run landing on the loop's thread."""
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=3)
    await panel.generate()
    writes: list[tuple[str, str, bool]] = []

    def record(change: Any) -> None:
        owner = change["owner"]
        classes = " ".join(getattr(owner, "_dom_classes", ())) or type(owner).__name__
        writes.append((classes, change["name"], panel._lock._is_owned()))

    for widget in descendants(panel):
        widget.observe(record)
    clicks = [
        ("cw-full-size", 0),
        ("cw-lightbox-next", None),
        ("cw-lightbox-prev", None),
        ("cw-lightbox-save", None),
        ("cw-lightbox-download", None),
        ("cw-lightbox-close", None),
        ("cw-save", 1),
        ("cw-advanced-toggle", None),
    ]
    for css, index in clicks:
        writes.clear()
        button = part(panel, css) if index is None else parts(panel, css)[index]
        button.click()
        assert writes, f"clicking {css} wrote nothing"
        unlocked = [(where, name) for where, name, owned in writes if not owned]
        assert not unlocked, f"clicking {css} wrote without the panel lock: {unlocked}"
    for index in (0, 2):
        writes.clear()
        parts(panel, "cw-select")[index].value = True  # as a browser's click sets it
        # What the click made the panel write (the box's own value is the browser's).
        made = [write for write in writes if write[:2] != ("cw-select", "value")]
        assert made
        assert all(owned for _, _, owned in made), made
    assert [image.index for image in panel.selected] == [0, 2]
    for css in ("cw-select-none", "cw-select-all", "cw-save-selected", "cw-download-selected"):
        writes.clear()
        part(panel, css).click()
        assert writes, f"clicking {css} wrote nothing"
        assert all(owned for _, _, owned in writes), (css, writes)
