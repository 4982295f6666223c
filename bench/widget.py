"""Benchmark 5: what the widget costs per image.

- thumbnail bytes: ``GeneratedImage.preview()`` of the ~2 MB image, and what the gallery really
  puts into each ``widgets.Image.value``;
- Python-side time from the response (``generate_payload`` returning) to the gallery's
  thumbnails being set, for four-image generations (``n=4``), per image;
- the growth of a notebook saved by nbclient with ``store_widget_state=True`` per four-image
  generation (first generation, and each further one: the tiles are reused);
- edit inputs: ``panel.inputs = [bytes]`` on the caller's thread (only checked there), the time
  until its thumbnail and the painter's preview are shown (decoded in a worker thread), and
  what decoding both on the caller's thread would take.

Everything against the fake (its own process), in fresh interpreters.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Any

from ._common import FAKE_KEY, emit, fake_process, run_module, summary
from ._images import image_bytes, image_file

MODEL = "gpt-image-2"  # n up to 10, base64 answers; the fake serves the benchmark image


def _thumb_values(panel: Any) -> list[bytes]:
    """Bytes of every visible thumbnail in the panel's gallery."""
    return [bytes(tile.thumb.value) for tile in panel._gallery.tiles if tile.thumb.value]


def _child_panel(base_url: str, generations: int, n: int, previews: int) -> dict[str, Any]:
    from comet_widgets import AsyncImageClient, ImageGenerator

    client = AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0)
    panel = ImageGenerator(client_factory=lambda: client, model=MODEL, n=n)
    marks: dict[str, float] = {}
    original_generate = client.generate_payload
    original_show = panel._gallery.show

    async def generate_payload(*args: Any, **kwargs: Any) -> Any:
        result = await original_generate(*args, **kwargs)
        marks["response"] = time.perf_counter()
        return result

    def show(*args: Any, **kwargs: Any) -> None:
        original_show(*args, **kwargs)
        marks["shown"] = time.perf_counter()

    client.generate_payload = generate_payload  # type: ignore[method-assign]
    panel._gallery.show = show
    per_image: list[float] = []
    thumbs: list[int] = []
    panel.prompt = "warm up: a lighthouse"
    panel.generate().result(timeout=120)  # first use builds the httpx client, imports Pillow
    for number in range(generations):
        panel.prompt = f"a lighthouse at dusk, take {number}"
        marks.clear()
        generation = panel.generate().result(timeout=120)
        if len(generation.images) != n or not generation.ok:
            raise RuntimeError(f"generation {number} failed: {generation!r}")
        per_image.append((marks["shown"] - marks["response"]) * 1000 / n)
        thumbs += [len(value) for value in _thumb_values(panel)]
    panel.close()
    return {
        "response_to_thumbnails_ms_per_image": per_image,
        "widget_thumbnail_bytes": thumbs,
        **_preview_times(previews),
        "inputs": _input_times(max(1, previews // 4)),
    }


def _edit_inputs() -> dict[str, bytes]:
    """Edit inputs as users give them: a generated 1024 px PNG, and a 4000x3000 photo as
    JPEG and as PNG (the benchmark image scaled up)."""
    import io

    from PIL import Image

    data = image_bytes()
    with Image.open(io.BytesIO(data)) as opened:
        big = opened.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    jpeg, png = io.BytesIO(), io.BytesIO()
    big.save(jpeg, "JPEG", quality=90)
    big.save(png, "PNG", compress_level=1)
    return {
        "1024 px PNG": data,
        "4000x3000 JPEG": jpeg.getvalue(),
        "4000x3000 PNG": png.getvalue(),
    }


def _input_shown(panel: Any) -> bool:
    """Whether the first input's thumbnail (and the painter's preview, if any) are set."""
    painter = panel._edit.painter
    thumb = bool(panel._edit._cards[0].thumb.value)
    return thumb and (painter is None or bool(painter._image))


def _input_times(count: int) -> dict[str, Any]:
    """``panel.inputs = [bytes]``: the time on the caller's (the kernel's) thread, and until
    the card's thumbnail and the painter's preview are set (made in a worker thread); and what
    decoding both on the caller's thread would cost (as the panel did before)."""
    from comet_widgets import ImageGenerator
    from comet_widgets.widget._inputs import describe_input

    try:
        from comet_widgets.widget._painter import preview_of
    except ImportError:  # no painter extra: the thumbnail only
        preview_of = None
    panel = ImageGenerator(offline=True, model=MODEL)
    found: dict[str, Any] = {}
    for name, data in _edit_inputs().items():
        sets, ready, inline = [], [], []
        for _ in range(count):
            given = bytes(data)  # a fresh object: nothing cached
            started = time.perf_counter()
            panel.inputs = [given]
            sets.append((time.perf_counter() - started) * 1000)
            while not _input_shown(panel):
                time.sleep(0.0005)
            ready.append((time.perf_counter() - started) * 1000)
            panel.inputs = []
            started = time.perf_counter()
            describe_input(given, 0)
            if preview_of is not None:
                preview_of(given)
            inline.append((time.perf_counter() - started) * 1000)
        found[name] = {
            "bytes": len(data),
            "set_ms": summary(sets),
            "ready_ms": summary(ready),
            "inline_ms": summary(inline),
        }
    panel.close()
    return found


def _preview_times(count: int) -> dict[str, Any]:
    from comet_widgets.images._results import GeneratedImage

    data = image_bytes()
    times: list[float] = []
    sizes: list[int] = []
    for _ in range(count):
        image = GeneratedImage(index=0, data=data, format="png", width=1024, height=1024)
        started = time.perf_counter()  # a fresh object: decoded from its bytes, nothing cached
        preview, _fmt = image.preview()
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(preview))
    return {"preview_ms": times, "preview_bytes": sizes}


NOTEBOOK_SETUP = """\
from comet_widgets import AsyncImageClient, ImageGenerator
client = AsyncImageClient(api_key={key!r}, base_url={base_url!r}, max_retries=0)
panel = ImageGenerator(client_factory=lambda: client, model={model!r}, n={n})
panel.prompt = "a lighthouse at dusk"
"""


def _child_notebook(base_url: str, generations: int, n: int) -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient

    cells = [
        nbformat.v4.new_code_cell(
            NOTEBOOK_SETUP.format(key=FAKE_KEY, base_url=base_url, model=MODEL, n=n)
        ),
        nbformat.v4.new_code_cell("panel"),
    ]
    cells += [
        nbformat.v4.new_code_cell(f'panel.prompt = "take {i}"\n_ = await panel.generate()')
        for i in range(generations)
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", store_widget_state=True, allow_errors=False
    )
    sizes: list[int] = []
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
            if index >= 1:  # after the panel is displayed, then after each generation
                client.set_widgets_metadata()
                sizes.append(len(nbformat.writes(notebook).encode()))
    growth = [after - before for before, after in itertools.pairwise(sizes)]
    return {"notebook_bytes": sizes, "growth_per_generation": growth}


def run(*, smoke: bool = False) -> dict[str, Any]:
    generations, previews, notebook_generations = (1, 2, 1) if smoke else (10, 12, 3)
    n = 4
    with fake_process(image_file()) as base_url:
        if smoke:  # in this process: one interpreter fewer to start
            panel = _child_panel(base_url, generations, n, previews)
        else:
            panel = run_module(
                "bench.widget", "--child", "panel", base_url, f"{generations},{previews}", str(n)
            )
        notebook = run_module(
            "bench.widget", "--child", "notebook", base_url, str(notebook_generations), str(n)
        )
    return {
        "n": n,
        "generations": generations,
        "preview_bytes": summary(panel["preview_bytes"]),
        "preview_ms": summary(panel["preview_ms"]),
        "widget_thumbnail_bytes": summary(panel["widget_thumbnail_bytes"]),
        "response_to_thumbnails_ms_per_image": summary(
            panel["response_to_thumbnails_ms_per_image"]
        ),
        "inputs": panel["inputs"],
        "notebook_bytes": notebook["notebook_bytes"],
        "first_generation_growth": notebook["growth_per_generation"][0],
        "further_generation_growth": notebook["growth_per_generation"][1:],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("WHAT", "BASE_URL", "COUNT", "N"))
    args = parser.parse_args()
    if args.child:
        what, base, count, size = args.child
        if what == "panel":
            generations, previews = count.split(",")
            emit(_child_panel(base, int(generations), int(size), int(previews)))
        else:
            emit(_child_notebook(base, int(count), int(size)))
        sys.exit(0)
    emit(run(smoke=args.smoke))
