"""Every error the package raises is a ``CometError``: no ``raise`` of a builtin exception
class outside a short allow-list, each entry with the reason it may stay; and the errors a
user meets where a builtin was raised before are CometErrors that are still that builtin."""

from __future__ import annotations

import ast
import builtins
import socket
from collections import Counter
from pathlib import Path

import pytest

import comet_widgets
from comet_widgets import (
    AsyncImageClient,
    CometError,
    FakeServerError,
    InvalidCallError,
    InvalidParameterError,
    StateError,
    generate_many,
)
from comet_widgets.testing import FakeAPI, serve_fake

PACKAGE = Path(comet_widgets.__file__).parent

#: (file under comet_widgets/, the raise's first line, stripped) -> why it may stay a builtin.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "__init__.py",
        "raise AttributeError(f\"module 'comet_widgets' has no attribute {name!r}\")",
    ): ("a module __getattr__ must raise AttributeError: hasattr() and from-imports rely on it"),
    (
        "testing/__init__.py",
        'raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
    ): ("a module __getattr__ must raise AttributeError: hasattr() and from-imports rely on it"),
    ("batch/_results.py", 'raise AttributeError("a StoredImage reads its bytes from its file")'): (
        "Python's protocol for an attribute that cannot be set, as a read-only property's"
    ),
    ("batch/_progress.py", "raise NotImplementedError"): (
        "the abstract Progress._show: every display overrides it, none calls the base"
    ),
    ("cli/_demo.py", "raise KeyboardInterrupt"): (
        "the demo's SIGTERM handler: stops JupyterLab as Ctrl-C does; an interrupt, not an error"
    ),
    ("batch/_manifest.py", 'raise FileNotFoundError(f"{path} holds no manifest*.jsonl")'): (
        "caught: expand_inputs serves merge_manifests, whose one caller (the CLI's merge)"
        " lets it reach cli/_main.py, which prints it and exits 2 as for a usage error"
    ),
    ("batch/_manifest.py", 'raise FileNotFoundError(f"{path} does not exist")'): (
        "caught: as above (expand_inputs -> merge_manifests -> the CLI's merge command)"
    ),
    ("batch/_run.py", "raise OSError("): (
        "a disk failure while saving a batch's images, documented (generate_many) as the"
        " OSError the same save's write_file lets through; a CometError may not be an OSError"
        " (tests/package/test_errors.py), and the batch must stop, not record an item failure"
    ),
    (
        "images/_inputs.py",
        'raise ValueError(f"a mode I image with values {low}..{high} does not fit in 16 bits")',
    ): (
        "caught: every call of encode_png runs inside readable() (images/_inputs.py), which"
        " turns it into an InvalidParameterError naming the input (image, mask, inputs); a"
        " CometError would pass through readable() naming the wrong field"
    ),
}

_BUILTIN_ERRORS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)


def _raised_name(node: ast.Raise) -> str | None:
    """The class a ``raise`` names: ``raise X``, ``raise X(...)``, ``raise builtins.X(...)``."""
    target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    if isinstance(target, ast.Name):
        return target.id
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "builtins"
    ):
        return target.attr
    return None


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds itself: its classes, imports and assignments."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return bound


