"""``start_server``/``stop_server`` (bench/_lab.py), which every test that starts a server uses:
when a test fails or hits its timeout, its fixture's finalizer still ends the server's whole
process group, a child that ignores SIGTERM included, and the kernels named by its folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench._lab import _in_group, _naming

REPO = Path(__file__).resolve().parents[2]

#: A test module run by an inner pytest with this repository's settings. Its fixture starts a
#: "server" that starts a child ignoring SIGTERM (in its group) and a "kernel" in a session of
#: its own whose command line names the server's folder, writes their PIDs, then the test
#: fails or hangs past its timeout.
INNER = '''
import os, subprocess, sys, time
from pathlib import Path

import pytest

from bench._lab import start_server, stop_server

SERVER = """
import subprocess, sys
stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
child = subprocess.Popen([sys.executable, "-c", stubborn])
kernel = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(600)", sys.argv[1] + "/runtime/kernel-1.json"],
    start_new_session=True,
)
print(child.pid, kernel.pid, flush=True)
sys.stdin.read()
"""


@pytest.fixture
def server():
    root = Path(os.environ["SERVER_ROOT"])
    proc = start_server(
        [sys.executable, "-c", SERVER, str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        yield proc
    finally:
        stop_server(proc, root, grace=1)


def started(server):
    pids = [server.pid, *map(int, server.stdout.readline().split())]
    Path(os.environ["PIDS_FILE"]).write_text(" ".join(map(str, pids)))


def test_fails(server):
    started(server)
    assert False, "the test fails"


@pytest.mark.timeout(3)
def test_times_out(server):
    started(server)
    time.sleep(60)
'''


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize(
    ("test", "says"), [("test_fails", "the test fails"), ("test_times_out", "Timeout")]
)
def test_a_failed_or_timed_out_test_leaves_no_process_of_its_server(
    tmp_path: Path, test: str, says: str
) -> None:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    pids_file = tmp_path / "pids"
    root = tmp_path / "server"
    env = {**os.environ, "PIDS_FILE": str(pids_file), "SERVER_ROOT": str(root)}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    inner = [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml")]
    inner += ["--rootdir", str(tmp_path), "-p", "no:cacheprovider", f"test_inner.py::{test}"]
    done = subprocess.run(
        inner, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stdout[-3000:]
    # The suite's policy: 120 s for every test, and a timeout that raises in the test (so
    # fixture finalizers run) rather than ending the process.
    assert "timeout: 120.0s" in done.stdout
    assert "timeout method: signal" in done.stdout
    assert says in done.stdout, done.stdout[-3000:]
    server, child, kernel = map(int, pids_file.read_text().split())
    assert len({server, child, kernel}) == 3
    assert not [pid for pid in (server, child, kernel) if alive(pid)], done.stdout[-3000:]
    assert not _in_group(server)
    assert not _naming(root)
