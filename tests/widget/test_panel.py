"""The panel without generating: construction, traits, model-aware controls, validation, hygiene."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import ipywidgets as widgets
import pytest
from widget_parts import descendants as descendants_of
from widget_parts import part, parts

from comet_widgets import (
    AsyncImageClient,
    ImageGenerator,
    InvalidParameterError,
    MissingAPIKeyError,
)
from comet_widgets.testing import FAKE_API_KEY, FakeAPI

MakePanel = Callable[..., ImageGenerator]

PARAMS = ("prompt", "model", "size", "n", "response_format", "quality", "style")
OUTPUTS = ("status", "error", "images", "history", "generation", "output_dir")


def generation_requests(app: FakeAPI) -> list[Any]:
    """The generation requests the fake received (a panel also lists the key's models)."""
    return [r for r in app.requests if r.path.endswith("/generations")]


_CHOICES = (
    "response_format",
    "quality",
    "style",
    "background",
    "output_format",
    "complexity",
    "moderation",
)


def controls_of(panel: ImageGenerator) -> Any:
    """The panel's controls, found by their documented CSS classes."""
    return SimpleNamespace(
        prompt=part(panel, "cw-prompt"),
        model=part(panel, "cw-model"),
        size=part(panel, "cw-size"),
        size_custom=part(panel, "cw-size-custom"),
        model_other=part(panel, "cw-model-other"),
        n=part(panel, "cw-n"),
        generate=part(panel, "cw-generate"),
        choices={name: part(panel, "cw-" + name.replace("_", "-")) for name in _CHOICES},
    )


def test_unknown_keyword_is_refused_with_the_allowed_names(secret_key: str) -> None:
    with pytest.raises(TypeError, match=r"'promt'") as info:
        ImageGenerator(promt="a boat", offline=True)
    assert "prompt" in str(info.value)
    assert "output_dir" in str(info.value)
    with pytest.raises(TypeError, match="client"):
        ImageGenerator(offline=True, client=AsyncImageClient(api_key=secret_key))


def test_public_traits_are_not_synced(make_panel: MakePanel) -> None:
    panel = make_panel()
    for name in (*PARAMS, "background", "output_format", *OUTPUTS):
        assert panel.trait_metadata(name, "sync") is None, name
        assert name not in panel.keys
    assert panel.status == "idle"
    assert panel.error == ""
    assert panel.history == []
    assert panel.images == []
    assert panel.generation is None


def test_outputs_are_read_only(make_panel: MakePanel) -> None:
    panel = make_panel()
    with pytest.raises(Exception, match="read-only"):
        panel.status = "done"


def test_traits_and_controls_are_linked_both_ways(make_panel: MakePanel) -> None:
    panel = make_panel(model="dall-e-2")
    controls = controls_of(panel)
    panel.prompt = "a red kite"
    assert controls.prompt.value == "a red kite"
    controls.prompt.value = "a blue kite"
    assert panel.prompt == "a blue kite"
    controls.n.value = 3
    assert panel.n == 3
    panel.n = 2
    assert controls.n.value == 2
    controls.size.value = "512x512"
    assert panel.size == "512x512"
    controls.choices["response_format"].value = "b64_json"
    assert panel.response_format == "b64_json"
    controls.choices["response_format"].value = ""  # "default": not sent
    assert panel.response_format is None
    controls.model.value = "dall-e-3"
    assert panel.model == "dall-e-3"
    assert not _visible(controls.model_other)
    # "Other…" reveals a box for any model id; the model changes when one is typed there.
    controls.model.value = ""
    assert _visible(controls.model_other)
    assert panel.model == "dall-e-3"
    controls.model_other.value = "my-gateway-model"
    assert panel.model == "my-gateway-model"
    assert controls.model.value == ""  # the list stays on "Other…"
    panel.model = "gpt-image-2"  # a listed one: the list shows it, the box hides
    assert controls.model.value == "gpt-image-2"
    assert not _visible(controls.model_other)
    panel.model = "an-unlisted-model"  # set from code: "Other…" with the id in the box
    assert (controls.model.value, controls.model_other.value) == ("", "an-unlisted-model")
    assert _visible(controls.model_other)
    assert panel.output_dir.endswith("comet-images")


def _visible(widget: widgets.Widget) -> bool:
    return widget.layout.display != "none"


def test_controls_follow_the_model(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="a boat")
    controls = controls_of(panel)
    choices = controls.choices

    panel.model = "dall-e-3"
    assert controls.n.max == 1
    assert "cw-size-free" not in controls_of(panel).size._dom_classes
    assert [v for _, v in controls_of(panel).size.options] == [
        "1024x1024",
        "1792x1024",
        "1024x1792",
    ]
    assert not _visible(controls.size_custom)
    assert _visible(choices["response_format"])
    assert _visible(choices["style"])
    assert [v for _, v in choices["quality"].options] == ["", "standard", "hd"]
    assert not _visible(choices["background"])
    assert not _visible(choices["output_format"])
    assert not _visible(choices["complexity"])
    assert not _visible(choices["moderation"])

    panel.model = "gpt-image-1"
    assert controls.n.max == 10
    assert not _visible(choices["response_format"]), "GPT image models never take it"
    assert not _visible(choices["style"])
    assert _visible(choices["background"])
    assert _visible(choices["output_format"])
    assert [v for _, v in choices["complexity"].options] == ["", "low", "medium", "high"]
    assert [v for _, v in choices["moderation"].options] == ["", "low", "auto"]
    assert [v for _, v in choices["quality"].options] == ["", "low", "medium", "high", "auto"]
    assert "auto" in dict(controls_of(panel).size.options)

    panel.model = "gpt-image-2"  # free sizes: "Custom…" reveals a box for any WxH
    assert "cw-size-free" in controls_of(panel).size._dom_classes
    assert dict(controls.size.options)["Custom…"] == ""
    controls.size.value = ""
    assert _visible(controls.size_custom)
    controls.size_custom.value = "2048x1152"
    assert panel.size == "2048x1152"
    assert not _visible(part(panel, "cw-validation"))
    controls.size.value = "1536x1024"  # a preset again: the box hides
    assert panel.size == "1536x1024"
    assert not _visible(controls.size_custom)
    panel.size = "1280x720"  # set from code: "Custom…" with it in the box
    assert (controls.size.value, controls.size_custom.value) == ("", "1280x720")

    panel.model = "qwen-image"
    assert not _visible(choices["quality"])
    assert _visible(choices["response_format"])
    assert panel.size == "1024x1024", "a size qwen-image refuses is reset to its default"

    panel.model = "my-gateway-model"  # unknown: passes through, everything offered
    assert panel.model == "my-gateway-model"
    assert "cw-size-free" in controls_of(panel).size._dom_classes
    assert _visible(choices["response_format"])
    assert _visible(choices["background"])
    assert not _visible(part(panel, "cw-validation"))


def test_switching_model_clamps_n_and_resets_refused_choices(make_panel: MakePanel) -> None:
    panel = make_panel(model="gpt-image-1", n=4, quality="high", size="1536x1024", prompt="x")
    panel.background = "transparent"
    panel.model = "dall-e-3"
    assert panel.n == 1
    assert panel.quality is None
    assert panel.background is None
    assert panel.size == "1024x1024"
    assert not controls_of(panel).generate.disabled
    panel.quality = "hd"
    panel.model = "dall-e-2"
    assert panel.quality is None
    assert panel.n == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "dall-e-3", "size": "800x600"}, "size '800x600' is not supported by dall-e-3"),
        ({"model": "dall-e-3", "n": 5}, "n 5 is not allowed"),
        ({"model": "dall-e-2", "quality": "ultra"}, "quality 'ultra' is not supported"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, "multiples of 16"),
        ({"model": "dall-e-3", "prompt": "x" * 4001}, "over dall-e-3's limit"),
    ],
)
async def test_invalid_values_show_the_message_and_send_nothing(
    make_panel: MakePanel, app: FakeAPI, changes: dict[str, Any], message: str
) -> None:
    panel = make_panel(prompt="a boat")
    for name, value in changes.items():
        setattr(panel, name, value)
    controls = controls_of(panel)
    assert _visible(part(panel, "cw-validation"))
    assert message in part(panel, "cw-validation").value.replace("&#x27;", "'")
    assert controls.generate.disabled
    controls.generate.click()  # a click that reaches the kernel anyway sends nothing
    assert panel.status == "error"
    assert message in panel.error
    with pytest.raises(InvalidParameterError):
        panel.generate()
    await panel.wait()
    assert app.generation_count == 0
    assert generation_requests(app) == []
    # The refused value is still shown (not silently replaced) and fixing it clears the error.
    for name, value in changes.items():
        if name == "size" and panel.model == "dall-e-3":
            assert "800x600" in dict(controls_of(panel).size.options).values()
        setattr(panel, name, {"size": "1024x1024", "n": 1, "quality": None}.get(name, value))
    if "prompt" in changes:
        panel.prompt = "short"
    assert not controls.generate.disabled
    assert panel.status == "idle"
    assert panel.error == ""


