"""What a generation costs: ``Cost``, the estimate before sending, the actual cost after.

Prices and token tables are catalogue facts (``_catalog.PRICES``, ``OUTPUT_TOKENS``), each with
its source; this module only computes with them. GPT image models are billed per token: text
input, image input (edits) and image output, each at its price per 1M tokens.

- Before sending, ``estimate_cost`` (or ``estimate_payload`` for a body already built) counts
  the tokens a request will likely use. It is a budget guard, so where the request leaves
  something to the model it assumes the dearer case: quality ``auto`` (or unset) counts as
  ``high``, size ``auto`` (or an edit's unset size, which follows the input) as the largest
  standard size, 1536x1024; such an estimate is an upper bound (``Cost.upper_bound``, shown
  "up to $0.30").
- After the answer, ``generation_cost`` prices the ``usage`` the answer carries, and falls back
  to the estimate when the answer has none or an unusable one.

The built-in fake reports its ``usage`` with the same functions (``text_tokens``,
``image_tokens``, ``input_image_tokens``), so tests compare the two against one table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ._catalog import OUTPUT_TOKENS, PARTIAL_IMAGE_TOKENS, PRICES, Price, build_payload
from ._constants import DEFAULT_MODEL, MAX_USAGE_TOKENS
from ._errors import InvalidParameterError
from ._types import EDIT_PARAMETERS, PARAMETERS, Model, Quality, Size

__all__ = [
    "Basis",
    "Cost",
    "check_prices",
    "estimate_cost",
    "estimate_payload",
    "generation_cost",
    "image_tokens",
    "input_image_tokens",
    "merged_prices",
    "text_tokens",
]

#: Where a cost comes from: the answer's ``usage``, an estimate, or no known price.
Basis = Literal["usage", "estimate", "unpriced"]
_STRENGTH: Mapping[str, int] = {"unpriced": 0, "estimate": 1, "usage": 2}
#: The size an estimate assumes when the model chooses it: the largest standard GPT size.
_ESTIMATE_SIZE = (1536, 1024)
#: The quality an estimate assumes for ``auto`` or unset: the dearest of the usual three.
_ESTIMATE_QUALITY = "high"
_GIF_FRAMES = 9  # the SDK's default frame_count


@dataclass(frozen=True)
class Cost:
    """What a generation (or a batch) costs, in USD.

    ``basis`` says where the figure comes from: ``"usage"`` (the tokens the answer reported,
    times the price), ``"estimate"`` (tokens estimated from the request) or ``"unpriced"`` (no
    known price for the model: ``usd`` is None, never a made-up zero). ``breakdown`` holds the
    USD by kind (``text_input``, ``image_input``, ``image_output``; ``images`` for a model
    priced per image) and ``tokens`` the token counts by the same kinds.

    Costs add up (``a + b``, ``sum(costs)``): the sum's basis is the weakest of its parts
    (an estimate in it makes it an estimate), and any unpriced part makes it unpriced, its
    ``breakdown`` and ``tokens`` then summing the parts that are known. ``upper_bound`` is True
    for an estimate that assumed the dearer case for something the request leaves open
    (quality or size ``auto``/unset, an edit's inputs): the real cost is likely lower. ``str()``
    is short: ``"$0.0052"`` from usage, ``"about $0.10"`` for an estimate, ``"up to $0.30"``
    for an upper bound, ``"unpriced"``.
    """

    usd: float | None
    basis: Basis
    breakdown: Mapping[str, float] = field(default_factory=dict)
    tokens: Mapping[str, int] = field(default_factory=dict)
    upper_bound: bool = False

    def __add__(self, other: object) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        basis = min(self.basis, other.basis, key=_STRENGTH.__getitem__)
        usd = None if self.usd is None or other.usd is None else self.usd + other.usd
        return Cost(
            usd=None if basis == "unpriced" else usd,
            basis=basis,
            breakdown=_add(self.breakdown, other.breakdown),
            tokens=_add(self.tokens, other.tokens),
            upper_bound=basis == "estimate" and (self.upper_bound or other.upper_bound),
        )

    def __radd__(self, other: object) -> Cost:
        # sum() starts from 0
        return self if other == 0 else self.__add__(other)

    def __str__(self) -> str:
        if self.usd is None:
            return "unpriced"
        if self.basis == "estimate":
            return f"{'up to' if self.upper_bound else 'about'} ${_rough(self.usd)}"
        return f"${self.usd:,.4f}" if self.usd < 1 else f"${self.usd:,.2f}"

    def as_dict(self) -> dict[str, Any]:
        """The cost as JSON (a manifest's ``cost``; ``upper_bound`` only when True)."""
        data: dict[str, Any] = {"usd": self.usd, "basis": self.basis}
        data |= {"breakdown": dict(self.breakdown), "tokens": dict(self.tokens)}
        return data | ({"upper_bound": True} if self.upper_bound else {})


def _add(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    return {key: a.get(key, 0) + b.get(key, 0) for key in {**a, **b}}


def _rough(usd: float) -> str:
    """Two significant digits, at least two decimals: 0.0998 -> "0.10", 0.05 -> "0.05"."""
    if usd <= 0:
        return "0"
    rounded = float(f"{usd:.2g}")
    if rounded >= 100:
        return f"{rounded:,.0f}"
    decimals = max(2, 1 - math.floor(math.log10(rounded)))
    text = f"{rounded:.{decimals}f}"
    return text if decimals == 2 else text.rstrip("0")


UNPRICED = Cost(usd=None, basis="unpriced")


# -- tokens ---------------------------------------------------------------------------------


def text_tokens(prompt: str) -> int:
    """Text input tokens of a prompt: one per 4 bytes of UTF-8, rounded up (English runs about
    4 characters a token; other scripts take more bytes per character, so more tokens)."""
    return max(1, -(-len(prompt.encode("utf-8", "replace")) // 4))


def image_tokens(quality: str | None, width: int, height: int) -> int:
    """Output tokens of one image: ``OUTPUT_TOKENS`` of ``quality`` (``auto``, unset or unknown:
    ``high``) scaled by pixel area from 1024x1024."""
    per_megapixel = OUTPUT_TOKENS.get(str(quality), OUTPUT_TOKENS[_ESTIMATE_QUALITY])
    return round(per_megapixel * width * height / (1024 * 1024))


def input_image_tokens(width: int, height: int) -> int:
    """Image input tokens of one edit input, by OpenAI's vision rule (an assumption: CometAPI
    documents none): fit within 2048x2048, shrink the short side to 768, then 85 tokens plus
    170 per 512-pixel tile. At most 1,445 tokens (8 tiles), whatever the image."""
    scale = min(1.0, 2048 / max(width, height))
    scale *= min(1.0, 768 / (min(width, height) * scale))
    tiles = math.ceil(width * scale / 512) * math.ceil(height * scale / 512)
    return 85 + 170 * tiles


#: What an estimate counts per edit input (it reads no file): the most any image costs.
_MAX_INPUT_IMAGE_TOKENS = input_image_tokens(768, 2048)


def _count(value: object) -> int | None:
    """A token count from ``usage``: a whole number from 0 to ``MAX_USAGE_TOKENS``, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not (math.isfinite(value) and value == int(value) and 0 <= value <= MAX_USAGE_TOKENS):
        return None
    return int(value)


def usage_tokens(usage: object) -> tuple[int, int, int] | None:
    """``(text input, image input, output)`` tokens of a ``usage`` block, or None when it is
    missing or unusable (a count missing, negative, fractional, NaN, not a number or above
    ``MAX_USAGE_TOKENS``). Without ``input_tokens_details`` every input token is text."""
    if not isinstance(usage, Mapping):
        return None
    given, output = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
    if given is None or output is None:
        return None
    details = usage.get("input_tokens_details")
    if details is None:
        return given, 0, output
    image = _count(details.get("image_tokens", 0)) if isinstance(details, Mapping) else None
    if image is None or image > given:
        return None
    return given - image, image, output


# -- prices ---------------------------------------------------------------------------------


_AMOUNTS = ("text_input", "image_input", "image_output", "per_image")
_NEEDED = {"token": _AMOUNTS[:3], "image": _AMOUNTS[3:]}


def check_prices(prices: object) -> None:
    """Refuse a price table that is not a mapping of model id to valid ``Price``, naming the
    model and the field (``prices['m'].image_output -1 is not a price``)."""
    if not isinstance(prices, Mapping):
        raise InvalidParameterError(
            "prices", prices, "a dict of model id to comet_widgets.Price", reason="bad prices"
        )
    for model, price in prices.items():
        if not isinstance(model, str):
            raise InvalidParameterError("prices", model, "model ids as keys (text)")
        where = f"prices[{model!r}]"
        if not isinstance(price, Price):
            raise InvalidParameterError(
                where, price, "a comet_widgets.Price", reason=f"{where} is not a Price"
            )
        if not isinstance(price.unit, str) or price.unit not in _NEEDED:
            raise InvalidParameterError(f"{where}.unit", price.unit, "'token' or 'image'")
        for name in _AMOUNTS:
            value = getattr(price, name)
            if value is None and name not in _NEEDED[price.unit]:
                continue
            number = not isinstance(value, bool) and isinstance(value, (int, float))
            if not number or not math.isfinite(value) or value < 0:
                per = "per image" if name == "per_image" else "per 1M tokens"
                raise InvalidParameterError(
                    f"{where}.{name}",
                    value,
                    f"a finite number of USD {per}, 0 or more ({price.unit} prices need"
                    f" {', '.join(_NEEDED[price.unit])})",
                    reason=f"{where}.{name} {value!r} is not a price",
                )


def merged_prices(prices: Mapping[str, Price] | None) -> Mapping[str, Price]:
    """``PRICES`` with ``prices`` (checked first) over it, read-only."""
    if prices is None:
        return PRICES
    check_prices(prices)
    return MappingProxyType({**PRICES, **prices})


def _priced(
    price: Price, text: int, image: int, output: int, basis: Basis, upper_bound: bool = False
) -> Cost:
    tokens = {"text_input": text, "image_input": image, "image_output": output}
    # The kinds are the Price's field names (USD per 1M tokens; checked by check_prices).
    breakdown = {kind: count * getattr(price, kind) / 1_000_000 for kind, count in tokens.items()}
    usd = sum(breakdown.values())
    return Cost(usd, basis, breakdown=breakdown, tokens=tokens, upper_bound=upper_bound)


def _per_image(price: Price, count: int, basis: Basis) -> Cost:
    assert price.per_image is not None
    usd = count * price.per_image
    return Cost(usd=usd, basis=basis, breakdown={"images": usd}, tokens={})


# -- estimates and actual costs -------------------------------------------------------------


def _size(size: object) -> tuple[int, int]:
    width, _, height = str(size).partition("x")
    if width.isdigit() and height.isdigit():
        return int(width), int(height)
    return _ESTIMATE_SIZE  # auto, unset (an edit follows its input) or a gateway's own word


def _whole(value: object, default: int) -> int:
    """A count from a body (``n``, ``frame_count``...), or ``default`` when it is not one: a
    cost is computed for any recorded body and never raises."""
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )


def estimate_payload(
    payload: Mapping[str, Any], *, prices: Mapping[str, Price] | None = None
) -> Cost:
    """The estimated cost of a request body (as ``build_payload`` makes it; an edit's ``image``
    is a list, one entry per input). See the module's docstring for what it assumes."""
    price = (PRICES if prices is None else prices).get(str(payload.get("model")))
    if price is None:
        return UNPRICED
    n = _whole(payload.get("n"), 1)
    if price.unit == "image":
        return _per_image(price, n, "estimate")
    size = _size(payload.get("size"))
    per_image = image_tokens(payload.get("quality"), *size)
    if payload.get("output_format") == "gif":
        per_image *= _whole(payload.get("frame_count"), _GIF_FRAMES)
    partials = _whole(payload.get("partial_images"), 0)
    inputs = payload.get("image") or ()
    count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
    return _priced(
        price,
        text_tokens(str(payload.get("prompt") or "")),
        count * _MAX_INPUT_IMAGE_TOKENS,
        n * (per_image + partials * PARTIAL_IMAGE_TOKENS),
        "estimate",
        # what the request leaves open was counted at its dearest
        str(payload.get("quality")) not in OUTPUT_TOKENS or size is _ESTIMATE_SIZE or count > 0,
    )


def estimate_cost(
    *,
    prompt: str = "",
    model: Model = DEFAULT_MODEL,
    n: int | None = 1,
    size: Size | None = None,
    quality: Quality | None = None,
    partial_images: int | None = 0,
    image: object = None,
    prices: Mapping[str, Price] | None = None,
    **params: Any,
) -> Cost:
    """What a generation (or, with ``image=``, an edit) will likely cost, before anything is
    sent: a budget guard that errs high.

    Output tokens come from ``OUTPUT_TOKENS`` (measured per quality at 1024x1024, scaled by
    pixel area); quality ``auto``/unset counts as ``high`` and size ``auto`` (or an edit's unset
    size) as 1536x1024. Each partial preview adds 100 output tokens per image; text input is one
    token per 4 bytes of prompt; each edit input (``image``: one, or a list) counts 1,445 image
    input tokens, the most any image costs. ``prices`` overrides ``PRICES`` for this estimate.
    Other generation parameters (``output_format``, ``frame_count``...) are checked like
    ``build_payload``'s; only GIF frames change the estimate.

    Returns ``Cost`` with ``basis="estimate"``, or ``basis="unpriced"`` (``usd`` None) for a
    model without a known price. Raises ``InvalidParameterError`` for invalid parameters.
    """
    table = merged_prices(prices)
    for ignored in set(EDIT_PARAMETERS) - set(PARAMETERS):  # edit-only: they change no price
        params.pop(ignored, None)
    if isinstance(image, (list, tuple)) and not image:
        raise InvalidParameterError("image", image, "one image or a non-empty list of images")
    payload = build_payload(
        # a blank prompt is fine for an estimate (the panel asks while the user types); the
        # other checks of build_payload still run on it
        prompt if not isinstance(prompt, str) or prompt.strip() else "-",
        model=model,
        n=n,
        size=size,
        quality=quality,
        partial_images=partial_images or None,
        **params,
    )
    payload["prompt"] = prompt
    if image is not None:
        payload["image"] = image if isinstance(image, (list, tuple)) else [image]
        if size is None:
            payload.pop("size", None)  # an edit without size follows its input
    return estimate_payload(payload, prices=table)


def generation_cost(
    model: str,
    params: Mapping[str, Any],
    usage: object,
    images: int,
    *,
    prices: Mapping[str, Price] | None = None,
) -> Cost:
    """The cost of an answer: ``usage`` (text, image input and output tokens at their prices)
    when it is usable, else the estimate of ``params`` (the body sent). A model priced per
    image costs ``images`` (how many came back) times its price."""
    table = PRICES if prices is None else prices
    price = table.get(model)
    if price is None:
        return UNPRICED
    if price.unit == "image":
        return _per_image(price, images, "usage")
    counts = usage_tokens(usage)
    if counts is None:
        return estimate_payload({**params, "model": model}, prices=table)
    return _priced(price, *counts, "usage")
