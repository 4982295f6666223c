"""Benchmark 9: the panel in JupyterLab in headless Chromium, as a person sees it.

A notebook with ``ImageGenerator(n=4)`` (the quickstart's panel, four images) runs in JupyterLab
in headless Chromium; its kernel talks to the fake API, which runs in a thread of this process
and serves the ~2 MB benchmark PNG for every image (four per answer, 11.7 MB of base64) after
``latency`` seconds. For each generation, all timestamps are wall-clock milliseconds (the page's
``performance.timeOrigin + performance.now()``, this process's ``time.time()``; one machine, one
clock):

- **click -> placeholders visible**: from the real mouse click's event (``event.timeStamp`` of
  a capturing ``click`` listener on Generate) to the end of the first animation frame in which
  all four placeholder tiles are laid out and visible (a task queued from that frame's
  ``requestAnimationFrame`` callback, so after the frame was painted). The click goes to the
  kernel over the widget comm and the placeholders come back as widget updates; a second
  click handler on Generate (after the panel's) timestamps in the kernel when the panel has
  handled the click, which splits the figure into the way in and the way back.
- **answer -> four thumbnails painted**: "answer" is the moment the fake finished sending its
  response (its ``RecordedRequest.finished``: the whole body handed to its socket). From there
  to the end of the first frame after all four visible thumbnails are new, ``complete``, have a
  ``naturalWidth`` and ``img.decode()`` resolved: the kernel receiving and decoding the body,
  making four thumbnails, sending them over the comm, and the browser decoding and painting;
  a wrapper of the gallery's ``show`` in the kernel timestamps when the thumbnails are set on
  their widgets, which splits it into the kernel's part and the front end's.

Warm-up generations (imports, first connection) are not counted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ._common import FAKE_KEY, emit, summary
from ._images import image_file
from ._lab import KERNEL_IDLE_JS, KERNEL_TIMEOUT_MS, RUN_CELL_JS, chromium_page, jupyterlab, missing

N = 4
#: Four images in one plain JSON answer (no partial previews streamed before it). A second
#: click handler on Generate, registered after the panel's own, timestamps in the kernel the
#: moment the panel's handler has returned (the placeholders' widget updates are sent by then);
#: a wrapper of the gallery's ``show`` the moment the four thumbnails are set on their widgets.
PANEL_CELL = """\
import json
import time

from comet_widgets import ImageGenerator

gen = ImageGenerator(n=4, partial_images=0)
handled, shown = [], []
gen._controls.generate.on_click(lambda _button: handled.append(time.time() * 1000))
_show = gen._gallery.show


def show(*args, **kwargs):
    _show(*args, **kwargs)
    shown.append(time.time() * 1000)


