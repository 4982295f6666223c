"""Progress displays: throttling, plain lines, terminal redraws, callbacks, the widget."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from comet_widgets.batch import _progress
from comet_widgets.batch._progress import (
    CallbackProgress,
    PlainProgress,
    TerminalProgress,
    WidgetProgress,
    make_progress,
)
from comet_widgets.widget import _progress_bar
from comet_widgets.widget._progress_bar import in_notebook


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_redraws_one_line_at_most_four_times_a_second() -> None:
    clock, out = Clock(), TTY()
    bar = TerminalProgress(100, stream=out, clock=clock)
    for _ in range(40):  # 40 items in one second
        clock.now += 0.025
        bar.update(succeeded=1)
    bar.update(failed=1)
    bar.update(resumed=2)
    bar.close()
    bar.close()  # idempotent
    draws = out.getvalue().split("\r")[1:]
    assert len(draws) <= 4 + 1 + 1  # at most 4 a second, plus the final one
    assert out.getvalue().endswith("\n")
    assert out.getvalue().count("\n") == 1
    final = draws[-1]
    assert "43/100" in final
    assert "40 ok" in final
    assert "1 failed" in final
    assert "2 resumed" in final
    assert "/min" in final
    assert "[########" in final


def test_terminal_bar_pads_over_a_longer_previous_line() -> None:
    clock, out = Clock(), TTY()
    bar = TerminalProgress(10, stream=out, clock=clock, min_interval=0, label="a long label")
    bar.update(succeeded=1)
    first = out.getvalue()
    bar.label = "b"
    bar.update(succeeded=1)
    second = out.getvalue()[len(first) :]
    assert second.startswith("\rb [")
    assert len(second) == len(first)  # blanks cover what is left of the longer line
    assert second.endswith(" ")


def test_plain_lines_every_tenth_and_every_few_seconds() -> None:
    clock, out = Clock(), io.StringIO()
    plain = PlainProgress(50, stream=out, clock=clock)
    for _ in range(50):
        clock.now += 1.0
        plain.update(succeeded=1)
    plain.close()
    lines = out.getvalue().splitlines()
    # the first item, then each tenth (every 5 items), then the final line
    assert [line.split()[1] for line in lines[:-1]] == [
        f"{n}/50" for n in (1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
    ]
    assert lines[-1].startswith("batch done: 50/50")
    assert all("\r" not in line for line in lines)

    clock, out = Clock(), io.StringIO()
    slow = PlainProgress(1000, stream=out, clock=clock, interval=5.0)
    for _ in range(4):
        clock.now += 3.0  # one item every 3 s: a line every 5 s at least
        slow.update(succeeded=1)
    # the first item (t=3), then the first item at least 5 s later (t=9)
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["1/1000", "3/1000"]


def test_callback_gets_every_change() -> None:
    calls: list[tuple[int, int, int]] = []
    progress = make_progress(lambda d, f, t: calls.append((d, f, t)), 3)
    assert isinstance(progress, CallbackProgress)
    progress.update(resumed=1)
    progress.update(succeeded=1)
    progress.update(failed=1)
    progress.close()
    assert calls == [(1, 0, 3), (2, 0, 3), (3, 1, 3), (3, 1, 3)]


def test_make_progress_picks_by_environment() -> None:
    assert make_progress(False, 3) is None
    assert make_progress(None, 3) is None
    assert isinstance(make_progress(True, 3, stream=io.StringIO()), PlainProgress)
    assert isinstance(make_progress(True, 3, stream=TTY()), TerminalProgress)
    given = PlainProgress(3, stream=io.StringIO())
    assert make_progress(given, 3) is given
    with pytest.raises(TypeError, match="bool or a callable"):
        make_progress(3, 3)  # type: ignore[arg-type]


def test_not_a_notebook_in_a_plain_interpreter() -> None:
    assert not in_notebook()


def test_widget_progress_displays_once_and_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    clock = Clock()
    widget = WidgetProgress(4, clock=clock)
    for _ in range(3):
        clock.now += 1
        widget.update(succeeded=1)
    widget.update(failed=1)  # throttled
    assert widget.bar.bar.value == 3
    widget.close()
    assert len(shown) == 1
    assert widget.bar.bar.value == 4
    assert widget.bar.bar.bar_style == "warning"
    assert "1 failed" in widget.bar.html.value
    assert widget.bar.bar.max == 4


def test_make_progress_uses_the_widget_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or object())
    monkeypatch.setattr(_progress_bar, "in_notebook", lambda: True)
    monkeypatch.setattr(_progress, "WidgetProgress", lambda total, **kw: ("widget", total))
    assert make_progress(True, 5) == ("widget", 5)  # type: ignore[comparison-overlap]
