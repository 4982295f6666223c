"""One "no API key" check and message: the client, a batch, the CLI and the panel all read
``COMETAPI_KEY`` through one function and open their message with the same words, each then
saying how to give a key where it stands. Nothing is sent."""

from __future__ import annotations

import pytest

from comet_widgets import AsyncImageClient, ImageGenerator, MissingAPIKeyError, generate_many
from comet_widgets.cli._main import main
from comet_widgets.testing import FakeAPI, FakeServer

HEAD = "no API key: set the COMETAPI_KEY environment variable "


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    monkeypatch.delenv("COMETAPI_OFFLINE", raising=False)


async def test_the_client_says_it(fake_server: FakeServer, fake: FakeAPI) -> None:
    async with AsyncImageClient(base_url=fake_server.base_url) as client:
        with pytest.raises(MissingAPIKeyError) as info:
            await client.generate("a boat")
    assert str(info.value).startswith(HEAD + "or pass AsyncImageClient(api_key=...)")
    assert fake.requests == []


async def test_a_batch_says_it_before_anything(
    fake_server: FakeServer, fake: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMETAPI_BASE_URL", fake_server.base_url)
    with pytest.raises(MissingAPIKeyError) as info:
        await generate_many(["a boat"], model="dall-e-2", size="256x256")
    assert str(info.value).startswith(HEAD + "or pass client=AsyncImageClient(api_key=...)")
    assert "nothing was sent" in str(info.value)
    assert fake.requests == []


def test_an_empty_variable_is_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMETAPI_KEY", "")
    panel = ImageGenerator(prompt="a boat")
    try:
        with pytest.raises(MissingAPIKeyError):
            panel.generate()
    finally:
        panel.close()


def test_the_cli_says_it_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "a boat"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + HEAD + "(export COMETAPI_KEY=...) or add --offline")
    assert err.count("\n") == 1


def test_the_panel_says_it() -> None:
    panel = ImageGenerator(prompt="a boat")
    try:
        with pytest.raises(MissingAPIKeyError) as info:
            panel.generate()
        said = str(info.value)
        assert said.startswith("N" + HEAD[1:])
        assert "getpass" in said
        assert "ImageGenerator(offline=True)" in said
        assert panel.error == said
    finally:
        panel.close()
