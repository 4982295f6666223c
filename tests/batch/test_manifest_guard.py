"""The manifest survives a torn write and is never shared by two running batches.

A crash in the middle of a write leaves a torn last line: resuming moves it aside (and says so),
so ``pandas.read_json(manifest, lines=True)`` loads the manifest again. A second process on the
same output folder is refused at once, naming the folder and the other process; shards of one
batch still run side by side in one folder (each has its own manifest).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from comet_widgets import AsyncImageClient, CometError, generate_many
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI

CHEAP = {"model": "dall-e-2", "size": "256x256"}
PROMPTS = [f"a lantern {i}" for i in range(4)]


async def test_a_torn_last_line_is_moved_aside_on_resume(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await generate_many(PROMPTS[:2], client=client, **CHEAP, output_dir=tmp_path)
    manifest = tmp_path / MANIFEST_NAME
    whole = manifest.read_bytes()
    torn = b'{"key":"abc","prompt":"a lantern 2","stat'
    manifest.write_bytes(whole + torn)  # a crash in the middle of the third write
    with pytest.raises(ValueError, match=r"\w"):
        pd.read_json(manifest, lines=True)  # the damage is real
    fake.reset()
    caplog.set_level(logging.WARNING, logger="comet_widgets")
    results = await generate_many(PROMPTS, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 2  # only what was missing
    assert all(item.ok for item in results)
    frame = pd.read_json(manifest, lines=True)
    assert sorted(frame["prompt"]) == PROMPTS
    [aside] = list(tmp_path.glob(f"{MANIFEST_NAME}.torn-*"))  # noqa: ASYNC240
    assert aside.read_bytes() == torn
    assert any(
        "torn line" in r.getMessage() and aside.name in r.getMessage() for r in caplog.records
    )
    assert len(read_manifest(manifest)) == 4


HOLDER = """
import sys, time
from pathlib import Path
from comet_widgets.batch._manifest import ManifestWriter
writer = ManifestWriter(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
async def test_a_second_process_on_the_same_folder_is_refused_at_once(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    holder = subprocess.Popen(  # noqa: ASYNC220 - started once, read one line
        [sys.executable, "-c", HOLDER, str(tmp_path / MANIFEST_NAME)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        # The holder keeps the lock until it is killed: waiting for it would hang (and time out).
        with pytest.raises(CometError) as info:
            await generate_many(PROMPTS, client=client, **CHEAP, output_dir=tmp_path)
        message = str(info.value)
        assert str(tmp_path) in message
        assert f"process {holder.pid}" in message
        assert "nothing was sent" in message
        assert fake.generation_count == 0
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # Once the other process is gone (even killed), the folder is free again.
    results = await generate_many(PROMPTS, client=client, **CHEAP, output_dir=tmp_path)
    assert all(item.ok for item in results)


async def test_shards_still_run_side_by_side_in_one_folder(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.latency = 0.1
    first, second = await asyncio.gather(
        generate_many(PROMPTS, client=client, **CHEAP, output_dir=tmp_path, shard="0/2"),
        generate_many(PROMPTS, client=client, **CHEAP, output_dir=tmp_path, shard="1/2"),
    )
    assert all(item.ok for item in [*first, *second])
    assert fake.generation_count == 4
    shards = sorted(tmp_path.glob("manifest.shard-*.jsonl"))  # noqa: ASYNC240
    rows = [read_manifest(shard) for shard in shards]
    assert [len(r) for r in rows] == [2, 2]