def test_an_empty_prompt_disables_generate_with_a_hint(make_panel: MakePanel) -> None:
    panel = make_panel()
    assert controls_of(panel).generate.disabled
    assert "Type a prompt" in part(panel, "cw-validation").value
    panel.prompt = "a boat"
    assert not controls_of(panel).generate.disabled


def test_constructor_values_are_kept_even_when_refused(make_panel: MakePanel) -> None:
    panel = make_panel(model="dall-e-3", n=3, prompt="a boat")
    assert panel.n == 3, "an explicit value is never silently clamped"
    assert controls_of(panel).generate.disabled
    assert "n 3 is not allowed" in part(panel, "cw-validation").value


def test_repr_is_cheap_and_has_no_key(make_panel: MakePanel, secret_key: str) -> None:
    panel = make_panel(model="dall-e-2")
    assert repr(panel) == "<ImageGenerator model='dall-e-2' status='idle' 0 generations>"
    assert secret_key not in repr(panel)


async def test_no_synced_state_holds_the_key(secret_key: str, descendants: Any) -> None:
    client = AsyncImageClient(api_key=secret_key, base_url="http://127.0.0.1:9/v1")
    panel = ImageGenerator(client_factory=lambda: client, prompt=f"say {secret_key[:4]}")
    try:
        everything = descendants(panel)
        assert len(everything) > 30
        for widget in everything:
            state = widget.get_state()
            text = json.dumps(state, default=lambda b: bytes(b).decode("latin-1"))
            assert secret_key not in text, type(widget).__name__
        bundle = panel._repr_mimebundle_()
        assert bundle is not None
        assert secret_key not in json.dumps(bundle["text/plain"])
        assert secret_key not in repr(panel)
        assert secret_key not in repr(client)
    finally:
        panel.close()