def builtin_raises(root: Path = PACKAGE) -> list[tuple[str, int, str]]:
    """``(file, line number, first line)`` of every raise of a builtin exception class.

    A module that rebinds the name (``class ValueError``, ``ValueError = ...``, an import of
    it) raises its own class, which is not counted."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        shadowed = _bound_names(tree)
        lines = source.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            name = _raised_name(node)
            if name in _BUILTIN_ERRORS and name not in shadowed:
                where = path.relative_to(root).as_posix()
                found.append((where, node.lineno, lines[node.lineno - 1].strip()))
    return sorted(found)


def test_no_builtin_exception_is_raised_outside_the_allow_list() -> None:
    offending = [
        f"comet_widgets/{where}:{number}: {line}"
        for where, number, line in builtin_raises()
        if (where, line) not in ALLOWED
    ]
    assert offending == [], (
        "raise a CometError subclass (one that is also the builtin, e.g."
        " InvalidParameterError for a ValueError), or add the line to ALLOWED with the reason"
        " it never reaches a user:\n" + "\n".join(offending)
    )


def test_every_allowed_raise_exists_once() -> None:
    """An entry names one raise: a stale one, or a second raise that an entry would let
    through (``raise ValueError(`` is the first line of many), fails."""
    seen = Counter((where, line) for where, _, line in builtin_raises())
    assert {key: seen[key] for key in ALLOWED if seen[key] != 1} == {}


def test_the_scan_finds_builtin_raises_and_skips_the_packages_own(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "import builtins\n"
        "def f(x):\n"
        "    if x:\n"
        "        raise ValueError('bad')\n"
        "    raise builtins.KeyError\n"
        "def g():\n"
        "    raise CometError('fine')\n"
        "def h():\n"
        "    raise\n"
    )
    (tmp_path / "b.py").write_text(
        "class TimeoutError(Exception):\n    pass\ndef f():\n    raise TimeoutError()\n"
    )
    assert builtin_raises(tmp_path) == [
        ("a.py", 4, "raise ValueError('bad')"),
        ("a.py", 5, "raise builtins.KeyError"),
    ]


def test_every_allow_list_entry_gives_a_reason() -> None:
    assert all(len(reason) > 30 for reason in ALLOWED.values())


# -- the errors a user meets: CometErrors, still the builtin raised before ------------------


def test_an_unknown_panel_option_is_an_invalid_call_and_a_type_error() -> None:
    from comet_widgets import ImageGenerator

    with pytest.raises(InvalidCallError, match="unexpected keyword argument 'foo'") as caught:
        ImageGenerator(foo=1)
    assert isinstance(caught.value, CometError)
    assert isinstance(caught.value, TypeError)


def test_the_fakes_knobs_refuse_with_invalid_parameter_errors() -> None:
    fake = FakeAPI()
    with pytest.raises(InvalidParameterError, match=r"error status \(400-599\), got 200") as caught:
        fake.fail_next(1, 200)
    assert isinstance(caught.value, ValueError)
    assert (caught.value.field, caught.value.value) == ("status", 200)
    with pytest.raises(InvalidParameterError) as count:
        fake.fail_next(0, 503)
    assert (count.value.field, count.value.value) == ("count", 0)
    with pytest.raises(InvalidParameterError, match="unknown kind 'nope'; choose one of") as kind:
        fake.malform_next("nope")  # type: ignore[arg-type]
    assert kind.value.field == "kind"
    with pytest.raises(ValueError, match="must be between 0 and 1") as rate:
        fake.fault_rates(rate_429=2.0)
    assert isinstance(rate.value, CometError)
    assert fake.pending_faults == 0


def test_a_taken_port_is_a_fake_server_error_and_a_runtime_error() -> None:
    pytest.importorskip("uvicorn")
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(FakeServerError, match="cannot listen") as caught, serve_fake(port=port):
            pass
        assert isinstance(caught.value, RuntimeError)
    finally:
        taken.close()


async def test_progress_of_the_wrong_kind_is_an_invalid_call(
    inprocess_client: tuple[AsyncImageClient, FakeAPI],
) -> None:
    client, app = inprocess_client
    with pytest.raises(InvalidCallError, match="bool or a callable, got 3") as caught:
        await generate_many(["a kite"], client=client, progress=3)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)
    assert app.requests == []


def test_the_new_classes_are_their_builtins() -> None:
    assert issubclass(InvalidCallError, TypeError)
    assert issubclass(StateError, RuntimeError)
    assert issubclass(FakeServerError, RuntimeError)
    for cls in (InvalidCallError, StateError, FakeServerError):
        assert issubclass(cls, CometError)


def test_the_panels_views_refuse_with_comet_errors(tmp_path: Path) -> None:
    from comet_widgets import ImageGenerator

    panel = ImageGenerator(offline=True, library=False, output_dir=tmp_path)
    try:
        with pytest.raises(InvalidParameterError, match="no view 'Gallery 2'") as missing:
            panel.show_view("Gallery 2")
        assert isinstance(missing.value, ValueError)
        assert (missing.value.field, missing.value.value) == ("title", "Gallery 2")
        assert missing.value.allowed == "the views are ['Results', 'Compare']"
        with pytest.raises(InvalidCallError, match="ipywidgets widget, not str") as kind:
            panel.add_view("Other", "not a widget")  # type: ignore[arg-type]
        assert isinstance(kind.value, TypeError)
        assert panel.view == "Results"
    finally:
        panel.close()
