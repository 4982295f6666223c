"""The panel's looks in JupyterLab, light and dark: no overflow, placeholders, lightbox,
a failed image counted as a person counts, and WCAG AA contrast from the computed styles.

Screenshots of each state go to test-artifacts/browser/ (look at them).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start

#: Text elements of the panel whose contrast against their backdrop is computed: every
#: visible element with its own text, not disabled (WCAG exempts inactive controls).
_CONTRAST_JS = """root => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, under) => { const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]); };
  const backdrop = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg; };
  const worst = [];
  for (const el of root.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.offsetParent === null || el.closest('[disabled]')) continue;
    if (el.closest('.cw-history-pick')) continue;  // transparent, no visible text
    const style = getComputedStyle(el);
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const bg = backdrop(el);
    const fg = over(parse(style.color), bg);
    const fgSeen = over([fg[0], fg[1], fg[2], opacity], bg);
    const [a, b] = [lum(fgSeen), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) worst.push({text: el.textContent.trim().slice(0, 40), ratio,
      cls: el.className, color: style.color});
  }
  return worst;
}"""


def _overflow(panel: Any) -> int:
    """How many pixels the panel's content sticks out to the right (0: none)."""
    return int(
        panel.root.evaluate(
            """root => {
              const box = root.getBoundingClientRect();
              let worst = root.scrollWidth - root.clientWidth;
              for (const el of root.querySelectorAll('*')) {
                if (el.offsetParent === null || el.closest('.cw-history, .cw-lightbox')) continue;
                worst = Math.max(worst, Math.ceil(el.getBoundingClientRect().right - box.right));
              }
              return Math.max(0, worst);
            }"""
        )
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_looks_placeholders_lightbox_and_contrast(
    lab_panel: Any,
    fake: FakeAPI,
    screenshot: Any,
    whole_screenshot: Any,
    theme: str,
) -> None:
    notebook, panel = lab_panel(theme=theme)
    page = notebook.page

    panel.model.fill("dall-e-2")
    expect(panel.size.locator("option[value='256x256']")).to_have_count(1)
    panel.root.locator(".cw-n input").fill("3")
    panel.root.locator(".cw-n input").press("Tab")
    panel.unfold()
    panel.root.locator(".cw-response-format select").select_option(label="link")
    for width in (700, 1000, 1400):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)
        assert _overflow(panel) == 0, f"the panel overflows at {width} px ({theme})"
    screenshot(panel.root, f"panel-{theme}-idle-1400.png")
    page.set_viewport_size({"width": 1000, "height": 1000})

    fake.latency = 1.5
    fake.expire_urls([1])  # the second image's download fails
    panel.type_prompt("Three paper boats on a pond")
    panel.generate()
    pending = panel.root.locator(".cw-tile .cw-placeholder:visible")
    expect(pending).to_have_count(3, timeout=1_000)
    expect(panel.status).to_have_text(re.compile(r"^Generating 3 images"))
    expect(panel.root.locator(".cw-next-note")).to_be_visible()
    whole_screenshot(panel.root, f"panel-{theme}-running.png")

    expect(panel.status).to_have_text("Done: 2 of 3 images; image 2 failed", timeout=20_000)
    panel.wait_decoded(2)
    expect(panel.root.locator(".cw-tile .cw-image-error:visible")).to_contain_text(
        "Image 2 of 3 failed"
    )
    assert _overflow(panel) == 0
    problems = panel.root.evaluate(_CONTRAST_JS)
    assert problems == [], f"text below 4.5:1 in the {theme} theme: {problems}"
    whole_screenshot(panel.root, f"panel-{theme}-done.png")

    panel.root.locator(".cw-tile button.cw-full-size").first.click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 1 of 2")
    expect(lightbox.locator("img.cw-lightbox-image")).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=_page_shot(page, theme))
    lightbox.locator("button.cw-lightbox-next").click()
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 2 of 2")
    problems = lightbox.evaluate(_CONTRAST_JS)
    assert problems == [], f"lightbox text below 4.5:1 ({theme}): {problems}"
    lightbox.locator("button.cw-lightbox-close").click()
    expect(lightbox).to_be_hidden()


def _page_shot(page: Any, theme: str) -> str:
    from .conftest import ARTIFACTS, record_artifact

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"panel-{theme}-lightbox.png"
    record_artifact(path)
    return str(path)


def test_the_readme_screenshot_is_todays_default_model(
    lab_panel: Any, whole_screenshot: Any
) -> None:
    """The README's picture (docs/panel.png): the panel as a new user first sees it after one
    run, on the default (current) model with three images in a row, light theme, a wide window
    (1400 px, the file browser folded away): the controls beside the results."""
    notebook, panel = lab_panel(theme="light", viewport=(1280, 1000))
    panel.model.expect_model("gpt-image-2")
    panel.unfold()  # a GPT model's More options: the most fields the panel shows at once
    for name in ("background", "output-format", "complexity", "moderation", "partial-images"):
        expect(panel.root.locator(f".cw-advanced .cw-{name}")).to_be_visible()
    for width in (1400, 1000, 700):
        notebook.page.set_viewport_size({"width": width, "height": 1000})
        notebook.page.wait_for_timeout(300)
        assert _overflow(panel) == 0, f"More options overflow at {width} px"
    whole_screenshot(panel.root, "panel-light-more-options-700.png")
    notebook.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    notebook.page.set_viewport_size({"width": 1400, "height": 1000})
    panel.advanced_toggle.click()
    expect(panel.root.locator(".cw-advanced")).to_be_hidden()
    panel.root.locator(".cw-n input").fill("3")
    panel.root.locator(".cw-n input").press("Tab")
    panel.type_prompt("A lighthouse on a cliff at dusk, watercolour")
    panel.generate()
    expect(panel.status).to_have_text("Done: 3 images", timeout=30_000)
    panel.wait_decoded(3)
    expect(panel.model_notice).to_be_hidden()  # a current model: no retirement notice
    expect(panel.root.locator(".cw-badge")).to_have_text("Offline · fake API")
    panel.model.expect_model("gpt-image-2")
    expect(panel.root.locator(".cw-model-status")).to_have_count(0)  # no chip repeating it
    assert _overflow(panel) == 0
    controls = panel.root.locator(".cw-controls-column").bounding_box()
    gallery = panel.gallery.bounding_box()
    assert controls is not None
    assert gallery is not None
    assert controls["x"] + controls["width"] <= gallery["x"], "not side by side"
    tops = panel.thumbs.evaluate_all("imgs => imgs.map(i => i.getBoundingClientRect().top)")
    assert len(set(tops)) == 1, f"the three images are not in a row: {tops}"
    whole_screenshot(panel.root, "readme-panel.png")
