"""The typed parameter set against the official openai SDK's ``ImageGenerateParams``.

The SDK (installed by the dev extras) is the most current description of the API on this
machine. Every parameter both declare must take the same ``Literal`` values; every model id the
SDK knows is in the catalogue.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin, get_type_hints

from openai.types import image_edit_params, image_generate_params, image_model

from comet_widgets import MODELS
from comet_widgets._types import (
    EDIT_PARAMETERS,
    PARAMETERS,
    EditParams,
    SvgOptions,
    SvgReasoning,
    choices,
)

#: SDK parameters not declared here yet, and why.
NOT_DECLARED = {"partial_images": "streaming previews (issue 14)", "prompt": "positional"}
#: Parameters declared here that the SDK has not, and why.
OURS_ONLY = {"extra_body": "the SDK takes it as a request option, not a parameter"}


def _literal_values(annotation: Any) -> set[str]:
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    return {v for arg in get_args(annotation) for v in _literal_values(arg)}


def _sdk_params() -> dict[str, Any]:
    base = get_type_hints(image_generate_params.ImageGenerateParamsNonStreaming)
    return base


def test_the_same_parameters_as_the_sdk() -> None:
    sdk = _sdk_params()
    assert set(sdk) - set(PARAMETERS) <= set(NOT_DECLARED)
    assert set(PARAMETERS) - set(sdk) == set(OURS_ONLY)


def test_the_same_literal_values_as_the_sdk() -> None:
    sdk = _sdk_params()
    for name in PARAMETERS:
        if name in OURS_ONLY or name == "model":
            continue
        ours = set(choices(name))
        theirs = _literal_values(sdk[name])
        if name == "size":
            # The catalogue also lists qwen-image's native sizes, which the SDK does not know.
            assert theirs <= ours, name
        elif name == "stream":
            assert not ours
        else:
            assert ours == theirs, (name, ours ^ theirs)


def test_the_svg_object_matches_the_sdk() -> None:
    assert set(get_type_hints(SvgOptions)) == set(get_type_hints(image_generate_params.Svg))
    assert SvgOptions.__required_keys__ == {"model"}  # type: ignore[attr-defined]
    # The SDK marks it Required[str] (a string annotation there: __required_keys__ misses it).
    assert "Required" in str(image_generate_params.Svg.__annotations__["model"])
    ours = _literal_values(get_type_hints(SvgReasoning)["effort"])
    assert ours == _literal_values(get_type_hints(image_generate_params.SvgReasoning)["effort"])


def test_every_model_the_sdk_knows_is_in_the_catalogue() -> None:
    assert set(get_args(image_model.ImageModel)) <= set(MODELS)
    assert set(get_args(image_model.ImageModel)) <= set(choices("model"))


def test_edit_params_mirror_the_sdks_edit_params() -> None:
    """``EditParams`` are the SDK's edit parameters besides ``prompt`` and ``image`` (explicit
    arguments of ``client.edit``), plus ``extra_body``, with the same values."""
    sdk = get_type_hints(image_edit_params.ImageEditParamsNonStreaming)
    assert set(EDIT_PARAMETERS) == (set(sdk) - {"prompt", "image"}) | set(OURS_ONLY)
    assert "moderation" not in EDIT_PARAMETERS
    for name in EDIT_PARAMETERS:
        if name in OURS_ONLY or name in ("model", "stream"):
            continue
        ours = set(choices(name, declaration=EditParams))
        theirs = _literal_values(sdk[name])
        if name == "size":
            assert theirs <= ours, name
        else:
            assert ours == theirs, (name, ours ^ theirs)
