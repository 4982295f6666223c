"""The CLI tests' fixture: ``cli(*args)`` runs ``comet-images`` in tmp_path against the fake."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from test_cli import Cli, run

from comet_widgets.testing import FakeServer


@pytest.fixture
def cli(fake_server: FakeServer, tmp_path: Path) -> Cli:
    """``run`` (a subprocess, the key checked in neither output) in tmp_path against the fake."""
    return functools.partial(run, cwd=tmp_path, server=fake_server)
