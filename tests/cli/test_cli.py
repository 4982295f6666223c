"""``comet-images`` in subprocesses (``python -m comet_widgets``) against the loopback fake."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from bench._lab import start_server, stop_server
from comet_widgets import __version__, read_metadata
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.cli._commands import COMMANDS
from comet_widgets.cli._main import main
from comet_widgets.testing import FakeAPI, FakeServer
from tests.helpers import clean_env, run_captured

# The fake accepts any key: this one is easy to spot if it ever leaks into an output.
KEY = "sk-test-NEVER-PRINT-THIS-9f8e7d6c5b4a"
SUBCOMMANDS = ("generate", "edit", "batch", "models", "serve-fake", "merge")


def quiet_lifecycle(env: dict[str, str]) -> None:
    """Ignore ModelLifecycleWarning in a CLI subprocess (paths first written for dall-e-2/-3).

    Python resolves a PYTHONWARNINGS category before site-packages' .pth files run, so the
    package must be importable from PYTHONPATH for the filter to apply (it is, from the checkout).
    """
    env.setdefault("PYTHONWARNINGS", "ignore::comet_widgets.ModelLifecycleWarning")
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(Path(__file__).resolve().parents[2])])


def run(
    *args: str,
    cwd: Path,
    server: FakeServer | None = None,
    key: bool = True,
    stdin: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; assert the key appears in neither stdout nor stderr."""
    env = clean_env()
    quiet_lifecycle(env)
    env.update(extra_env or {})
    if key:
        env["COMETAPI_KEY"] = KEY
    if server is not None:
        env["COMETAPI_BASE_URL"] = server.base_url
    done = run_captured(
        [sys.executable, "-m", "comet_widgets", *args], cwd=cwd, env=env, stdin=stdin
    )
    assert KEY not in done.stdout
    assert KEY not in done.stderr
    return done


#: ``run`` in tmp_path against the fake (the ``cli`` fixture).
Cli = Callable[..., subprocess.CompletedProcess[str]]


def refused(done: subprocess.CompletedProcess[str], fake: FakeAPI, words: str) -> None:
    """``done`` was refused as a usage error (exit 2) that says ``words``; nothing was sent."""
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert fake.requests == []


def generations(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/images/generations")]


# -- help, version, startup ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_help_is_complete_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"] if command else ["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out
    assert "--debug" in out
    if not command:
        for name in SUBCOMMANDS:
            assert name in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"comet-images {__version__}"


@pytest.mark.slow
def test_help_starts_fast_and_imports_nothing_heavy(tmp_path: Path) -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from comet_widgets.cli._main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['batch', '--help'])\n"
        "print(sorted(m for m in ('httpx', 'PIL', 'ipywidgets', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "[]"
    # CPU time of the child, best of three: wall time on a shared 2-core machine is noise
    best = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run("--help", cwd=tmp_path, key=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, spent)
    assert best < 0.35, f"comet-images --help took {best:.3f} s of CPU"


