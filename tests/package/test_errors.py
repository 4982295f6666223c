"""The exception tree and the pure helpers that classify, describe and scrub errors."""

from __future__ import annotations

import pytest

import comet_widgets
from comet_widgets import _errors
from comet_widgets._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CometError,
    ConflictError,
    ContentPolicyError,
    ImageDownloadError,
    InvalidParameterError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    UnprocessableEntityError,
    advice_for,
    describe,
    error_payload,
    redact,
    request_id_from,
    status_error_class,
)


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (InvalidParameterError, CometError),
        (InvalidParameterError, ValueError),
        (MissingAPIKeyError, CometError),
        (MissingDependencyError, CometError),
        (MissingDependencyError, ImportError),
        (ClientClosedError, CometError),
        (APIConnectionError, CometError),
        (APITimeoutError, APIConnectionError),
        (APIStatusError, CometError),
        (BadRequestError, APIStatusError),
        (ContentPolicyError, BadRequestError),
        (AuthenticationError, APIStatusError),
        (PermissionDeniedError, APIStatusError),
        (NotFoundError, APIStatusError),
        (RateLimitError, APIStatusError),
        (ServerError, APIStatusError),
        (ModelUnavailableError, APIStatusError),
        (ResponseError, CometError),
        (ImageDownloadError, CometError),
    ],
)
def test_the_tree(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)


def test_no_error_is_an_httpx_error_or_an_os_error() -> None:
    import httpx

    for name in _errors.__all__:
        cls = getattr(_errors, name)
        assert not issubclass(cls, httpx.HTTPError), name
        assert not issubclass(cls, OSError), name


def test_the_docstring_draws_every_class() -> None:
    doc = _errors.__doc__ or ""
    assert "\n    CometError\n" in doc  # the root
    for name in set(_errors.__all__) - {"CometError"}:
        assert f"── {name} " in doc, name


def test_every_error_is_exported_by_the_package() -> None:
    for name in _errors.__all__:
        assert getattr(comet_widgets, name) is getattr(_errors, name)


def test_message_and_str() -> None:
    error = CometError("something broke")
    assert str(error) == "something broke"
    assert error.message == "something broke"
    assert error.args == ("something broke",)
    assert error.generation is None


def test_invalid_parameter_error_fields() -> None:
    error = InvalidParameterError("size", "800x600", "choose one of 1024x1024")
    assert (error.field, error.value, error.allowed) == (
        "size",
        "800x600",
        "choose one of 1024x1024",
    )
    assert str(error) == "size '800x600' is not allowed; choose one of 1024x1024"
    custom = InvalidParameterError("n", 5, "use 1", reason="n 5 is too many")
    assert str(custom) == "n 5 is too many; use 1"


def test_invalid_parameter_error_shortens_a_huge_value() -> None:
    error = InvalidParameterError("prompt", "x" * 10_000, "shorter")
    assert len(str(error)) < 120
    assert "..." in str(error)


def test_status_error_attributes() -> None:
    error = RateLimitError(
        "slow down", status_code=429, request_id="req_1", code="rate_limit", body={"error": {}}
    )
    assert error.status_code == 429
    assert error.request_id == "req_1"
    assert error.code == "rate_limit"
    assert error.body == {"error": {}}
    assert error.retry_after is None


def test_connection_error_remembers_whether_it_was_sent() -> None:
    assert APIConnectionError("x").sent is True
    assert APITimeoutError("x", sent=False).sent is False


def test_download_error_fields() -> None:
    error = ImageDownloadError("gone", url="http://cdn/x.png", status_code=404)
    assert (error.url, error.status_code) == ("http://cdn/x.png", 404)
    assert ResponseError("bad", request_id="r").request_id == "r"


