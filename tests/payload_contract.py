"""The contract a request body must meet: OpenAI's OpenAPI schema where it knows the option, the
official SDK's parameter types for everything (and alone for what the schema predates).

The vendored schema (``tests/spec``) predates gpt-image-2.5/2.6 and the options of today
(``complexity``, ``gif``/``svg`` output, ``frame_count``, ``svg``, ``safety_identifier``,
qualities ``xhigh``/``max``). So a body is split: the fields and values the schema knows are
validated by it, and the whole body is validated strictly by the SDK's
``ImageGenerateParamsNonStreaming`` (``openai/types/image_generate_params.py``). ``newer`` lists
what only the SDK could judge, so tests can say exactly which parts the schema did not see.

``relaxed=True`` is the carve-out for models the catalogue does not know: their ``quality`` and
``style`` are passed through as strings (gateways route models with their own values).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, get_type_hints

import pydantic
from jsonschema import Draft202012Validator
from openai.types.image_generate_params import ImageGenerateParamsNonStreaming

__all__ = ["PayloadContract", "Verdict"]

_RELAXED = ("quality", "style")


@dataclass
class Verdict:
    """The problems found in one body, and what only the SDK could judge."""

    schema_errors: list[str] = field(default_factory=list)
    sdk_errors: list[str] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)
    newer: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.schema_errors or self.sdk_errors or self.unknown_keys)


class PayloadContract:
    """Checks bodies against the schema (what it knows) and the SDK's types (all of it)."""

    def __init__(self, openapi: dict[str, Any], *, relaxed: bool = False) -> None:
        root = copy.deepcopy(
            {"components": openapi["components"], "$ref": "#/components/schemas/CreateImageRequest"}
        )
        Draft202012Validator.check_schema(root)
        self.properties: dict[str, Any] = root["components"]["schemas"]["CreateImageRequest"][
            "properties"
        ]
        self.relaxed = relaxed
        if relaxed:
            for name in _RELAXED:
                del self.properties[name]["enum"]
        self.validator = Draft202012Validator(root)
        self.sdk_keys = set(get_type_hints(ImageGenerateParamsNonStreaming))
        self.adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(
            ImageGenerateParamsNonStreaming
        )

    def _known_by_schema(self, key: str, value: Any) -> bool:
        prop = self.properties.get(key)
        if prop is None:
            return False
        enum = prop.get("enum")
        return enum is None or value is None or value in enum

    def check(self, body: dict[str, Any], *, extra: set[str] = frozenset()) -> Verdict:  # type: ignore[assignment]
        """The verdict on ``body``; ``extra`` names keys sent through ``extra_body``."""
        verdict = Verdict()
        known = {k: v for k, v in body.items() if self._known_by_schema(k, v)}
        verdict.newer = {k: v for k, v in body.items() if k not in known and k not in extra}
        verdict.schema_errors = [e.message for e in self.validator.iter_errors(known)]
        typed = {k: v for k, v in body.items() if k not in extra}
        if self.relaxed:
            for name in _RELAXED:
                if name in typed:
                    if not isinstance(typed[name], str):
                        verdict.sdk_errors.append(f"{name} must be a string")
                    del typed[name]
        try:
            self.adapter.validate_python(typed, strict=True)
        except pydantic.ValidationError as exc:
            verdict.sdk_errors += [
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            ]
        verdict.unknown_keys = sorted(set(typed) - self.sdk_keys)
        return verdict
