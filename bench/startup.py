"""Benchmark 3: start-up, the whole-process wall time of fresh interpreters.

``import comet_widgets`` and ``comet-images --help`` against ``import httpx`` and
``import openai`` (and a bare interpreter for reference). Runs are interleaved, after one untimed
run of each (which also writes any missing bytecode caches).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from ._common import PYTHON, ROOT, emit, summary

SCRIPTS = Path(PYTHON).parent


def commands() -> dict[str, list[str]]:
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        "import httpx": [PYTHON, "-c", "import httpx"],
        "import comet_widgets": [PYTHON, "-c", "import comet_widgets"],
        "comet-images --help": [str(SCRIPTS / "comet-images"), "--help"],
        "import openai": [PYTHON, "-c", "import openai"],
    }


def _time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True, timeout=60)
    return time.perf_counter() - started


def run(*, smoke: bool = False) -> dict[str, Any]:
    runs = 1 if smoke else 11
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    table = commands()
    if not smoke:
        for command in table.values():
            _time(command, env)
    samples: dict[str, list[float]] = {name: [] for name in table}
    names = list(table)
    for number in range(runs):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_time(table[name], env) * 1000)
    return {"runs": runs, "ms": {name: summary(s) for name, s in samples.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
