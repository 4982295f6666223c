"""``make demo-script``: with no key it runs against the offline fake and saves one image; the
fake ``make demo`` serves takes its time, as a real model does."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from comet_widgets import AsyncImageClient, ImageGenerator, read_metadata
from comet_widgets.cli._demo import DEMO_SECONDS_PER_IMAGE, SEED_PROMPT, demo_fake
from comet_widgets.images._formats import sniff
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, fake_transport, serve_fake
from tests.helpers import clean_env, run_captured
from tests.widget.widget_parts import parts


@pytest.mark.slow
def test_the_demo_script_saves_an_image_with_its_provenance(tmp_path: Path) -> None:
    result = run_captured(
        [sys.executable, "-m", "comet_widgets.cli._demo", "--script"], cwd=tmp_path, env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    assert "offline fake API" in result.stdout
    [saved_line] = [line for line in result.stdout.splitlines() if line.startswith("saved:")]
    path = tmp_path / saved_line.removeprefix("saved:").strip()
    assert path.is_file()
    assert path.resolve().parent == (tmp_path / "comet-images").resolve()
    info = sniff(path.read_bytes())
    assert (info.width, info.height) == (1024, 1024)
    record = read_metadata(path)
    assert record["prompt"] == SEED_PROMPT
    assert record["model"] == "gpt-image-2"  # the default: a model that works today
    assert record["revised_prompt"] is None  # GPT image models do not rewrite the prompt
    assert record["request_id"]
    assert "revised prompt" not in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
async def test_the_demos_fake_takes_its_time_and_streams_previews_along_the_way() -> None:
    """``make demo`` serves this fake when no key is set: a second or more per image, so the
    placeholders, the previews (when asked for) and Cancel can be seen."""
    app = demo_fake()
    assert DEMO_SECONDS_PER_IMAGE >= 1
    http = httpx.AsyncClient(transport=fake_transport(app))
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http
    ) as client:
        started = time.monotonic()
        await client.generate(SEED_PROMPT, model="gpt-image-2")
        assert time.monotonic() - started >= DEMO_SECONDS_PER_IMAGE
        started = time.perf_counter()
        generation = await client.generate(SEED_PROMPT, model="gpt-image-2", partial_images=2)
    assert generation.streamed
    first, second, final = (at - started for at in app.stream_times)
    assert first >= DEMO_SECONDS_PER_IMAGE / 3 * 0.9  # each preview comes along the way
    assert second - first >= DEMO_SECONDS_PER_IMAGE / 3 * 0.9
    assert final - second >= DEMO_SECONDS_PER_IMAGE / 3 * 0.9
    await http.aclose()


def _wait(condition: Callable[[], object], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "not within the time a newcomer waits"
        time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.slow
def test_in_the_demo_the_panel_shows_placeholders_then_a_preview_and_cancel_stops_it(
    tmp_path: Path,
) -> None:
    """What a newcomer sees in ``make demo`` with previews turned on: the placeholder at once,
    a preview while the image is being made, and the time to press Cancel."""
    with serve_fake(demo_fake()) as server:
        panel = ImageGenerator(
            client_factory=lambda: AsyncImageClient(api_key=FAKE_API_KEY, base_url=server.base_url),
            prompt=SEED_PROMPT,
            model="gpt-image-2",
            partial_images=2,
            output_dir=tmp_path,
        )
        try:
            panel.generate()
            _wait(lambda: parts(panel, "cw-placeholder", visible=True))
            waited = _wait(lambda: parts(panel, "cw-tile-partial", visible=True))
            assert waited >= DEMO_SECONDS_PER_IMAGE / 3 * 0.8  # the preview came with the pace
            assert panel.status == "running"  # the image itself is still being made
            panel.cancel()
            _wait(lambda: panel.status == "cancelled")
            assert panel.history == []
        finally:
            panel.close()