# -- status -> class ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message", "cls"),
    [
        (400, None, "invalid size", BadRequestError),
        (400, "content_policy_violation", "refused", ContentPolicyError),
        (400, "moderation_blocked", "refused", ContentPolicyError),
        (401, None, "bad key", AuthenticationError),
        (403, None, "forbidden", PermissionDeniedError),
        (404, None, "no such route", NotFoundError),
        (404, None, "The model `x` does not exist: model not found", ModelUnavailableError),
        (429, None, "slow down", RateLimitError),
        (500, None, "boom", ServerError),
        (500, "invalid_request", "bad request", ServerError),
        (502, None, "bad gateway", ServerError),
        (503, None, "overloaded", ServerError),
        (
            503,
            None,
            "No available channel for model dall-e-3 under group default (request id: r1)",
            ModelUnavailableError,
        ),
        (503, "model_not_found", "", ModelUnavailableError),
        (400, "model_not_found", "", ModelUnavailableError),
        (504, None, "timeout", ServerError),
        (524, None, "a timeout occurred", ServerError),
        (418, None, "teapot", APIStatusError),
        (409, None, "conflict", ConflictError),
        (422, None, "unprocessable", UnprocessableEntityError),
    ],
)
def test_status_error_class(
    status: int, code: str | None, message: str, cls: type[APIStatusError]
) -> None:
    found = status_error_class(status, code, message)
    if cls is ModelUnavailableError:  # also the class of its status
        assert issubclass(found, ModelUnavailableError)
        assert issubclass(found, status_error_class(status, None, "")), found.__mro__
    else:
        assert found is cls


@pytest.mark.parametrize(
    ("status", "code", "message", "http_class"),
    [
        (404, None, "The model `x` does not exist: model not found", NotFoundError),
        (404, "model_not_found", "no such model", NotFoundError),
        (400, "model_not_found", "", BadRequestError),
        (503, None, "No available channel for model x", ServerError),
    ],
)
def test_model_unavailable_is_one_type_and_still_its_status_class(
    status: int, code: str | None, message: str, http_class: type[APIStatusError]
) -> None:
    cls = status_error_class(status, code, message)
    error = cls("HTTP x", status_code=status, code=code)
    assert isinstance(error, ModelUnavailableError)
    assert isinstance(error, http_class)
    with pytest.raises(http_class):  # `except NotFoundError:` still catches a 404 one
        raise error
    assert "another model" in advice_for(cls)


def test_no_available_channel_is_not_model_unavailable_on_a_500() -> None:
    # only 404/503 or an explicit code mean "this model is not routable"
    assert status_error_class(500, None, "no available channel") is ServerError


# -- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "header", "expected"),
    [
        ("bad (request id: 2026031212345678)", None, "2026031212345678"),
        ("bad (Request ID:abc-DEF_9)", None, "abc-DEF_9"),
        ("bad (request id: inside) more text", None, "inside"),
        ("bad (request id: from-message)", "req_header", "req_header"),
        ("no id here", "req_header", "req_header"),
        ("no id here", None, None),
        ("no id here", "", None),
        ("(request id: )", None, None),
    ],
)
def test_request_id_from(message: str, header: str | None, expected: str | None) -> None:
    assert request_id_from(message, header) == expected


# -- advice ------------------------------------------------------------------------------------


def test_every_status_class_has_specific_advice() -> None:
    fallback = advice_for(APIStatusError)
    assert fallback == "see the message above"
    classes = [
        BadRequestError,
        ContentPolicyError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        RateLimitError,
        ServerError,
        ModelUnavailableError,
    ]
    advice = [advice_for(cls) for cls in classes]
    assert fallback not in advice
    assert len(set(advice)) == len(classes)  # the subclasses do not inherit the parent's advice


def test_advice_names_the_fix() -> None:
    assert "COMETAPI_KEY" in advice_for(AuthenticationError)
    assert "/v1" in advice_for(NotFoundError)
    assert "another model" in advice_for(ModelUnavailableError)
    assert "rephrase" in advice_for(ContentPolicyError)


def test_advice_for_a_user_subclass_follows_the_mro() -> None:
    class MyRateLimit(RateLimitError):
        pass

    assert advice_for(MyRateLimit) == advice_for(RateLimitError)


# -- redaction ---------------------------------------------------------------------------------


