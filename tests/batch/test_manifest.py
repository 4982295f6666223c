"""The batch manifest: keys, crash-tolerant reading and appending, merging."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from comet_widgets.batch._manifest import (
    MANIFEST_NAME,
    ManifestWriter,
    canonical_json,
    item_key,
    manifest_files,
    merge_manifests,
    read_manifest,
    shard_manifest_name,
)


def record_paths(row: dict[str, Any], root: Path) -> list[Path]:
    """The image files a manifest row names, resolved against the manifest's folder."""
    return [root / image["path"] for image in row.get("images") or [] if image.get("path")]


def record(
    key: str, index: int, *, error: str | None = None, path: str | None = None
) -> dict[str, Any]:
    images = [{"index": 0, "path": path}] if path else []
    return {
        "key": key,
        "index": index,
        "prompt": f"prompt {index}",
        "images": images,
        "paths": [path] if path else [],
        "error": {"type": "ServerError", "message": error} if error else None,
    }


def write_lines(path: Path, records: list[dict[str, Any]], tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_key_is_canonical_over_the_whole_payload() -> None:
    a = {"prompt": "a fox", "model": "dall-e-2", "size": "256x256", "n": 1}
    reordered = dict(reversed(list(a.items())))
    assert item_key(a) == item_key(reordered)
    assert len(item_key(a)) == 64
    assert item_key(a) != item_key(a | {"size": "512x512"})
    assert item_key(a) != item_key(a | {"prompt": "a fox "})
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_read_ignores_a_partial_last_line_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    assert read_manifest(path) == []
    write_lines(path, [record("k1", 0), record("k2", 1)], tail='{"key": "k3", "ind')
    assert [r["key"] for r in read_manifest(path)] == ["k1", "k2"]


def test_read_skips_and_logs_a_corrupt_middle_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text(
        json.dumps(record("k1", 0)) + "\nnot json\n[1]\n" + json.dumps(record("k2", 1)) + "\n"
    )
    with caplog.at_level(logging.WARNING, logger="comet_widgets"):
        assert [r["key"] for r in read_manifest(path)] == ["k1", "k2"]
    assert "line 2" in caplog.text
    assert "line 3" in caplog.text


def test_writer_appends_fsynced_lines_after_a_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "sub" / MANIFEST_NAME
    path.parent.mkdir()
    write_lines(path, [record("k1", 0)], tail='{"key": "half')
    with ManifestWriter(path) as writer:
        writer.append(record("k2", 1))
        writer.append(record("k3", 2))
    assert [r["key"] for r in read_manifest(path)] == ["k1", "k2", "k3"]
    assert path.read_text().endswith("\n")
    with pytest.raises(ValueError, match="closed"):
        writer.append(record("k4", 3))


def test_writer_creates_the_folder_and_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / MANIFEST_NAME
    with ManifestWriter(path) as writer:
        writer.append(record("k1", 0))
    assert read_manifest(path)[0]["key"] == "k1"


def test_manifest_files_lists_the_main_one_first(tmp_path: Path) -> None:
    for name in (
        shard_manifest_name(1, 2),
        MANIFEST_NAME,
        shard_manifest_name(0, 2),
        "other.jsonl",
    ):
        (tmp_path / name).write_text("")
    assert [p.name for p in manifest_files(tmp_path)] == [
        "manifest.jsonl",
        "manifest.shard-0-of-2.jsonl",
        "manifest.shard-1-of-2.jsonl",
    ]


def test_merge_prefers_success_orders_by_index_and_rebases_paths(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x.png").write_bytes(b"x")
    (b / "y.png").write_bytes(b"y")
    write_lines(
        a / MANIFEST_NAME,
        [
            record("k2", 2, error="boom"),
            record("k0", 0, path="x.png"),
            record("k3", 3, error="one"),
        ],
    )
    write_lines(
        b / MANIFEST_NAME,
        [
            record("k2", 2, path="y.png"),
            record("k0", 0, error="late failure"),
            record("k3", 3, error="two"),
        ],
    )
    out = tmp_path / "merged" / MANIFEST_NAME
    report = merge_manifests([a, b], out)
    rows = read_manifest(out)
    assert [r["key"] for r in rows] == ["k0", "k2", "k3"]
    assert rows[0]["error"] is None
    assert rows[1]["error"] is None
    assert rows[2]["error"]["message"] == "two"  # the last failure is kept
    assert rows[0]["paths"] == ["../a/x.png"]
    assert record_paths(rows[1], out.parent) == [out.parent / "../b/y.png"]
    assert record_paths(rows[1], out.parent)[0].read_bytes() == b"y"
    assert (report.rows_read, report.items, report.succeeded, report.failed) == (6, 3, 2, 1)
    assert report.ok is False
    assert "3 item(s)" in str(report)


def test_merge_can_copy_files_and_write_over_an_input(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.mkdir()
    (a / "x.png").write_bytes(b"x")
    (a / "x.png.json").write_text("{}")
    write_lines(a / shard_manifest_name(0, 2), [record("k0", 0, path="x.png")])
    write_lines(a / MANIFEST_NAME, [record("k1", 1, error="boom")])
    out = tmp_path / "out" / MANIFEST_NAME
    report = merge_manifests([a], out, copy=True)
    assert report.copied == 1
    assert (tmp_path / "out" / "x.png").read_bytes() == b"x"
    assert (tmp_path / "out" / "x.png.json").exists()
    assert read_manifest(out)[0]["paths"] == ["x.png"]
    # merging a folder into its own manifest.jsonl: everything is read before it is replaced
    merge_manifests([a], a / MANIFEST_NAME)
    assert [r["key"] for r in read_manifest(a / MANIFEST_NAME)] == ["k0", "k1"]


def test_merge_refuses_a_missing_input(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        merge_manifests([tmp_path / "nope.jsonl"], tmp_path / "out.jsonl")
    with pytest.raises(FileNotFoundError, match="no manifest"):
        merge_manifests([tmp_path], tmp_path / "out.jsonl")


def test_merge_keeps_the_latest_success(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(b"old")
    (tmp_path / "new.png").write_bytes(b"new")
    write_lines(
        tmp_path / MANIFEST_NAME,
        [record("k", 0, path="old.png"), record("k", 0, path="new.png"), record("k", 0, error="x")],
    )
    merge_manifests([tmp_path], tmp_path / MANIFEST_NAME)
    (only,) = read_manifest(tmp_path / MANIFEST_NAME)
    assert only["paths"] == ["new.png"]
