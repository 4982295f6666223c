"""The image parameters, typed once.

``ImageParams`` declares every keyword a generation takes besides its prompt, with ``Literal``
aliases for the enum-like values (the official ``openai`` SDK's
``types/image_generate_params.py``); ``EditParams`` does the same for an edit besides its prompt
and input images (the SDK's ``types/image_edit_params.py``). Everything else derives from them
or is checked against them by ``tests/package/test_types.py``: ``PARAMETERS``/``EDIT_PARAMETERS``
and ``choices``; the client's, ``generate_many``'s and ``compare``'s ``**params:
Unpack[ImageParams]`` (mypy checks call sites; ``signed`` derives the ``__signature__`` that
``help()``, Shift-Tab and jedi read); the panel's traits and choices, the CLI's flags, the CSV
columns, the fake's edit validation and ``build_edit_payload``, which refuses anything else by
name. ``build_payload`` keeps explicit keywords (a test holds them equal to ``ImageParams``).

Adding a parameter means: one line here (plus its ``HELP`` text), its rule in the catalogue and
its keyword in ``build_payload``. Which model accepts which value lives in the catalogue
(``_catalog.py``): these types say what the API can take at all.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import (
    Any,
    Literal,
    TypeAlias,
    TypedDict,
    TypeVar,
    get_args,
    get_origin,
    get_type_hints,
)

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover - Python 3.10
    from typing_extensions import Unpack

__all__ = [
    "EDIT_FILES",
    "EDIT_PARAMETERS",
    "HELP",
    "PARAMETERS",
    "Background",
    "Complexity",
    "EditParams",
    "EditQuality",
    "ImageInput",
    "ImageParams",
    "ImageRequest",
    "InputFidelity",
    "Model",
    "ModelId",
    "Moderation",
    "OutputFormat",
    "Quality",
    "ResponseFormat",
    "Size",
    "StandardSize",
    "Style",
    "SvgEffort",
    "SvgOptions",
    "SvgReasoning",
    "Unpack",
    "choices",
    "scalar_kind",
    "signed",
]

#: The model ids of the catalogue (``MODELS`` has exactly these; a test keeps them equal).
ModelId: TypeAlias = Literal[
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "chatgpt-image-latest",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "gpt-image-1",
    "dall-e-3",
    "dall-e-2",
    "qwen-image",
]
#: Any model name: the catalogue's ids, or one it does not know (sent as it is).
Model: TypeAlias = ModelId | str

#: The sizes some catalogue model lists; GPT image models from gpt-image-2 on also take any
#: ``WIDTHxHEIGHT`` within their limits, hence ``Size`` is also ``str``.
StandardSize: TypeAlias = Literal[
    "auto",
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "256x256",
    "512x512",
    "1792x1024",
    "1024x1792",
    "1328x1328",
    "1664x928",
    "928x1664",
    "1472x1140",
    "1140x1472",
]
Size: TypeAlias = StandardSize | str

#: ``standard``/``hd`` are legacy (retired DALL·E models); ``xhigh``/``max``: gpt-image-2.5.
Quality: TypeAlias = Literal["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"]
#: Legacy: DALL·E models only (GPT image models always answer base64).
ResponseFormat: TypeAlias = Literal["url", "b64_json"]
#: Legacy: dall-e-3 only.
Style: TypeAlias = Literal["vivid", "natural"]
Background: TypeAlias = Literal["transparent", "opaque", "auto"]
OutputFormat: TypeAlias = Literal["png", "jpeg", "webp", "gif", "svg"]
Moderation: TypeAlias = Literal["low", "auto"]
Complexity: TypeAlias = Literal["low", "medium", "high"]
#: An edit's quality: the generation's without ``hd`` (the SDK's image_edit_params.py).
EditQuality: TypeAlias = Literal["low", "medium", "high", "xhigh", "max", "auto", "standard"]
#: Edits only: how closely the result keeps the inputs' features (not gpt-image-2).
InputFidelity: TypeAlias = Literal["high", "low"]
SvgEffort: TypeAlias = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class SvgReasoning(TypedDict, total=False):
    """How much the SVG author reasons (the author model's default when omitted)."""

    effort: SvgEffort | None


class _SvgModel(TypedDict):
    model: str


class SvgOptions(_SvgModel, total=False):
    """The ``svg`` object of ``output_format="svg"``: the model that authors the SVG
    (``model`` required) and how hard it reasons."""

    reasoning: SvgReasoning | None


class ImageParams(TypedDict, total=False):
    """Every keyword of a generation besides ``prompt``; ``None`` means "not sent"."""

    model: Model
    n: int | None
    size: Size | None
    response_format: ResponseFormat | None
    quality: Quality | None
    style: Style | None
    background: Background | None
    output_format: OutputFormat | None
    output_compression: int | None
    moderation: Moderation | None
    complexity: Complexity | None
    frame_count: int | None
    frame_duration_ms: int | None
    svg: SvgOptions | None
    safety_identifier: str | None
    user: str | None
    stream: bool | None
    partial_images: int | None
    extra_body: Mapping[str, Any] | None


#: One input image of an edit: a PIL image, a numpy array, bytes, a path or a
#: ``GeneratedImage`` (``Any``: this module imports none of them).
ImageInput: TypeAlias = Any


class EditParams(TypedDict, total=False):
    """Every keyword of an edit besides ``prompt`` and ``image``; ``None`` means "not sent".

    The SDK's ``ImageEditParams`` plus ``extra_body``. Edits take no ``moderation`` or
    ``style``: both are refused by name. ``stream`` means what it means for a generation (the
    same path: ``partial_images`` 1-3 turns it on; ``stream=True`` alone streams the final
    image in one event, with no previews), so an edit streams in one way only. ``mask`` and
    ``markup`` are files (any ``ImageInput``): a mask marks where to edit (its transparent
    pixels); a markup (gpt-image-2.5 models) is a transparent PNG of the first image's size
    whose drawn marks guide the edit. They cannot be combined, and GIF output takes no mask.
    """

    mask: ImageInput | None
    markup: ImageInput | None
    model: Model
    n: int | None
    size: Size | None
    response_format: ResponseFormat | None
    quality: EditQuality | None
    background: Background | None
    output_format: OutputFormat | None
    output_compression: int | None
    complexity: Complexity | None
    frame_count: int | None
    frame_duration_ms: int | None
    svg: SvgOptions | None
    input_fidelity: InputFidelity | None
    safety_identifier: str | None
    user: str | None
    stream: bool | None
    partial_images: int | None
    extra_body: Mapping[str, Any] | None


class _Prompt(TypedDict):
    prompt: str


class ImageRequest(_Prompt, ImageParams, total=False):
    """One generation as a dict (a ``generate_many`` item): ``prompt`` (required), its
    parameters and ``meta`` labels."""

    meta: Mapping[str, Any]


#: One line per parameter (of generations and edits), for the CLI's flags and the panel's help.
HELP: Mapping[str, str] = {
    "model": "the model name; unknown names are sent as they are",
    "n": "how many images (1 to the model's maximum)",
    "size": "WIDTHxHEIGHT or auto (the model's own default when not given)",
    "response_format": "how the images come back (legacy: DALL·E models only)",
    "quality": "a quality the model accepts (standard/hd: legacy DALL·E)",
    "style": "legacy: dall-e-3 only",
    "background": "GPT image models; transparent needs png or webp",
    "output_format": "the file type (GPT image models)",
    "output_compression": "0-100, for jpeg and webp only",
    "moderation": "content moderation level (GPT image models)",
    "complexity": "planning effort, independent of quality (GPT image models)",
    "frame_count": "frames of a gif (2-16; output_format gif only)",
    "frame_duration_ms": "delay per gif frame in ms (output_format gif only)",
    "svg": "the SVG author {'model': ..., 'reasoning': {'effort': ...}} (output_format svg)",
    "safety_identifier": "a stable hashed end-user id for abuse detection",
    "user": "deprecated end-user id: use safety_identifier",
    "stream": "stream the answer as server-sent events (partial_images turns it on)",
    "partial_images": "0-3 partial previews per image while it is made (GPT image models;"
    " each adds about 100 output tokens)",
    "extra_body": "provider-specific JSON fields, sent as they are",
    "mask": "where to edit: a PNG whose transparent pixels mark it, or white = edit here",
    "markup": "a transparent PNG of the first image's size whose marks guide the edit"
    " (gpt-image-2.5 models; not with a mask)",
    "input_fidelity": "how closely the result keeps the inputs' features",
}


#: The parameter names, in declaration order.
PARAMETERS: tuple[str, ...] = tuple(get_type_hints(ImageParams))
#: An edit's parameter names (``EditParams``), in declaration order.
EDIT_PARAMETERS: tuple[str, ...] = tuple(get_type_hints(EditParams))
#: The ``EditParams`` that are files (sent as multipart files, like ``image``).
EDIT_FILES: tuple[str, ...] = ("mask", "markup")


def _literals(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(v for arg in get_args(annotation) for v in _literals(arg))


def _is_closed(annotation: Any) -> bool:
    """True when only ``Literal`` values (and ``None``) are allowed: no ``str`` escape."""
    if get_origin(annotation) is Literal:
        return True
    args = get_args(annotation)
    return bool(args) and all(a is type(None) or _is_closed(a) for a in args)


def choices(
    name: str, *, closed_only: bool = False, declaration: type = ImageParams
) -> tuple[str, ...]:
    """The ``Literal`` values of parameter ``name`` of ``declaration`` (empty for a number, a
    dict, free text).

    With ``closed_only`` a parameter that also takes any string (``model``, ``size``) has none.
    """
    annotation = get_type_hints(declaration)[name]
    if closed_only and not _is_closed(annotation):
        return ()
    return tuple(str(value) for value in _literals(annotation))


def scalar_kind(name: str, declaration: type = ImageParams) -> type | None:
    """``str``, ``int`` or ``bool`` for a parameter holding one such value (a ``Literal`` of
    strings is ``str``); None for an object (``svg``, ``extra_body``, a file)."""
    annotation = get_type_hints(declaration)[name]
    kinds = set()
    for arg in get_args(annotation) or (annotation,):
        if arg is type(None):
            continue
        kinds.add(str if get_origin(arg) is Literal else arg)
    return kinds.pop() if len(kinds) == 1 and kinds <= {str, int, bool} else None


F = TypeVar("F", bound=Callable[..., Any])


def signed(
    declaration: type, *, model: str, annotate: Callable[[Any], Any] | None = None
) -> Callable[[F], F]:
    """Decorate a function whose ``**params`` are ``Unpack[declaration]``: its signature (for
    ``help()``, Jupyter's Shift-Tab and jedi's completion, which read ``__signature__`` but
    not ``Unpack``) lists each declared keyword, ``model`` defaulting to ``model`` and the
    others to None. mypy and PEP 692 IDEs read the ``Unpack`` itself. ``annotate`` turns each
    declared annotation into the one shown (``compare`` shows "one value or a list")."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        declared = []
        for name, annotation in declaration.__annotations__.items():
            shown = getattr(annotation, "__forward_arg__", annotation)
            declared.append(
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=model if name == "model" else None,
                    annotation=annotate(shown) if annotate else shown,
                )
            )
        function.__signature__ = signature.replace(parameters=[*own, *declared])  # type: ignore[attr-defined]
        return function

    return decorate
