"""One declaration for edits: ``EditParams`` is what ``client.edit``, the CLI's ``edit`` flags,
a batch's edit items, the fake's ``/v1/images/edits`` and the panel's edit choices take.

``EDIT_CASES`` give every declared field a value; each consumer is run with every case, so a
field added to ``EditParams`` fails ``test_the_cases_cover_every_edit_parameter`` until it has
a case, and then fails wherever it is not taken.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from PIL import Image, ImageDraw

from comet_widgets import AsyncImageClient, generate_many
from comet_widgets._catalog import build_edit_payload
from comet_widgets._constants import DEFAULT_EDIT_MODEL
from comet_widgets._types import EDIT_FILES, EDIT_PARAMETERS, PARAMETERS, EditParams, Unpack
from comet_widgets.cli._parser import (
    EDIT_FLAGS,
    FLAGS,
    NOT_ON_COMMAND_LINE,
    build_parser,
    params_of,
)
from comet_widgets.testing import FakeAPI
from tests.helpers import PHOTO, png

_mask = Image.new("LA", (64, 64), (0, 255))
_mask.paste((0, 0), (0, 0, 64, 32))
MASK = png(_mask)
_marks = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
ImageDraw.Draw(_marks).line((8, 8, 56, 56), fill=(255, 0, 0), width=4)
MARKS = png(_marks)

EDIT_CASES: list[dict[str, Any]] = [
    {
        "model": "gpt-image-1.5",
        "mask": MASK,
        "n": 2,
        "size": "auto",
        "quality": "low",
        "background": "opaque",
        "output_format": "webp",
        "output_compression": 80,
        "complexity": "medium",
        "input_fidelity": "high",
        "safety_identifier": "user-7f3a",
        "user": "user-1",
    },
    {"model": "dall-e-2", "response_format": "b64_json", "size": "256x256"},
    {"model": "gpt-image-2", "output_format": "gif", "frame_count": 3, "frame_duration_ms": 120},
    {
        "model": "gpt-image-2",
        "output_format": "svg",
        "svg": {"model": "svg-author", "reasoning": {"effort": "low"}},
    },
    {"model": "gpt-image-2.5-flare", "markup": MARKS, "partial_images": 1},
    {"model": "gpt-image-2", "stream": True, "extra_body": {"seed": 7}},
]
IDS = ["+".join(sorted(case)) for case in EDIT_CASES]


def test_the_cases_cover_every_edit_parameter() -> None:
    assert {name for case in EDIT_CASES for name in case} == set(EDIT_PARAMETERS)
    assert set(EDIT_FILES) <= set(EDIT_PARAMETERS)


def test_client_edit_takes_edit_params() -> None:
    """``**params: Unpack[EditParams]`` (mypy checks call sites: test_typing.py), and the
    signature ``help()``, Shift-Tab and jedi show lists each of them."""
    signature = inspect.signature(AsyncImageClient.edit)
    named = [
        name for name, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert named == ["image", "on_partial", "on_retry", *EDIT_PARAMETERS]
    assert signature.parameters["model"].default == DEFAULT_EDIT_MODEL
    assert get_type_hints(AsyncImageClient.edit)["params"] == Unpack[EditParams]


def form(app: FakeAPI) -> list[tuple[str, str | None, str]]:
    """The last edit's parts (name, content type, text or sha256), sorted, filenames aside."""
    parts = [r for r in app.requests if r.path == "/v1/images/edits"][-1].form or []
    return sorted((p.name, p.content_type, p.value or p.sha256) for p in parts)


@pytest.mark.parametrize("case", EDIT_CASES, ids=IDS)
async def test_every_edit_parameter_reaches_the_form_through_edit_and_a_batch(
    inprocess_client: tuple[AsyncImageClient, FakeAPI], case: dict[str, Any]
) -> None:
    """The fake takes every case (its validation knows every field), ``client.edit`` sends
    every field, and a batch item with the same fields sends the same form."""
    client, app = inprocess_client
    generation = await client.edit("make it winter", image=PHOTO, **case)
    assert generation.ok
    sent = form(app)
    names = {name for name, _, _ in sent}
    for name in case:
        if name == "extra_body":
            assert set(case[name]) <= names
        elif name == "svg":
            assert {"svg[model]", "svg[reasoning][effort]"} <= names
        else:
            assert name in names, name
    results = await generate_many(
        [{"prompt": "make it winter", "image": PHOTO, **case}], client=client
    )
    assert results.failed == []
    assert form(app) == sent


def _edit_group() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    group = next(g for g in sub.choices["edit"]._action_groups if g.title == "edit parameters")
    return {action.dest: action for action in group._group_actions}


def test_the_cli_has_one_edit_flag_per_edit_parameter() -> None:
    assert tuple(n for n in EDIT_PARAMETERS if n not in NOT_ON_COMMAND_LINE) == EDIT_FLAGS
    assert list(_edit_group()) == [*EDIT_FLAGS, "svg_model", "svg_effort"]


@pytest.mark.parametrize("case", EDIT_CASES, ids=IDS)
def test_the_cli_edit_flags_give_the_same_form(case: dict[str, Any], tmp_path: Path) -> None:
    args = ["edit", "photo.png", "make it winter"]
    for name, value in case.items():
        if name == "svg":
            args += ["--svg-model", value["model"], "--svg-effort", value["reasoning"]["effort"]]
        elif name in EDIT_FILES:
            (tmp_path / name).write_bytes(value)
            args += ["--" + name, str(tmp_path / name)]
        elif name not in NOT_ON_COMMAND_LINE:
            args += [FLAGS.get(name, ("--" + name.replace("_", "-"),))[0], str(value)]
    params = params_of(build_parser().parse_args(args), EDIT_FLAGS)
    expected = {k: v for k, v in case.items() if k not in NOT_ON_COMMAND_LINE or k == "svg"}
    assert set(params) == set(expected)
    assert build_edit_payload("x", params) == build_edit_payload("x", expected)


def test_the_docs_list_the_edit_parameters() -> None:
    page = (Path(__file__).parents[2] / "docs" / "python-api.md").read_text(encoding="utf-8")
    section = page.split("## Edits: image-to-image and inpainting", 1)[1].split("\n#", 1)[0]
    listed = section.split("and a batch item's fields:", 1)[1].split(". Any other keyword", 1)[0]
    names = [name.strip("` \n") for name in listed.split(",")]
    assert [name.split(" (")[0].strip("`") for name in names] == list(EDIT_PARAMETERS)
    assert "refused, `moderation` and `style` too" in section


def test_an_edit_estimate_takes_every_edit_only_parameter() -> None:
    from comet_widgets import estimate_cost

    plain = estimate_cost(prompt="x", image=PHOTO, model="gpt-image-2.5-flare")
    edit_only = {"mask": MASK, "markup": MARKS, "input_fidelity": "low"}
    assert set(edit_only) == set(EDIT_PARAMETERS) - set(PARAMETERS)
    for name, value in edit_only.items():
        cost = estimate_cost(prompt="x", image=PHOTO, model="gpt-image-2.5-flare", **{name: value})
        assert cost == plain, name
