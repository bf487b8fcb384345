"""What a provider's answer must be, checked once for every provider (the drivers call these around the parsers).

- A 2xx body that is not what the protocol promises (HTML, truncated or empty JSON, a JSON array, a garbage stream
  line, an empty stream) raises `MalformedResponseError` naming the provider, the status and what was wrong; never a
  bare ValueError / AttributeError from deep inside a parser.
- A stream that ends without a finish marker gets `finish_reason="unknown"` and a warning that it was cut short.
- A key a server echoes back (in a body, a stream event or provider metadata) is masked in the parsed answer too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import MalformedResponseError
from ..masking import contains_secret, mask_text, mask_value
from .base import ModelResponse, loads_json
from .transport import malformed_body_error

PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, AttributeError, KeyError, IndexError)
"""What a parser raises on input it did not expect; turned into MalformedResponseError at the seam."""

CUT_SHORT_WARNING = (
    "The stream ended without a finish marker: the answer may have been cut short (finish_reason is 'unknown')."
)


def _snippet(data: bytes | str, secrets: Iterable[str], limit: int = 120) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = mask_text(text.strip(), secrets)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_body(body: bytes | str, exc: BaseException | None, secrets: Iterable[str]) -> str:
    """What is wrong with a body a parser choked on, in words a person can act on."""
    raw = body.encode() if isinstance(body, str) else body
    stripped = raw.strip()
    if not stripped:
        return "the body is empty"
    if stripped[:1] == b"<":
        return f"HTML or XML instead of JSON ({_snippet(stripped, secrets)!r})"
    try:
        value = loads_json(stripped)
    except ValueError as err:
        start = _snippet(stripped, secrets, 60)
        return f"truncated or invalid JSON ({_snippet(str(err), secrets, 80)}; body starts {start!r})"
    if isinstance(value, list):
        return f"a JSON array where a JSON object belongs ({_snippet(stripped, secrets, 60)!r})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__} where a JSON object belongs ({_snippet(stripped, secrets, 60)!r})"
    if exc is not None:
        return f"a JSON object of an unexpected shape ({type(exc).__name__}: {_snippet(str(exc), secrets, 80)})"
    return "a JSON object with none of the fields of a model answer"


def malformed(
    provider: str, status: int, what: str, secrets: Iterable[str], raw_body: Any = None
) -> MalformedResponseError:
    return malformed_body_error(provider, status, what, secrets, raw_body)


def _is_empty(resp: ModelResponse) -> bool:
    return (
        not resp.parts
        and resp.raw_finish_reason is None
        and resp.finish_reason == "unknown"
        and resp.id is None
        and resp.usage.total_tokens == 0
        and resp.usage.input_tokens == 0
    )


def _body_value(body: bytes) -> Any:
    try:
        return loads_json(body)
    except ValueError:
        text = body.decode("utf-8", "replace")
        return text if len(text) <= 2000 else text[:2000] + "..."


def parse_whole(
    provider: Any, status: int, headers: Mapping[str, str], body: bytes, secrets: list[str]
) -> ModelResponse:
    """`provider.parse_response` with every surprise turned into MalformedResponseError, echoed keys masked."""
    name = getattr(provider, "name", "provider")
    try:
        resp = provider.parse_response(status, headers, body)
    except PARSE_ERRORS as exc:
        raise malformed(name, status, describe_body(body, exc, secrets), secrets, _body_value(body)) from None
    if not isinstance(resp, ModelResponse) or _is_empty(resp):
        raise malformed(name, status, describe_body(body, None, secrets), secrets, _body_value(body))
    if secrets and contains_secret(body, secrets):
        mask_response(resp, secrets)
    return resp


def malformed_event(provider: Any, status: int, data: str | None, exc: BaseException, secrets: list[str]) -> Any:
    """A stream event the parser could not read."""
    name = getattr(provider, "name", "provider")
    if data is None:
        what = f"the stream could not be read ({type(exc).__name__}: {_snippet(str(exc), secrets, 80)})"
    else:
        what = f"a stream event is not valid: {describe_body(data, exc, secrets)}"
    return malformed(name, status, what, secrets, mask_text(data, secrets) if data is not None else None)


def finish_stream(
    provider: Any,
    parser: Any,
    status: int,
    raw_events: list[str],
    secrets: list[str],
    *,
    aborted: bool,
    echoed: bool | None = None,
) -> ModelResponse:
    """`parser.finish()` and the end-of-stream checks: an empty stream is an error, no finish marker a warning."""
    name = getattr(provider, "name", "provider")
    try:
        resp: ModelResponse = parser.finish()
    except PARSE_ERRORS as exc:
        raise malformed(name, status, f"the stream did not add up ({type(exc).__name__}: {exc})", secrets) from None
    if aborted:
        return resp
    if not raw_events:
        raise malformed(name, status, "the stream is empty (no events)", secrets)
    if _is_empty(resp):
        shown = [mask_text(e, secrets) for e in raw_events[:5]]
        raise malformed(name, status, "the stream carried no model output", secrets, shown)
    if resp.raw_finish_reason is None and not getattr(parser, "done", False):
        resp.finish_reason = "unknown"
        if CUT_SHORT_WARNING not in resp.warnings:
            resp.warnings.append(CUT_SHORT_WARNING)
    if echoed is None:
        echoed = bool(secrets) and any(contains_secret(e, secrets) for e in raw_events)
    if echoed:
        mask_response(resp, secrets)
    return resp


def partial_response(parser: Any) -> ModelResponse:
    """What a stream produced before it failed (text, reasoning, tool calls), for the error's `.result`."""
    try:
        resp: ModelResponse = parser.finish()
    except Exception:  # the parser's state may be half-built: keep what the accumulator holds
        acc = getattr(parser, "acc", None)
        resp = acc.response if acc is not None else ModelResponse()
    resp.finish_reason = "error"
    return resp


def mask_response(resp: ModelResponse, secrets: list[str]) -> ModelResponse:
    """Mask a key echoed back by the server in text, reasoning, tool arguments and provider metadata."""
    for part in resp.parts:
        for attr in ("text", "signature", "url", "title"):
            value = getattr(part, attr, None)
            if isinstance(value, str):
                setattr(part, attr, mask_text(value, secrets))
        if hasattr(part, "args"):
            part.args = mask_value(part.args, secrets)
        if getattr(part, "provider_metadata", None):
            part.provider_metadata = mask_value(part.provider_metadata, secrets)
    resp.provider_metadata = mask_value(resp.provider_metadata, secrets)
    resp.id = mask_text(resp.id, secrets) if resp.id else resp.id
    return resp


def mask_events(events: list[Any], secrets: list[str]) -> list[Any]:
    """Stream events decoded from a stream event that echoed a key: the key masked in their text and arguments."""
    for ev in events:
        for attr in ("text", "args_delta", "url", "title"):
            value = getattr(ev, attr, None)
            if isinstance(value, str):
                setattr(ev, attr, mask_text(value, secrets))
        if isinstance(getattr(ev, "args", None), dict):
            ev.args = mask_value(ev.args, secrets)
    return events


def parse_embed(provider: Any, status: int, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> Any:
    """`provider.parse_embed_response` with a body it cannot read turned into MalformedResponseError."""
    name = getattr(provider, "name", "provider")
    try:
        parsed = provider.parse_embed_response(status, headers, body)
    except PARSE_ERRORS as exc:
        raise malformed(name, status, describe_body(body, exc, secrets), secrets, _body_value(body)) from None
    if not getattr(parsed, "vectors", None):
        raise malformed(name, status, "an embeddings answer with no vectors", secrets, _body_value(body))
    return parsed
