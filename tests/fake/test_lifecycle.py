"""The fake mirrors today's gateway: retired models, a missing model, error fields, the model
list as the SDK's ``Model`` objects, and gif/svg answers as the SDK's ``ImagesResponse``."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from openai.types import ImagesResponse, Model

from comet_widgets import (
    MODELS,
    AsyncImageClient,
    InvalidParameterError,
    ModelLifecycleWarning,
    ModelUnavailableError,
    build_payload,
)
from comet_widgets import _catalog as catalog
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, FakeAPI, fake_transport

AUTH = {"Authorization": f"Bearer {FAKE_API_KEY}"}
GENERATIONS = f"{IN_PROCESS_BASE_URL}/images/generations"


@pytest.fixture
async def today() -> AsyncIterator[tuple[httpx.AsyncClient, FakeAPI]]:
    app = FakeAPI(serve_retired=False)
    async with httpx.AsyncClient(transport=fake_transport(app), headers=AUTH) as http:
        yield http, app


@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3", "gpt-image-1"])
async def test_shut_down_models_get_the_gateways_503(
    today: tuple[httpx.AsyncClient, FakeAPI], model: str
) -> None:
    http, app = today
    response = await http.post(GENERATIONS, json={"model": model, "prompt": "a boat"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["message"].startswith(f"no available channel for model {model} under group")
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert error["type"] == "server_error"
    app.serve_retired = True
    assert (
        await http.post(GENERATIONS, json={"model": model, "prompt": "a boat"})
    ).status_code == 200


async def test_a_missing_model_is_the_gateways_400(
    today: tuple[httpx.AsyncClient, FakeAPI],
) -> None:
    http, _ = today
    for body in ({"prompt": "a boat"}, {"prompt": "a boat", "model": ""}):
        response = await http.post(GENERATIONS, json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["message"].startswith("model name is required")
        assert error["param"] == "model"


async def test_a_refused_value_names_its_param(today: tuple[httpx.AsyncClient, FakeAPI]) -> None:
    http, _ = today
    response = await http.post(
        GENERATIONS, json={"model": "gpt-image-2", "prompt": "a boat", "quality": "ultra"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("quality", "invalid_value")


async def test_the_model_list_validates_as_the_sdks_model_strictly(
    today: tuple[httpx.AsyncClient, FakeAPI],
) -> None:
    http, _ = today
    document = (await http.get(f"{IN_PROCESS_BASE_URL}/models")).json()
    ids = []
    for item in document["data"]:
        Model.model_validate(item, strict=True)
        assert set(item) <= set(Model.model_fields)
        ids.append(item["id"])
    assert "gpt-image-2" in ids
    # Not routed today: retired, shut down, or past their announced shutdown (2026-12-01).
    gone = {"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini"}
    assert not gone & set(ids)


@pytest.mark.parametrize(
    "params",
    [
        {"output_format": "gif", "frame_count": 3, "frame_duration_ms": 120},
        {"output_format": "svg", "svg": {"model": "svg-author", "reasoning": {"effort": "low"}}},
        {"quality": "xhigh", "complexity": "high", "safety_identifier": "h-1"},
    ],
    ids=["gif", "svg", "xhigh"],
)
async def test_new_options_answer_like_the_sdks_images_response(
    today: tuple[httpx.AsyncClient, FakeAPI], params: dict[str, object]
) -> None:
    http, _ = today
    body = build_payload("a paper boat", model="gpt-image-2.5-flare", size="1024x1024", **params)
    response = await http.post(GENERATIONS, json=body)
    assert response.status_code == 200, response.text
    answer = ImagesResponse.model_validate(response.json(), strict=True)
    assert answer.usage is not None
    assert answer.usage.output_tokens_details is not None
    if params.get("output_format") == "svg":
        assert answer.svg_usage is not None
        assert answer.svg_usage.model == "svg-author"
    if "safety_identifier" in params:
        assert answer.safety_identifier == "h-1"


async def test_generate_warns_once_per_model_and_names_the_replacement() -> None:
    app = FakeAPI(serve_retired=False)
    catalog._warned.clear()
    async with (
        httpx.AsyncClient(transport=fake_transport(app)) as http,
        AsyncImageClient(api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http) as c,
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                with pytest.raises(ModelUnavailableError) as info:
                    await c.generate("a boat", model="dall-e-3")
            await c.generate("a boat")  # gpt-image-2: current, no warning
        lifecycle = [w for w in caught if issubclass(w.category, ModelLifecycleWarning)]
        assert len(lifecycle) == 1
        assert str(lifecycle[0].message) == MODELS["dall-e-3"].notice()
        assert lifecycle[0].filename == __file__  # points at the caller
    message = str(info.value)
    assert message.endswith("pick another model: try gpt-image-2.")
    assert ".." not in message


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("dalle-3", "dall-e-3"),
        ("DALL-E-3", "dall-e-3"),
        ("gpt-image2", "gpt-image-2"),
        ("gpt-image-2.6flare", "gpt-image-2.6-flare"),
        ("GPT Image 2", "gpt-image-2"),
    ],
)
def test_typos_are_refused_with_a_did_you_mean(typo: str, meant: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_payload("a boat", model=typo)
    assert f"did you mean {meant!r}" in str(info.value)
    assert info.value.field == "model"


def test_real_unknown_ids_pass_and_gpt_ids_get_gpt_rules() -> None:
    assert build_payload("a", model="gpt-image-3")["model"] == "gpt-image-3"
    assert build_payload("a", model="flux-pro-1.1", style="cinematic")["style"] == "cinematic"
    for option in ({"response_format": "url"}, {"style": "vivid"}):
        with pytest.raises(InvalidParameterError, match="not supported by gpt-image-3"):
            build_payload("a", model="gpt-image-3", **option)