def test_missing_key_shows_how_to_set_it(monkeypatch: pytest.MonkeyPatch, secret_key: str) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    monkeypatch.delenv("COMETAPI_OFFLINE", raising=False)
    panel = ImageGenerator(prompt="a boat")
    try:
        assert _visible(part(panel, "cw-key-notice"))
        assert "COMETAPI_KEY" in part(panel, "cw-key-notice").value
        notice = part(panel, "cw-key-notice").value
        assert "Set the COMETAPI_KEY environment variable" in notice
        assert "set COMETAPI_OFFLINE to 1" in notice
        for code in ("import", "getpass", "os.environ", "lambda", "ImageGenerator("):
            assert code not in notice, notice  # words, no Python
        controls_of(panel).generate.click()
        assert panel.status == "error"
        assert "COMETAPI_KEY" in panel.error
        with pytest.raises(MissingAPIKeyError):
            panel.generate()
        monkeypatch.setenv("COMETAPI_KEY", secret_key)
        panel.size = "1x1"  # so that generate() stops before sending anything
        with pytest.raises(InvalidParameterError):
            panel.generate()
        # The notice goes once a key is there.
        assert not _visible(part(panel, "cw-key-notice"))
    finally:
        panel.close()


@pytest.mark.parametrize("how", ["argument", "environment", "fake key", "fake key, offline=False"])
def test_offline_mode_says_images_are_placeholders(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    if how == "environment":
        monkeypatch.setenv("COMETAPI_OFFLINE", "1")
        panel = ImageGenerator()
    elif how.startswith("fake key"):
        # make demo: the kernels get the fake's key and base URL, and the quickstart passes
        # offline=not os.environ.get("COMETAPI_KEY"), that is offline=False.
        monkeypatch.setenv("COMETAPI_KEY", FAKE_API_KEY)
        panel = ImageGenerator(offline=False) if "offline" in how else ImageGenerator()
    else:
        panel = ImageGenerator(offline=True)
    try:
        assert _visible(part(panel, "cw-offline-banner"))
        assert "placeholders drawn by the fake API" in part(panel, "cw-offline-banner").value
        assert "cw-offline-banner" in part(panel, "cw-offline-banner")._dom_classes
        assert not _visible(part(panel, "cw-key-notice"))
    finally:
        panel.close()


def test_every_part_has_its_css_class(make_panel: MakePanel, descendants: Any) -> None:
    panel = make_panel()
    classes = {css for w in descendants(panel) for css in getattr(w, "_dom_classes", ())}
    expected = {
        "cw-panel", "cw-prompt", "cw-model", "cw-size", "cw-n", "cw-quality", "cw-style",
        "cw-response-format", "cw-background", "cw-output-format", "cw-generate", "cw-cancel",
        "cw-status", "cw-elapsed", "cw-validation", "cw-error", "cw-offline-banner",
        "cw-key-notice", "cw-usage", "cw-history", "cw-gallery", "cw-lightbox",
        "cw-header", "cw-title", "cw-badge", "cw-fields", "cw-field",
        "cw-model-field", "cw-advanced", "cw-advanced-toggle", "cw-next-note", "cw-message",
        "cw-estimate", "cw-model-other", "cw-size-custom", "cw-model-notice", "cw-model-list",
    }  # fmt: skip
    assert expected <= classes, expected - classes
    assert "cw-model-status" not in classes  # no header chip repeating the Model field


@pytest.mark.slow
async def test_closing_a_panel_closes_every_model_it_opened(make_panel: MakePanel) -> None:
    """Layouts and styles included (``Widget.close`` leaves them open): a closed panel leaves
    nothing in the kernel's widget registry, so nothing of it in a saved notebook either; the
    parts that share one layout and style (tiles, history cards) do not add one each."""
    from ipywidgets.widgets import widget as registry

    before = set(registry._instances)
    panel = make_panel(prompt="Four kites", n=4, partial_images=0)
    await panel.generate()
    await panel.generate()
    opened = set(registry._instances) - before
    tiles = parts(panel, "cw-tile")
    assert len(tiles) == 4
    layouts = {id(w.layout) for tile in tiles for w in descendants_of(tile) if hasattr(w, "layout")}
    assert len(layouts) < 4 * 4, "a tile's fixed parts share one layout"
    panel.close()
    left = [registry._instances[m] for m in set(registry._instances) & opened]
    # Only the models every panel shares stay (one layout, one style per kind of widget).
    kinds = [type(w).__name__ for w in left]
    assert len(set(kinds)) == len(kinds), sorted(kinds)
    assert all(kind == "Layout" or kind.endswith("Style") for kind in kinds), kinds
