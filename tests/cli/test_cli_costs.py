"""``comet-images`` and money: the estimate line before a batch, a generation or an edit,
``--budget``, and the cost line after ``generate`` and ``edit``, against the loopback fake."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image
from test_cli import Cli, refused

from comet_widgets import PRICES, estimate_cost, read_metadata
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI

LOW = ("-m", "gpt-image-2", "--quality", "low", "-s", "1024x1024")
PROMPTS = [f"a paper boat, number {i}" for i in range(4)]


def each() -> float:
    usd = estimate_cost(prompt=PROMPTS[0], quality="low", size="1024x1024").usd
    assert usd is not None
    return usd


def priced(usage: dict[str, int]) -> float:
    """The usage times CometAPI's published gpt-image-2 prices ($4 in, $24 out per 1M)."""
    return (usage["input_tokens"] * 4 + usage["output_tokens"] * 24) / 1_000_000


@pytest.mark.slow
def test_a_batch_prints_its_estimate_with_the_prices_source_and_date(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "p.txt").write_text("\n".join(PROMPTS) + "\n")
    done = cli("batch", "p.txt", "-o", "out", *LOW, "--no-progress")
    assert done.returncode == 0, done.stderr
    total = sum(estimate_cost(prompt=p, quality="low", size="1024x1024") for p in PROMPTS)
    price = PRICES["gpt-image-2"]
    assert done.stderr == (
        f"estimate: 4 image(s) of gpt-image-2, quality low, size 1024x1024: {total}"
        f" ({price.source}, {price.as_of})\n"
    )
    assert "about $0.026" in done.stderr
    assert "2026-12-06" in done.stderr
    assert "cometapi.com/models/openai/gpt-image-2/" in done.stderr


@pytest.mark.slow
def test_budget_stops_the_batch_and_a_larger_one_continues_it(
    cli: Cli, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "p.txt").write_text("\n".join(PROMPTS) + "\n")
    args = ("batch", "p.txt", "-o", "out", *LOW, "--no-progress", "--concurrency", "1")
    done = cli(*args, "--budget", str(2.5 * each()))
    assert done.returncode == 0, done.stderr
    assert "2 ok, 0 failed, 2 over budget (not sent)" in done.stdout
    assert fake.generation_count == 2
    rows = read_manifest(tmp_path / "out" / MANIFEST_NAME)
    spent = sum(row["cost"]["usd"] for row in rows)
    assert f"cost: ${spent:.4f} (budget $" in done.stdout
    done = cli(*args, "--budget", str(4.5 * each()))
    assert done.returncode == 0, done.stderr
    assert "4 ok (2 resumed), 0 failed;" in done.stdout
    assert "items already done in out are not sent again" in done.stderr
    assert fake.generation_count == 4


@pytest.mark.slow
@pytest.mark.parametrize("budget", ["-1", "nan", "inf", "lots"])
def test_a_bad_budget_is_refused_before_anything_is_sent(
    cli: Cli, fake: FakeAPI, tmp_path: Path, budget: str
) -> None:
    (tmp_path / "p.txt").write_text("a boat\n")
    done = cli("batch", "p.txt", "-o", "out", "--budget", budget)
    refused(done, fake, "--budget")


@pytest.mark.slow
def test_generate_and_edit_print_what_they_cost(cli: Cli, tmp_path: Path) -> None:
    done = cli("generate", "a paper boat", *LOW, "-o", "boats")
    assert done.returncode == 0, done.stderr
    usage = read_metadata(tmp_path / done.stdout.splitlines()[0])["usage"]
    text = usage["input_tokens_details"]["text_tokens"]
    price = PRICES["gpt-image-2"]
    assert done.stderr == (
        "estimate: 1 image(s) of gpt-image-2, quality low, size 1024x1024:"
        f" {estimate_cost(prompt='a paper boat', quality='low', size='1024x1024')}"
        f" ({price.source}, {price.as_of})\n"
        f"cost: ${priced(usage):.4f} (from usage: {text} text + 0 image input,"
        f" {usage['output_tokens']} output tokens)\n"
    )
    Image.new("RGB", (1024, 1024), (200, 10, 10)).save(tmp_path / "photo.png")
    done = cli("edit", "photo.png", "make it winter", "-o", "out")
    assert done.returncode == 0, done.stderr
    usage = read_metadata(tmp_path / done.stdout.splitlines()[0])["usage"]
    assert usage["input_tokens_details"]["image_tokens"] == 765  # four tiles of 512
    assert f"cost: ${priced(usage):.4f} (from usage: " in done.stderr
    assert "765 image input" in done.stderr
    edit_estimate = estimate_cost(prompt="make it winter", image="photo.png")
    assert done.stderr.startswith(
        f"estimate: 1 image(s) of gpt-image-2, quality auto, size auto: {edit_estimate} ("
    )
    assert not math.isclose(priced(usage), 0)


@pytest.mark.slow
def test_a_model_without_a_price_says_so(cli: Cli) -> None:
    done = cli("generate", "a boat", "-m", "dall-e-2", "-s", "256x256")
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("cost: unpriced (no known price for dall-e-2)\n")


def test_help_lists_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    from comet_widgets.cli._main import main

    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = capsys.readouterr().out
    assert "--budget USD" in text
    assert "Run again with a larger --budget to continue." in text