# -- generate ------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_prints_paths_and_revised_prompts(cli: Cli, fake: FakeAPI, tmp_path: Path) -> None:
    done = cli("generate", "a paper boat", "-m", "dall-e-3", "-o", "boats", "--sidecar")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("boats/")
    assert lines[0].endswith(".png")
    assert lines[1].startswith("  revised prompt: a paper boat")
    path = tmp_path / lines[0]
    assert read_metadata(path)["prompt"] == "a paper boat"
    assert json.loads(Path(f"{path}.json").read_text())["model"] == "dall-e-3"
    assert generations(fake)[0].json == {
        "model": "dall-e-3",
        "prompt": "a paper boat",
        "n": 1,
        "size": "1024x1024",
    }
    done = cli(
        "generate", "two owls", "-m", "dall-e-2", "-s", "256x256", "-n", "2", "--format", "b64_json"
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2  # dall-e-2 does not revise prompts


@pytest.mark.slow
def test_generate_refuses_bad_input_before_the_key_or_the_network(cli: Cli, fake: FakeAPI) -> None:
    done = cli("generate", "a boat", "-s", "7x7", key=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: size '7x7' is malformed; gpt-image-2 takes")
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert fake.generation_count == 0


@pytest.mark.slow
def test_without_a_key_one_line_says_what_to_do(cli: Cli) -> None:
    for args in (("generate", "a boat"), ("models", "--live")):
        done = cli(*args, key=False)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert "COMETAPI_KEY" in done.stderr
        assert "--offline" in done.stderr


@pytest.mark.slow
def test_api_errors_are_one_redacted_line_and_a_traceback_only_with_debug(
    cli: Cli, fake: FakeAPI
) -> None:
    fake.fail_next(2, 400, message=f"invalid request from key {KEY}")
    done = cli("generate", "a boat")
    assert done.returncode == 1
    estimate, error = done.stderr.splitlines()  # the estimate before sending, then one line
    assert estimate.startswith("estimate: 1 image(s) of gpt-image-2")
    assert error.startswith("error: HTTP 400: invalid request from key [redacted]")
    done = cli("--debug", "generate", "a boat")
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "BadRequestError" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: HTTP 400")


@pytest.mark.slow
def test_offline_needs_no_key(tmp_path: Path) -> None:
    done = run(
        "generate",
        "a lighthouse",
        "--offline",
        "-m",
        "gpt-image-1",
        "--quality",
        "low",
        cwd=tmp_path,
        key=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / done.stdout.splitlines()[0]).is_file()


@pytest.mark.slow
def test_cometapi_offline_is_the_clis_offline_too(tmp_path: Path) -> None:
    """The variable that puts the panel offline does the same for the CLI (no key needed)."""
    done = run(
        "generate",
        "a lighthouse",
        "-n",
        "2",
        cwd=tmp_path,
        key=False,
        extra_env={"COMETAPI_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    saved = done.stdout.splitlines()
    assert len(saved) == 2
    assert all((tmp_path / line).is_file() for line in saved)


# -- batch ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_batch_txt_plain_progress_lines_summary_and_resume(
    cli: Cli, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "p.txt").write_text("# six prompts\n" + "".join(f"tile {i}\n" for i in range(6)))
    args = ("batch", "p.txt", "-o", "out", "-m", "dall-e-2", "-s", "256x256", "--concurrency", "2")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("6 item(s): 6 ok, 0 failed; 6 image(s)")
    assert "manifest: out/manifest.jsonl" in done.stdout
    # stderr is not a TTY: plain lines, no carriage returns
    assert "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("estimate: 6 image(s) of dall-e-2")
    assert lines[1].startswith("batch: ")
    assert lines[-1].startswith("batch done: 6/6 · 6 ok · 0 failed")
    assert len(read_manifest(tmp_path / "out" / MANIFEST_NAME)) == 6
    assert fake.generation_count == 6
    done = cli(*args)
    assert done.returncode == 0
    assert "6 ok (6 resumed)" in done.stdout
    assert fake.generation_count == 6  # nothing requested again
    done = cli(*args, "--no-resume", "--quiet")
    assert done.returncode == 0
    assert done.stderr.startswith("estimate: ")  # the one line left on stderr
    assert done.stderr.count("\n") == 1
    assert fake.generation_count == 12


@pytest.mark.slow
def test_batch_csv_columns_set_parameters_and_labels(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        'prompt,size,subject\na fox,512x512,fox\n"a whale, at dusk",,whale\n'
    )
    args = ("batch", "p.csv", "-o", "out", "-m", "dall-e-2", "-s", "256x256")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    lines = sorted(read_manifest(tmp_path / "out" / MANIFEST_NAME), key=lambda r: r["index"])
    assert [(r["prompt"], r["size"], r["meta"]) for r in lines] == [
        ("a fox", "512x512", {"subject": "fox"}),
        ("a whale, at dusk", "256x256", {"subject": "whale"}),
    ]
    assert (tmp_path / "out" / lines[0]["paths"][0]).is_file()


@pytest.mark.slow
def test_batch_jsonl_with_a_failed_item_exits_1(cli: Cli, fake: FakeAPI, tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text(
        '{"prompt": "first", "meta": {"id": 1}}\n"second"\n{"prompt": "third", "n": 2}\n'
    )
    fake.fail_next(1, 500)
    args = ("batch", "p.jsonl", "-o", "out", "-m", "dall-e-2", "--concurrency", "1")
    done = cli(*args)
    assert done.returncode == 1
    assert "3 item(s): 2 ok, 1 failed; 3 image(s)" in done.stdout
    assert "failed: item 0: HTTP 500" in done.stdout
    done = cli("batch", "p.jsonl", "-o", "out", "-m", "dall-e-2")
    assert done.returncode == 0  # the failed item is retried on resume
    assert "3 ok (2 resumed)" in done.stdout


@pytest.mark.slow
def test_a_batch_whose_items_ask_for_previews_lands_from_a_gateway_that_refuses_streams(
    cli: Cli, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "p.jsonl").write_text(
        '{"prompt": "a fox", "partial_images": 2}\n{"prompt": "a whale", "partial_images": 1}\n'
    )
    fake.stream_refusal = "comet"
    args = ("batch", "p.jsonl", "-o", "out", "-m", "gpt-image-2", "--concurrency", "1")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert "2 item(s): 2 ok" in done.stdout
    asked = [bool(r.json.get("stream")) for r in generations(fake)]
    assert asked == [True, False, False]  # refused once, then never asked again


@pytest.mark.slow
def test_batch_input_errors_exit_2_naming_the_line_and_send_nothing(
    cli: Cli, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "p.txt").write_text("fine\n\nalso fine\n" + "x" * 1200 + "\n")
    done = cli("batch", "p.txt", "-o", "out", "-m", "dall-e-2")
    assert done.returncode == 2
    assert done.stderr.startswith("error: p.txt line 4: item 2: prompt is 1200 characters")
    assert "nothing was sent" in done.stderr
    (tmp_path / "p.csv").write_text("prompt,szie\na,b\n")
    done = cli("batch", "p.csv", "-o", "out")
    assert done.returncode == 2
    assert "misspelt 'size'" in done.stderr
    done = cli("batch", "missing.txt", "-o", "out")
    assert done.returncode == 2
    assert done.stderr.startswith("error: [Errno 2]")
    done = cli("batch", "p.txt", "-o", "out", "--shard", "3/2")
    assert done.returncode == 2
    assert "shard" in done.stderr
    done = cli("batch", "p.txt")  # -o is required
    assert done.returncode == 2
    assert fake.generation_count == 0
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_batch_reads_stdin(cli: Cli) -> None:
    done = cli("batch", "-", "-o", "out", "-m", "dall-e-2", "--no-progress", stdin="one\ntwo\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 item(s): 2 ok")


@pytest.mark.slow
def test_shards_in_processes_then_merge_equal_an_unsharded_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("".join(f"shard me {i}\n" for i in range(7)))
    common = ("-m", "dall-e-2", "-s", "256x256", "--no-progress")
    for shard in ("0/2", "1/2"):
        done = cli("batch", "p.txt", "-o", f"part{shard[0]}", "--shard", shard, *common)
        assert done.returncode == 0, done.stderr
        assert "(shard " in done.stdout
    assert (tmp_path / "part0" / "manifest.shard-0-of-2.jsonl").is_file()
    done = cli("batch", "p.txt", "-o", "whole", *common)
    assert done.returncode == 0
    done = run("merge", "-o", "merged", "part0", "part1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "7 item(s), 7 ok, 0 failed" in done.stdout
    merged = read_manifest(tmp_path / "merged" / MANIFEST_NAME)
    whole = sorted(read_manifest(tmp_path / "whole" / MANIFEST_NAME), key=lambda r: r["index"])
    assert [(r["index"], r["key"], r["prompt"]) for r in merged] == [
        (r["index"], r["key"], r["prompt"]) for r in whole
    ]
    # files stay where they are; the merged manifest points at them
    assert merged[0]["paths"][0].startswith("../part0/")
    assert (tmp_path / "merged" / merged[1]["paths"][0]).is_file()
    # OUT-first form, copying the files
    done = run(
        "merge",
        "copied/all.jsonl",
        "part0",
        "part1/manifest.shard-1-of-2.jsonl",
        "--copy",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "7 file(s) copied" in done.stdout
    copied = read_manifest(tmp_path / "copied" / "all.jsonl")
    assert all((tmp_path / "copied" / r["paths"][0]).is_file() for r in copied)
    assert "/" not in copied[0]["paths"][0]


@pytest.mark.slow
def test_merge_usage_errors(tmp_path: Path) -> None:
    assert run("merge", "only-one", cwd=tmp_path, key=False).returncode == 2
    done = run("merge", "out.jsonl", "missing-dir", cwd=tmp_path, key=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: missing-dir does not exist")


# -- models, serve-fake ----------------------------------------------------------------------


def test_models_fits_100_columns_and_wide_shows_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == ["model", "status", "max", "n", "sizes"]
    assert "'comet-images models --wide' adds response formats and options." in lines
    text = "\n".join(lines)
    # Long fields wrap under their column: gpt-image-1's replacements, qwen-image's sizes.
    gpt1 = lines.index(next(line for line in lines if line.startswith("gpt-image-1 ")))
    status_at = lines[0].index("status")
    assert lines[gpt1 + 1][:status_at].strip() == ""
    assert "gpt-image-2.5-sunburst or" in lines[gpt1 + 1]
    assert "gpt-image-2.5-flare" in lines[gpt1 + 2]
    assert "928x1664" in text
    assert "b64_json" not in text  # response formats and options: only with --wide
    assert main(["models", "--wide"]) == 0
    wide = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in wide) > 200
    assert "b64_json (always)" in next(line for line in wide if line.startswith("gpt-image-1 "))


@pytest.mark.slow
def test_models_catalogue_and_live_list(cli: Cli, fake: FakeAPI, tmp_path: Path) -> None:
    done = run("models", "--wide", cwd=tmp_path, key=False)
    assert done.returncode == 0
    header, *rows = done.stdout.splitlines()
    assert header.split()[:4] == ["model", "status", "sizes", "max"]
    assert rows[0].split()[:2] == ["gpt-image-2", "current"]
    dalle3 = next(row for row in rows if row.startswith("dall-e-3 "))
    assert "1792x1024" in dalle3
    assert "style vivid/natural" in dalle3
    assert "shut down 2026-05-12; try gpt-image-2" in dalle3
    gpt1 = next(row for row in rows if row.startswith("gpt-image-1 "))
    assert "b64_json (always)" in gpt1
    assert "try gpt-image-2.5-sunburst or gpt-image-2.5-flare" in gpt1
    # Announced for 2026-12-01: shut down from that day on (the status follows the date).
    assert "shut down 2026-12-01; try gpt-image-2" in next(
        r for r in rows if r.startswith("gpt-image-1.5")
    )
    done = cli("models", "--live", "--wide")
    assert done.returncode == 0, done.stderr
    live = [line.split() for line in done.stdout.splitlines()]
    assert live[0] == ["model", "status", "your", "key"]
    assert ["gpt-image-2", "current", "available"] in live
    assert not any(row[0] == "gpt-4o-mini" for row in live)  # a text model: not an image model
    assert any(r.path == "/v1/models" for r in fake.requests)


@pytest.mark.slow
def test_serve_fake_runs_until_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    process = start_server(
        [sys.executable, "-m", "comet_widgets", "serve-fake", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        answer = httpx.get(f"{base_url}/models", headers={"Authorization": "Bearer any"})
        assert answer.status_code == 200
        assert "dall-e-3" in answer.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=15)
        finally:
            stop_server(process)  # whatever is left of its group
    assert process.returncode == 0
    assert "fake API" in err


def test_main_reports_an_unexpected_error_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(args: Any) -> int:
        raise RuntimeError("something broke")

    monkeypatch.setitem(COMMANDS, "models", boom)
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["models"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: RuntimeError: something broke")
    assert "--debug" in err


@pytest.mark.slow
def test_batch_on_a_terminal_redraws_one_line(fake_server: FakeServer, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("".join(f"tty {i}\n" for i in range(5)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    env |= {"COMETAPI_KEY": KEY, "COMETAPI_BASE_URL": fake_server.base_url}
    quiet_lifecycle(env)
    leader, follower = pty.openpty()  # stderr is a terminal
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "comet_widgets",
                "batch",
                "p.txt",
                "-o",
                "out",
                "-m",
                "dall-e-2",
            ],
            cwd=tmp_path,
            env=env,
            stderr=follower,
            stdout=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
        os.close(follower)
        chunks = []
        with contextlib.suppress(OSError):  # EIO once the terminal is drained
            while chunk := os.read(leader, 65536):
                chunks.append(chunk)
    finally:
        os.close(leader)
    estimate, _, bar = b"".join(chunks).decode().partition("\n")
    assert done.returncode == 0
    assert estimate.startswith("estimate: 5 image(s)")  # one line before the bar
    assert bar.startswith("\rbatch [")
    assert bar.count("\n") <= 2  # one line redrawn, ended once (a terminal may add \r\n)
    assert "5/5" in bar
    assert KEY not in bar


# -- edit ------------------------------------------------------------------------------------


def edits(fake: FakeAPI) -> list[object]:
    return [r for r in fake.requests if r.path == "/v1/images/edits"]


@pytest.mark.slow
def test_edit_with_a_mask_saves_the_result(cli: Cli, tmp_path: Path, fake: FakeAPI) -> None:
    Image.new("RGB", (64, 64), (200, 10, 10)).save(tmp_path / "photo.png")
    white_left = np.zeros((64, 64), dtype=np.uint8)
    white_left[:, :32] = 255
    Image.fromarray(white_left).save(tmp_path / "mask.png")
    done = cli(
        "edit",
        "photo.png",
        "make it winter",
        "--mask",
        "mask.png",
        "-o",
        "out",
        "-m",
        "gpt-image-1.5",
    )
    assert done.returncode == 0, done.stderr
    saved = [Path(tmp_path / line) for line in done.stdout.splitlines() if line.endswith(".png")]
    assert len(saved) == 1
    result = np.asarray(Image.open(saved[0]).convert("RGB"), dtype=int)
    original = np.asarray(Image.open(tmp_path / "photo.png").convert("RGB"), dtype=int)
    differs = np.abs(result - original).sum(axis=2) > 0
    assert differs[:, :32].mean() > 0.5
    assert not differs[:, 32:].any()
    assert len(edits(fake)) == 1


@pytest.mark.slow
def test_edit_refuses_a_model_that_cannot_edit_before_sending(
    cli: Cli, tmp_path: Path, fake: FakeAPI
) -> None:
    Image.new("RGB", (64, 64)).save(tmp_path / "photo.png")
    done = cli("edit", "photo.png", "x", "-m", "dall-e-3")
    refused(done, fake, "dall-e-3 cannot edit")
    refused(cli("edit", "nope.png", "x"), fake, "nope.png")


@pytest.mark.slow
def test_batch_reads_an_image_column(cli: Cli, tmp_path: Path, fake: FakeAPI) -> None:
    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "in" / f"{name}.png")
    (tmp_path / "in" / "edits.csv").write_text(
        "prompt,image\nmake it winter,a.png\nmake it spring,b.png\n"
    )
    done = cli("batch", "in/edits.csv", "-o", "out", "--model", "gpt-image-2")
    assert done.returncode == 0, done.stderr
    assert len(edits(fake)) == 2
    assert len(list((tmp_path / "out").glob("*.png"))) == 2


def test_a_batch_reads_its_edit_input_once_before_the_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The items are checked once: the estimate comes from that check, and an edit's input
    file is read once for it (with --budget 0 nothing is sent, so nothing reads it again)."""
    Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "a.png")
    (tmp_path / "edits.csv").write_text("prompt,image\nmake it winter,a.png\n")
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path).name == "a.png":
            opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "edits.csv"), "-o", str(out), "--offline", "--budget", "0"]
    assert main([*argv, "--model", "gpt-image-2", "--no-progress"]) == 0
    printed = capsys.readouterr()
    assert printed.err.startswith("estimate: 1 image(s) of gpt-image-2")
    assert opened == [str(tmp_path / "a.png")]
    assert "over budget" in printed.out
    assert not list(out.glob("*.png"))


@pytest.mark.slow
def test_a_retired_model_warns_in_one_line_and_names_the_replacement(tmp_path: Path) -> None:
    """Offline, the built-in fake behaves like today's gateway: dall-e-3 is not routed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMETAPI_", "COMET_FAKE"))}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "comet_widgets",
            "generate",
            "a boat",
            "-m",
            "dall-e-3",
            "--offline",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    estimate, first, second = done.stderr.splitlines()[:3]
    assert estimate.startswith("estimate: 1 image(s) of dall-e-3")
    assert first == (
        "warning: dall-e-3 was retired by OpenAI on 2026-05-12; CometAPI may no longer route it;"
        " try gpt-image-2"
    )
    assert second.startswith("error: HTTP 503: no available channel for model dall-e-3")
    assert second.endswith("pick another model: try gpt-image-2.")
    assert ".." not in done.stderr
