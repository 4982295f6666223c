"""``__all__`` is honest: every name imports, and public classes name the public module."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

import comet_widgets

LAZY = ["AsyncImageClient", "Generation", "GeneratedImage", "BatchResults", "ImageGenerator"]


def test_all_has_no_duplicates_and_no_private_names() -> None:
    assert len(set(comet_widgets.__all__)) == len(comet_widgets.__all__)
    assert [n for n in comet_widgets.__all__ if n.startswith("_")] == ["__version__"]


@pytest.mark.parametrize("name", comet_widgets.__all__)
def test_every_name_in_all_is_importable(name: str) -> None:
    value = getattr(comet_widgets, name)
    assert value is not None
    namespace: dict[str, object] = {}
    exec(f"from comet_widgets import {name}", namespace)
    assert namespace[name] is value


@pytest.mark.parametrize("name", comet_widgets.__all__)
def test_public_classes_name_the_public_module(name: str) -> None:
    value = getattr(comet_widgets, name)
    if isinstance(value, type):
        assert value.__module__ == "comet_widgets", name
        assert repr(value) == f"<class 'comet_widgets.{name}'>"


@pytest.mark.slow
@pytest.mark.parametrize("order", [LAZY, LAZY[::-1]], ids=["client-first", "widget-first"])
def test_lazily_loaded_classes_are_rewritten_on_first_load(order: list[str]) -> None:
    """Checked in a fresh interpreter, where nothing has touched the lazy names yet."""
    code = textwrap.dedent(
        f"""
        import comet_widgets
        assert not set({order!r}) & set(vars(comet_widgets)), "loaded eagerly"
        for name in {order!r}:
            print(name, getattr(comet_widgets, name).__module__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [f"{name} comet_widgets" for name in order]


@pytest.mark.slow
def test_classes_of_a_module_loaded_on_the_way_are_rewritten_too() -> None:
    """The client returns Generation objects: they say comet_widgets.Generation even if the user
    only ever imported AsyncImageClient."""
    code = textwrap.dedent(
        """
        from comet_widgets import AsyncImageClient
        from comet_widgets.images._results import Generation, GeneratedImage
        print(Generation.__module__, GeneratedImage.__module__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["comet_widgets", "comet_widgets"]


def test_unknown_attributes_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = comet_widgets.Nope  # type: ignore[attr-defined]
    assert not hasattr(comet_widgets, "utils")


def test_dir_lists_the_public_names() -> None:
    assert dir(comet_widgets) == sorted(comet_widgets.__all__)


def test_errors_pickle_under_their_public_name() -> None:
    error = comet_widgets.InvalidParameterError("n", 3, "use 1")
    data = pickle.dumps(type(error))
    assert b"comet_widgets._" not in data
    assert pickle.loads(data) is comet_widgets.InvalidParameterError
    lazy = pickle.dumps(comet_widgets.GeneratedImage)
    assert b"comet_widgets._" not in lazy
    assert pickle.loads(lazy) is comet_widgets.GeneratedImage


def test_version() -> None:
    from importlib.metadata import version

    assert comet_widgets.__version__ == version("comet-widgets")


def test_the_types_public_calls_return_or_warn_with_are_exported() -> None:
    from comet_widgets.batch._results import StoredImage
    from comet_widgets.client._client import InsecureTransportWarning
    from comet_widgets.widget._pending import PendingGeneration

    for value in (InsecureTransportWarning, PendingGeneration, StoredImage):
        assert value.__name__ in comet_widgets.__all__
        assert getattr(comet_widgets, value.__name__) is value