def test_redact_removes_the_secret_everywhere() -> None:
    text = "key sk-secret-123 echoed: 'sk-secret-123'"
    assert redact(text, "sk-secret-123") == "key [redacted] echoed: '[redacted]'"


def test_redact_removes_bearer_tokens_even_without_the_secret() -> None:
    text = 'headers: {"Authorization": "Bearer sk-other-456", "x": 1} bearer abc'
    scrubbed = redact(text, None)
    assert "sk-other-456" not in scrubbed
    assert "abc" not in scrubbed
    assert scrubbed.count("[redacted]") == 2
    assert '"x": 1' in scrubbed


def test_redact_leaves_clean_text_alone() -> None:
    assert redact("nothing to hide", "sk-1") == "nothing to hide"
    assert redact("nothing to hide", "") == "nothing to hide"


B64 = ("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/" * 4000).encode()  # ~190 KB of base64
KEY = "sk-secret-123"
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in KEY).encode()  # how a JSON encoder may write it


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Literal, found through a byte base64 never uses ('-'), anywhere in a base64 body.
        (KEY.encode() + B64 + KEY.encode(), b"[redacted]" + B64 + b"[redacted]"),
        # More '-' than are looked at one by one before the key: the whole-body search.
        (b"-" * 200 + B64 + KEY.encode(), b"-" * 200 + B64 + b"[redacted]"),
        # Escaped beside other escapes (a newline, a quote, a percent) in a base64 body.
        (
            b'{"p": "a\\n\\"q\\" 100%", "k": "' + ESCAPED + b'", "b": "' + B64 + b'"}',
            b'{"p": "a\\n\\"q\\" 100%", "k": "[redacted]", "b": "' + B64 + b'"}',
        ),
        # Partly escaped, partly percent-encoded, after more escapes than are looked at one by one.
        (
            b"\\u00e9" * 100 + b"\\u0073k-secret%2d123",
            b"\\u00e9" * 100 + b"[redacted]",
        ),
    ],
)
def test_redact_bytes_finds_the_key_in_a_large_body(body: bytes, expected: bytes) -> None:
    assert _errors.redact_bytes(body, KEY) == expected


def test_redact_bytes_leaves_a_body_without_the_key_alone() -> None:
    body = b'{"p": "caf\\u00e9 \\u0026 sk-other", "b": "' + B64 + b'"}'
    assert _errors.redact_bytes(body, KEY) == body
    assert _errors.redact_bytes(body, "abc123") == body.replace(b"abc123", b"[redacted]")


# -- describe / error_payload ------------------------------------------------------------------


def test_describe() -> None:
    assert describe(MissingAPIKeyError("set COMETAPI_KEY")) == "set COMETAPI_KEY"
    assert describe(KeyError("x")) == "KeyError: 'x'"


def test_error_payload_is_json_safe_and_skips_missing_fields() -> None:
    import json

    error = ContentPolicyError(
        "refused", status_code=400, request_id="r1", code="moderation_blocked", body=None
    )
    payload = error_payload(error)
    assert payload == {
        "type": "ContentPolicyError",
        "message": "refused",
        "status_code": 400,
        "request_id": "r1",
        "code": "moderation_blocked",
    }
    json.dumps(payload)
    assert error_payload(InvalidParameterError("n", 3, "use 1"))["field"] == "n"
    assert error_payload(RuntimeError("x")) == {
        "type": "RuntimeError",
        "message": "RuntimeError: x",
    }


def test_one_wording_for_a_batch_that_partly_failed() -> None:
    # BatchError and the panel's status both use it; items count from 0, people from 1.
    from types import SimpleNamespace

    failed = [
        SimpleNamespace(index=2, error={"message": "HTTP 400: bad prompt"}),
        SimpleNamespace(index=4, error=None),
    ]
    assert _errors.failure_summary(failed, 5) == (
        "2 of 5 items failed; first: item 2: HTTP 400: bad prompt"
    )
    assert _errors.failure_summary(failed[1:], 1, noun="prompt", start=1) == (
        "1 of 1 prompt failed; first: prompt 5: ?"
    )