gen._gallery.show = show
gen"""
MARKS_CELL = 'print("BENCH-MARKS" + json.dumps([handled, shown]))'

#: Installs the watcher for one generation; ``window.__cwBench`` resolves to its timestamps.
_WATCH_JS = """([root, n]) => {
  const now = () => performance.timeOrigin + performance.now();
  const frame = () => new Promise(r => requestAnimationFrame(r));
  const afterPaint = () => new Promise(r => { const c = new MessageChannel();
    c.port1.onmessage = () => r(now()); c.port2.postMessage(0); });
  const seen = el => el.offsetParent !== null;
  const button = root.querySelector('button.cw-generate');
  let clicked = null;
  button.addEventListener('click',
    e => { clicked = performance.timeOrigin + e.timeStamp; }, {capture: true, once: true});
  window.__cwBench = (async () => {
    const started = now();
    const late = () => { if (now() - started > 60000) throw new Error('no result in 60 s'); };
    while (true) {
      await frame(); late();
      const tiles = Array.from(root.querySelectorAll('.cw-tile .cw-placeholder')).filter(seen);
      if (clicked !== null && tiles.length === n) break;
    }
    const placeholders = await afterPaint();
    let imgs = [];
    while (true) {
      await frame(); late();
      const waiting = Array.from(root.querySelectorAll('.cw-tile .cw-placeholder')).filter(seen);
      imgs = Array.from(root.querySelectorAll('.cw-tile img.cw-thumb')).filter(seen);
      if (waiting.length === 0 && imgs.length === n &&
          imgs.every(i => i.complete && i.naturalWidth > 0)) break;
    }
    await Promise.all(imgs.map(i => i.decode()));
    await frame();
    const painted = await afterPaint();
    return {clicked, placeholders, painted};
  })();
  return true;
}"""


def _notebook(folder: Path) -> Path:
    import nbformat

    cells = [nbformat.v4.new_code_cell(PANEL_CELL), nbformat.v4.new_code_cell(MARKS_CELL)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    # A kernel named up front: JupyterLab starts it without asking.
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = folder / "bench-panel.ipynb"
    path.write_text(nbformat.writes(notebook))
    return path


def _clock_offset(page: Any) -> tuple[float, float]:
    """The page's clock minus this process's ``time.time()``, in ms, and its uncertainty (half
    the round trip of the best of several reads)."""
    best: tuple[float, float] | None = None
    for _ in range(7):
        before = time.time() * 1000
        seen = float(page.evaluate("() => performance.timeOrigin + performance.now()"))
        after = time.time() * 1000
        reading = (seen - (before + after) / 2, (after - before) / 2)
        if best is None or reading[1] < best[1]:
            best = reading
    assert best is not None
    return best


def _generate_once(page: Any, root: Any) -> dict[str, float]:
    page.evaluate(_WATCH_JS, [root, N])
    page.locator(".cw-panel button.cw-generate").click()
    marks: dict[str, float] = page.evaluate("() => window.__cwBench")
    page.wait_for_function(
        "root => /^Done/.test(root.querySelector('.cw-status').textContent)", arg=root
    )
    return marks


def _match(clicks: list[float], marks: list[float], slack: float) -> list[float]:
    """For each click (in order), the first kernel mark after it (within the clocks' error)."""
    found: list[float] = []
    rest = sorted(marks)
    for click in clicks:
        later = [m for m in rest if m >= click - slack]
        if not later:
            raise RuntimeError(f"no kernel mark after the click at {click:.0f} ms")
        found.append(later[0])
        rest = [m for m in rest if m > later[0]]
    return found


def _kernel_marks(page: Any) -> list[list[float]]:
    """The kernel's timestamps (``time.time()``, ms): each click handled, each run shown."""
    import json

    page.evaluate(RUN_CELL_JS, 1)
    output = page.locator(".jp-OutputArea-output", has_text="BENCH-MARKS")
    output.wait_for(timeout=KERNEL_TIMEOUT_MS)
    text = output.inner_text()
    return [
        [float(t) for t in marks] for marks in json.loads(text[text.index("BENCH-MARKS") + 11 :])
    ]


def run(*, smoke: bool = False) -> dict[str, Any]:
    problem = missing()
    if problem is not None:
        return {"skipped": problem}
    from comet_widgets.testing import FakeAPI, serve_fake

    rounds, warmups, latency = (1, 1, 0.2) if smoke else (15, 2, 0.5)
    app = FakeAPI(api_key=FAKE_KEY, image_bytes=image_file().read_bytes(), latency=latency)
    to_click: list[float] = []
    to_paint: list[float] = []
    clicks: list[float] = []  # the page's marks, on this process's clock
    shown: list[float] = []
    answers: list[float] = []
    painted: list[float] = []
    clock_error = 0.0
    with serve_fake(app) as server, jupyterlab(server.base_url, FAKE_KEY) as lab:
        path = _notebook(lab.notebooks)
        with chromium_page() as page:
            page.goto(lab.url(f"/lab/workspaces/bench/tree/{path.name}"))
            page.wait_for_function(KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_MS)
            page.evaluate(RUN_CELL_JS, 0)
            page.wait_for_function(
                "() => { const s = document.querySelector('.cw-panel .cw-status');"
                " return !!s && s.textContent.trim() === 'Ready'; }",
                timeout=KERNEL_TIMEOUT_MS,
            )
            prompt = page.locator(".cw-panel .cw-prompt textarea")
            prompt.fill("a lighthouse at dusk, four ways")
            page.wait_for_function(
                "() => !document.querySelector('.cw-panel button.cw-generate').disabled"
            )
            root = page.locator(".cw-panel").element_handle()
            for number in range(warmups + rounds):
                app.requests.clear()
                marks = _generate_once(page, root)
                [answer] = [r for r in app.requests if r.path.endswith("/images/generations")]
                if answer.status != 200 or answer.finished is None:
                    raise RuntimeError(f"generation {number} was not answered: {answer!r}")
                # The fake's clock is time.monotonic(), the page's its own: both mapped to
                # time.time(), the page's through a measured offset.
                offset, error = _clock_offset(page)
                answered = (answer.finished + time.time() - time.monotonic()) * 1000 + offset
                if marks["painted"] < answered:
                    raise RuntimeError("the thumbnails were painted before the answer was sent")
                if number >= warmups:
                    to_click.append(marks["placeholders"] - marks["clicked"])
                    to_paint.append(marks["painted"] - answered)
                    clock_error = max(clock_error, error)
                    clicks.append(marks["clicked"] - offset)
                    shown.append(marks["placeholders"] - offset)
                    answers.append(answered - offset)
                    painted.append(marks["painted"] - offset)
            handled_marks, shown_marks = _kernel_marks(page)
            handled = _match(clicks, handled_marks, clock_error)
            set_in_kernel = _match(answers, shown_marks, clock_error)
    return {
        "n": N,
        "rounds": rounds,
        "latency_s": latency,
        "answer_bytes": len(image_file().read_bytes()) * 4 // 3 * N,
        "click_to_placeholders_ms": summary(to_click),
        "answer_to_thumbnails_ms": summary(to_paint),
        "clock_error_ms": clock_error,
        "click_to_kernel_handled_ms": summary(
            [k - c for k, c in zip(handled, clicks, strict=True)]
        ),
        "kernel_handled_to_placeholders_ms": summary(
            [p - k for k, p in zip(handled, shown, strict=True)]
        ),
        "answer_to_kernel_set_ms": summary(
            [k - a for a, k in zip(answers, set_in_kernel, strict=True)]
        ),
        "kernel_set_to_painted_ms": summary(
            [p - k for k, p in zip(set_in_kernel, painted, strict=True)]
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
