"""The vendored OpenAPI extract: whole, reproduced by its script, the only spec the tests read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "tests" / "spec" / "images-openapi.json"

EXTRACT = REPO / "tests" / "spec" / "extract.py"


def test_the_spec_lives_in_the_repository_with_its_source_and_licence() -> None:
    assert SPEC_PATH.is_relative_to(REPO)
    document = json.loads(SPEC_PATH.read_text())
    assert "f85dbe2" in document["source"]
    assert "MIT" in document["source"]
    note = (SPEC_PATH.parent / "README.md").read_text()
    for needed in ("f85dbe2", "MIT", "extract.py"):
        assert needed in note


def test_every_reference_resolves(openapi: dict[str, Any]) -> None:
    text = json.dumps(openapi)
    names = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert names, "no $ref at all"
    assert names <= set(openapi["components"]["schemas"])
    assert {"CreateImageRequest", "ImagesResponse", "ErrorResponse"} <= names | set(
        openapi["components"]["schemas"]
    )


@pytest.mark.slow
def test_the_script_re_extracts_the_same_document(tmp_path: Path, openapi: dict[str, Any]) -> None:
    # A "newer full document": the extract plus an unrelated route and schema the script drops.
    full = json.loads(json.dumps(openapi))
    full["paths"]["/chat/completions"] = {"post": {"$ref": "#/components/schemas/Unrelated"}}
    full["components"]["schemas"]["Unrelated"] = {"type": "object"}
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(full))
    out = tmp_path / "images-openapi.json"
    subprocess.run(
        [sys.executable, str(EXTRACT), str(source), "--commit", "f85dbe2", "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert json.loads(out.read_text()) == openapi
    assert out.read_bytes() == SPEC_PATH.read_bytes()


def test_no_test_reads_the_shared_folder_beside_the_checkout() -> None:
    offenders = [
        path.relative_to(REPO)
        for path in (REPO / "tests").rglob("*.py")
        if re.search(r"""["']shared["']\s*[/)]|\.\./shared""", path.read_text())
    ]
    assert not offenders
