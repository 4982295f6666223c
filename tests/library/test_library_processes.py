"""The library across processes: two writers at once, and a disk that fills up mid-write."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from comet_widgets import Library

pytestmark = pytest.mark.slow

# Records RUNS generations of one unique small PNG each, one add() per run.
_WRITER = textwrap.dedent(
    """
    import io, sys, time
    from PIL import Image
    from comet_widgets import Generation, GeneratedImage, Library

    folder, name, runs, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    lib = Library(folder)
    while time.time() < start:  # both writers begin together
        time.sleep(0.001)
    for run in range(runs):
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), (run, len(name), 7)).save(buffer, "PNG")
        image = GeneratedImage(index=0, data=buffer.getvalue(), format="png", width=16, height=16)
        generation = Generation(
            prompt=f"{name} run {run}", model="gpt-image-2", created=int(time.time()),
            images=[image], params={"prompt": f"{name} run {run}", "model": "gpt-image-2"},
            request_id=f"{name}-{run}",
        )
        lib.add(generation)
    print("done")
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.getcwd()}


@pytest.mark.timeout(180)
def test_two_processes_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    import time

    start = str(time.time() + 2.0)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), name, "50", start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for name in ("alpha", "beta")
    ]
    # Meanwhile a reader never sees an entry whose file or thumbnail is not there yet.
    reader, seen = Library(tmp_path), 0
    while any(writer.poll() is None for writer in writers):
        if (tmp_path / "library.db").exists():
            page = reader.search(limit=20)
            assert all(e.path.is_file() and e.thumbnail for e in page)
            seen = max(seen, len(reader))
        time.sleep(0.01)
    reader.close()
    for writer in writers:
        out, err = writer.communicate(timeout=150)
        assert writer.returncode == 0, err
        assert out.strip() == "done"
    lib = Library(tmp_path)
    entries = lib.search(limit=1000)
    assert len(entries) == 100
    assert {e.request_id for e in entries} == {
        f"{name}-{run}" for name in ("alpha", "beta") for run in range(50)
    }
    assert len(lib.search("alpha", limit=1000)) == 50
    assert all(not e.missing and e.thumbnail for e in entries)
    assert seen > 0  # the reader read while they wrote


_FULL_DISK = textwrap.dedent(
    """
    import io, os, resource, signal, sys
    from PIL import Image
    from comet_widgets import CometError, Generation, GeneratedImage, Library

    noise = Image.frombytes("RGB", (256, 256), os.urandom(256 * 256 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    data = buffer.getvalue()
    image = GeneratedImage(index=0, data=data, format="png", width=256, height=256)
    generation = Generation(
        prompt="noise", model="gpt-image-2", created=1, images=[image], params={"prompt": "noise"}
    )
    lib = Library(sys.argv[1])
    lib.search()  # the database exists before the disk "fills"
    # A file may grow to 64 KB, no more: writing past it fails with EFBIG, as a full disk fails
    # with ENOSPC (SIGXFSZ, which would kill the process, is ignored so the write returns).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    try:
        lib.add(generation)
    except CometError as error:
        print(type(error).__name__, "|", error)
    print(image.ok and image.data == data, len(data))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_raises_a_comet_error_and_the_generation_is_intact(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    error, intact = out.stdout.strip().splitlines()
    assert error.startswith("LibraryError | cannot write to the library"), error
    assert "the generation itself is intact" in error
    assert intact.startswith("True ")
    assert int(intact.split()[1]) > 64 * 1024
    lib = Library(tmp_path)
    assert lib.search() == []  # no half-written entry
    assert not [p for p in (tmp_path / "images").rglob("*") if p.is_file()]  # nor file
