"""Reading prompt files: .txt, .csv and .jsonl, with line numbers in every error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from comet_widgets.batch._prompts import PromptFileError, format_of, read_prompts


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_format_comes_from_the_extension() -> None:
    assert format_of("a.CSV") == "csv"
    assert format_of("a.jsonl") == "jsonl"
    assert format_of("a.ndjson") == "jsonl"
    assert format_of("a.txt") == "txt"
    assert format_of("prompts") == "txt"


def test_txt_skips_blanks_and_comments_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "p.txt", "\ufeffa red fox\n\n# a comment\n  a blue whale  \n")
    prompts = read_prompts(path)
    assert prompts.items == ["a red fox", "a blue whale"]
    assert prompts.lines == [1, 4]
    assert prompts.where(1) == "line 4"
    assert prompts.where(9) == "item 9"
    assert len(prompts) == 2


def test_csv_parameters_labels_and_empty_cells(tmp_path: Path) -> None:
    text = (
        "prompt,size,n,subject,meta.style,quality\n"
        'a fox,256x256,2,fox,"watercolor, soft",\n'
        "\n"
        "a whale,,,whale,ink,standard\n"
    )
    prompts = read_prompts(write(tmp_path, "p.csv", text))
    assert prompts.items == [
        {
            "prompt": "a fox",
            "size": "256x256",
            "n": 2,
            "meta": {"subject": "fox", "style": "watercolor, soft"},
        },
        {"prompt": "a whale", "quality": "standard", "meta": {"subject": "whale", "style": "ink"}},
    ]
    assert prompts.lines == [2, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("size,model\n256x256,dall-e-2\n", "no 'prompt' column"),
        ("prompt,szie\na fox,256x256\n", "looks like a misspelt 'size'"),
        ("prompt,n\na fox,two\n", "line 2: n must be a whole number"),
        ("prompt\na fox,extra\n", "line 2: 2 cells for 1 columns"),
        ("", "is empty"),
    ],
)
def test_csv_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PromptFileError, match=message):
        read_prompts(write(tmp_path, "p.csv", text))


def test_jsonl_objects_and_strings(tmp_path: Path) -> None:
    text = '{"prompt": "a fox", "size": "512x512", "meta": {"id": 7}}\n\n"a whale"\n'
    prompts = read_prompts(write(tmp_path, "p.jsonl", text))
    assert prompts.items == [{"prompt": "a fox", "size": "512x512", "meta": {"id": 7}}, "a whale"]
    assert prompts.lines == [1, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"ok"\n{"prompt": \n', "line 2: not valid JSON"),
        ("[1, 2]\n", "line 1: expected an object"),
        ('{"size": "256x256"}\n', "line 1: the object has no 'prompt'"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PromptFileError, match=message):
        read_prompts(write(tmp_path, "p.jsonl", text))


def test_input_format_overrides_the_extension_and_stdin_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "p.data", '{"prompt": "a fox"}\n')
    assert read_prompts(path, input_format="jsonl").items == [{"prompt": "a fox"}]
    monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\n"))
    assert read_prompts("-").items == ["one", "two"]


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(PromptFileError, match="holds no prompts"):
        read_prompts(write(tmp_path, "p.txt", "\n# only a comment\n"))
    with pytest.raises(FileNotFoundError):
        read_prompts(tmp_path / "missing.txt")
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PromptFileError, match="not UTF-8"):
        read_prompts(binary)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\u001c", "\x0b", "\x0c"])
def test_only_newlines_split_prompts(tmp_path: Path, separator: str) -> None:
    text = f"a boat{separator}on the sea\r\nsecond\rthird\n"
    path = tmp_path / "prompts.txt"
    path.write_bytes(text.encode("utf-8"))
    assert read_prompts(path).items == [f"a boat{separator}on the sea", "second", "third"]
    if ord(separator) < 0x20:
        return  # a raw control character is not valid inside a JSON string anyway
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_bytes(f'{{"prompt": "a boat{separator}at dusk"}}\n"plain"\n'.encode())
    assert read_prompts(jsonl).items == [{"prompt": f"a boat{separator}at dusk"}, "plain"]
