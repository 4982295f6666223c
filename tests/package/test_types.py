"""One typed parameter set: the client, the batch, the panel and the CLI agree with ``ImageParams``.

``comet_widgets._types.ImageParams`` declares every generation parameter once. The explicit
signatures (kept for IDEs and mypy) must equal it in names, types and defaults; every parameter
must reach the request body through ``generate`` and ``generate_many``; the panel's traits and
choices and the CLI's flags are derived from it. Each test here fails when one of them drifts.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any, get_args, get_type_hints

import ipywidgets
import pytest
import traitlets

from comet_widgets import (
    AsyncImageClient,
    ImageGenerator,
    InvalidParameterError,
    build_payload,
    generate_many,
)
from comet_widgets._constants import DEFAULT_MODEL
from comet_widgets._types import (
    EDIT_PARAMETERS,
    HELP,
    PARAMETERS,
    ImageParams,
    ImageRequest,
    Unpack,
    choices,
    scalar_kind,
)
from comet_widgets.cli._parser import FLAGS, NOT_ON_COMMAND_LINE, build_parser, params_of
from comet_widgets.testing import FakeAPI
from comet_widgets.widget._controls import OPTIONAL, PARAMS

#: Keyword options of generate_many that are about the batch, not the image.
BATCH_OPTIONS = {
    "client",
    "concurrency",
    "requests_per_minute",
    "output_dir",
    "resume",
    "sidecar",
    "progress",
    "raise_on_error",
    "on_result",
    "on_partial",
    "shard",
    "budget_usd",
    "on_plan",
}

#: Valid parameter sets that together give every parameter a value (stream: partial_images
#: turns it on, and False is not written into the body).
CASES: list[dict[str, Any]] = [
    {"model": "qwen-image", "response_format": "b64_json", "size": "1328x1328", "n": 1},
    {
        "model": "gpt-image-2",
        "n": 2,
        "quality": "high",
        "background": "opaque",
        "output_format": "webp",
        "output_compression": 80,
        "moderation": "low",
        "complexity": "medium",
        "safety_identifier": "user-7f3a",
        "user": "user-1",
    },
    {"model": "gpt-image-2", "output_format": "gif", "frame_count": 4, "frame_duration_ms": 120},
    {
        "model": "gpt-image-2",
        "output_format": "svg",
        "svg": {"model": "svg-author", "reasoning": {"effort": "low"}},
    },
    {"model": "flux-pro-1.1", "style": "vivid", "extra_body": {"seed": 7}},
    {"model": "gpt-image-2", "partial_images": 2},
]


def test_the_cases_cover_every_parameter() -> None:
    covered = {name for case in CASES for name in case}
    assert covered | {"stream"} == set(PARAMETERS)


def test_every_parameter_has_help_and_the_request_adds_prompt_and_meta() -> None:
    assert set(HELP) == set(PARAMETERS) | set(EDIT_PARAMETERS)
    assert all(text and not text.endswith(".") for text in HELP.values())
    assert set(get_type_hints(ImageRequest)) == {"prompt", "meta", *PARAMETERS}
    assert ImageRequest.__required_keys__ == frozenset({"prompt"})  # type: ignore[attr-defined]
    assert ImageParams.__required_keys__ == frozenset()  # type: ignore[attr-defined]


def _keywords(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return {
        name: p
        for name, p in inspect.signature(function).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


@pytest.mark.parametrize(
    ("function", "others"),
    [
        (build_payload, set()),
        (AsyncImageClient.generate, {"on_partial"}),
        (AsyncImageClient.stream, set()),
        (generate_many, BATCH_OPTIONS),
    ],
    ids=["build_payload", "AsyncImageClient.generate", "AsyncImageClient.stream", "generate_many"],
)
def test_signatures_equal_the_typed_parameter_set(
    function: Callable[..., Any], others: set[str]
) -> None:
    """``build_payload`` (whose body uses each keyword as a variable) declares them by hand, and
    this test holds it to ``ImageParams``; the others take ``**params: Unpack[ImageParams]``
    (mypy checks call sites: tests/package/test_typing.py) and derive the signature that
    ``help()``, Shift-Tab and jedi show."""
    keywords = _keywords(function)
    assert list(name for name in keywords if name not in others) == list(PARAMETERS)
    assert set(keywords) - set(PARAMETERS) == others
    hints = get_type_hints(function)
    declared = get_type_hints(ImageParams)
    for name in PARAMETERS:
        assert keywords[name].default == (DEFAULT_MODEL if name == "model" else None), name
        if function is build_payload:
            assert hints[name] == declared[name], (name, hints[name], declared[name])
        else:
            written = ImageParams.__annotations__[name].__forward_arg__  # as _types.py says
            assert keywords[name].annotation == written, name
    if function is not build_payload:
        assert hints["params"] == Unpack[ImageParams]
    # build_payload collects unknown keywords (and refuses them with a did-you-mean).
    assert any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        for p in inspect.signature(function).parameters.values()
    ) is (function is build_payload)


async def test_an_unknown_keyword_is_refused_with_a_did_you_mean(
    inprocess_client: tuple[AsyncImageClient, FakeAPI],
) -> None:
    client, app = inprocess_client
    for call in (
        client.generate("x", qualty="low"),  # type: ignore[call-arg]
        generate_many(["x"], client=client, qualty="low"),  # type: ignore[call-arg]
    ):
        with pytest.raises(InvalidParameterError, match="did you mean 'quality'"):
            await call
    assert app.requests == []


def _last_body(app: FakeAPI) -> Any:
    """The JSON body of the last generation request (url-mode downloads come after it)."""
    return [r.json for r in app.requests if r.json is not None][-1]


@pytest.mark.parametrize("case", CASES, ids=lambda case: "+".join(sorted(case)))
async def test_every_parameter_reaches_the_body_through_generate(
    inprocess_client: tuple[AsyncImageClient, FakeAPI], case: dict[str, Any]
) -> None:
    client, app = inprocess_client
    generation = await client.generate("a paper boat", **case)
    sent = _last_body(app)
    assert sent == generation.params == build_payload("a paper boat", **case)
    for name, value in case.items():
        if name == "extra_body":
            assert {k: sent[k] for k in value} == value
        else:
            assert sent[name] == value, name


@pytest.mark.parametrize("case", CASES, ids=lambda case: "+".join(sorted(case)))
async def test_every_parameter_reaches_the_body_through_generate_many(
    inprocess_client: tuple[AsyncImageClient, FakeAPI], case: dict[str, Any]
) -> None:
    client, app = inprocess_client
    results = await generate_many(["a paper boat"], client=client, **case)
    assert results.failed == []
    assert _last_body(app) == build_payload("a paper boat", **case)
    # ...and as the fields of a dict item, overriding nothing else.
    await generate_many([{"prompt": "a red fox", **case}], client=client)
    assert _last_body(app) == build_payload("a red fox", **case)


def test_stream_false_is_accepted_everywhere_and_not_sent() -> None:
    assert "stream" not in build_payload("a", model="gpt-image-2", stream=False)


# -- the panel ---------------------------------------------------------------------------------


def test_the_panel_traits_are_typed_parameters() -> None:
    traits = ImageGenerator.class_traits()
    declared = get_type_hints(ImageParams)
    assert [name for name in PARAMS if name != "prompt"] == [
        name for name in PARAMETERS if name in PARAMS
    ]
    for name in PARAMS:
        if name == "prompt":
            continue
        trait = traits[name]
        kind = scalar_kind(name)
        expected = {str: traitlets.Unicode, int: traitlets.Int}[kind]  # type: ignore[index]
        assert isinstance(trait, expected), name
        takes_none = type(None) in get_args(declared[name])
        # n and size: None means "the model's default", which the panel always shows.
        assert trait.allow_none is (takes_none and name in OPTIONAL), name
        assert trait.help, name
    for name in OPTIONAL:
        assert choices(name, closed_only=True), f"{name} is a choice control: it needs a Literal"


def _choice_values(panel: ImageGenerator, css: str) -> list[str]:
    def walk(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
        found = [widget]
        for child in getattr(widget, "children", ()):
            found += walk(child)
        return found

    (control,) = [w for w in walk(panel) if css in getattr(w, "_dom_classes", ())]
    return [value for _label, value in control.options if value]


@pytest.mark.parametrize("name", OPTIONAL)
def test_the_panel_offers_the_declared_values_for_an_unknown_model(name: str) -> None:
    panel = ImageGenerator(offline=True, model="flux-pro-1.1")
    try:
        offered = _choice_values(panel, "cw-" + name.replace("_", "-"))
    finally:
        panel.close()
    assert tuple(offered) == choices(name, closed_only=True)


# -- the command line --------------------------------------------------------------------------


def _generation_actions(command: str) -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    group = next(
        g
        for g in sub.choices[command]._action_groups
        if g.title.startswith("generation parameters")  # type: ignore[union-attr]
    )
    return {action.dest: action for action in group._group_actions}


@pytest.mark.parametrize("command", ["generate", "batch"])
def test_the_cli_has_one_flag_per_parameter(command: str) -> None:
    actions = _generation_actions(command)
    expected = [name for name in PARAMETERS if name not in NOT_ON_COMMAND_LINE]
    assert list(actions) == [*expected, "svg_model", "svg_effort"]
    for name in expected:
        action = actions[name]
        assert action.type is (int if scalar_kind(name) is int else str), name
        flags = FLAGS.get(name, ("--" + name.replace("_", "-"),))
        assert tuple(action.option_strings) == flags
        for value in choices(name, closed_only=True):
            assert value in (action.help or ""), (name, value)
    assert set(NOT_ON_COMMAND_LINE) <= set(PARAMETERS)


def _cli_args(case: dict[str, Any]) -> list[str]:
    args = ["generate", "a paper boat"]
    for name, value in case.items():
        if name == "svg":
            args += ["--svg-model", value["model"], "--svg-effort", value["reasoning"]["effort"]]
        elif name not in NOT_ON_COMMAND_LINE:
            args += [FLAGS.get(name, ("--" + name.replace("_", "-"),))[0], str(value)]
    return args


@pytest.mark.parametrize("case", CASES, ids=lambda case: "+".join(sorted(case)))
def test_the_cli_flags_give_the_same_body(case: dict[str, Any]) -> None:
    args = build_parser().parse_args(_cli_args(case))
    expected = {k: v for k, v in case.items() if k not in ("extra_body", "partial_images")}
    assert build_payload("a paper boat", **params_of(args)) == build_payload(
        "a paper boat", **expected
    )


def test_the_declared_sizes_and_models_are_the_catalogues() -> None:
    from comet_widgets import MODELS

    assert set(choices("model")) == set(MODELS)
    assert set(choices("size")) == {size for spec in MODELS.values() for size in spec.sizes}
    for spec in MODELS.values():
        assert set(spec.qualities) <= set(choices("quality")), spec.name
        assert set(spec.styles) <= set(choices("style")), spec.name
        assert set(spec.response_formats) <= set(choices("response_format")), spec.name
