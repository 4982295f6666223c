"""Shared plumbing: summaries of samples, the fake API in a subprocess, fresh interpreters.

Every figure is a median with min/max over ``n`` samples. The fake runs in its own process
(``python -m comet_widgets.testing``) so that serving megabytes does not compete with the client
being measured for the GIL; on this 2-core machine each gets a core.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FAKE_KEY = "sk-fake-bench"


def summary(samples: Sequence[float]) -> dict[str, float]:
    """``{"median", "min", "max", "n"}`` of ``samples`` (which must not be empty)."""
    if not samples:
        raise ValueError("no samples")
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def ratio(ours: dict[str, float], base: dict[str, float]) -> float:
    """Median over median."""
    return ours["median"] / base["median"] if base["median"] else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the fake exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the fake did not listen on 127.0.0.1:{port} within {timeout:g} s")


@contextlib.contextmanager
def fake_process(
    image_file: Path | None = None,
    *,
    latency: float = 0.0,
    timeout: float = 30.0,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[str]:
    """Run the fake API in a subprocess on loopback; yield its base URL (``.../v1``).

    With ``tls`` (a certificate and its key, see ``bench._tls``) it serves ``image_file`` over
    https, with no latency."""
    port = free_port()
    if tls is not None:
        command = [PYTHON, "-m", "bench._tls", str(port), *map(str, tls), str(image_file)]
    else:
        command = [PYTHON, "-m", "comet_widgets.testing", "--port", str(port)]
        if image_file is not None:
            command += ["--image-file", str(image_file)]
        if latency:
            command += ["--latency", repr(latency)]
    from ._lab import start_server, stop_server  # _lab imports this module

    process = start_server(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()
    )
    try:
        _wait_listening(port, process, timeout)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}/v1"
    finally:
        stop_server(process)
        if process.stderr is not None:
            process.stderr.close()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("COMETAPI_KEY", None)
    env.pop("COMETAPI_BASE_URL", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_module(module: str, *args: str, timeout: float = 300.0) -> Any:
    """Run ``python -m module *args`` in a fresh interpreter; return the JSON it prints last."""
    completed = subprocess.run(
        [PYTHON, "-m", module, *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        what = " ".join([module, *args])
        raise RuntimeError(f"{what} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{module} printed no JSON:\n{completed.stdout[-2000:]}")
    return json.loads(lines[-1])


def emit(result: Any) -> None:
    """Print one benchmark's result as the last JSON line (read by ``run_module``)."""
    print(json.dumps(result), flush=True)
