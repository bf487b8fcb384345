"""Load recorded provider traffic from ../shared/fixtures/recorded (a helper for the provider tests, not a test).

Formats (see ../shared/fixtures/README.md):
- vcrpy YAML (`interactions:`): request `body` (a string) or `parsed_body` (pydantic-ai), response `body.string` or
  `parsed_body`; a `!!binary` body is base64, often of gzip (`Content-Encoding: gzip`).
- Ruby VCR 6 YAML (`http_interactions:`): `body: {encoding, string}`; `!binary` is base64 of the raw bytes.
- vercel-ai `*.chunks.txt` (one SSE `data:` payload per line) and `*.json` (one raw response body).

Everything here is pure reading: fixture files are never copied into the repository.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from playground.providers.base import SSEEvent

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
RECORDED = FIXTURES / "recorded"
SPECS = FIXTURES / "specs"
SKIP_REASON = "../shared/fixtures not present (a user's clone)"
FOLDERS = ("openai_chat", "openai_compat_local", "openai_responses", "anthropic", "gemini")

needs_fixtures = pytest.mark.skipif(not RECORDED.is_dir(), reason=SKIP_REASON)


@dataclass
class Interaction:
    """One recorded HTTP exchange with bodies decoded to bytes (and JSON when they are JSON)."""

    method: str
    uri: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    request_json_: Any = field(default=None, repr=False)

    @property
    def request_json(self) -> Any:
        if self.request_json_ is not None:
            return self.request_json_
        return json.loads(self.request_body) if self.request_body.strip() else None

    @property
    def response_json(self) -> Any:
        return json.loads(self.response_body)

    @property
    def is_sse(self) -> bool:
        ctype = self.response_headers.get("content-type", "")
        return "text/event-stream" in ctype or self.response_body.lstrip().startswith((b"event:", b"data:"))


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads Ruby's `!binary` tag (base64 of raw bytes)."""


def _binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return base64.b64decode("".join(str(value).split()))


_Loader.add_constructor("!binary", _binary)


def _headers(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (raw or {}).items():
        out[str(key).lower()] = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return out


def _to_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")


def _body(part: dict[str, Any], headers: dict[str, str]) -> tuple[bytes, Any]:
    """(raw bytes, parsed JSON if the recording stored it parsed)."""
    if "parsed_body" in part:
        parsed = part["parsed_body"]
        return json.dumps(parsed).encode("utf-8"), parsed
    body = part.get("body")
    if isinstance(body, dict):
        body = body.get("string", body.get("base64_string"))
    raw = _to_bytes(body)
    if raw[:2] == b"\x1f\x8b":  # gzip magic; the Content-Encoding header says the same when it was kept
        raw = gzip.decompress(raw)
    return raw, None


def _interaction(item: dict[str, Any]) -> Interaction:
    req, resp = item["request"], item["response"]
    req_headers = _headers(req.get("headers"))
    resp_headers = _headers(resp.get("headers"))
    req_body, req_json = _body(req, req_headers)
    resp_body, _ = _body(resp, resp_headers)
    status = resp.get("status", {})
    code = status.get("code", 200) if isinstance(status, dict) else int(status)
    return Interaction(
        method=str(req.get("method", "POST")).upper(),
        uri=str(req.get("uri", "")),
        request_headers=req_headers,
        request_body=req_body,
        status=int(code),
        response_headers=resp_headers,
        response_body=resp_body,
        request_json_=req_json,
    )


@cache
def load(path: Path) -> tuple[Interaction, ...]:
    """Every interaction in one recorded file, in order."""
    if path.suffix == ".txt":  # vercel-ai chunks: one SSE data payload per line
        body = b"".join(b"data: " + line + b"\n\n" for line in path.read_bytes().splitlines() if line.strip())
        return (Interaction("POST", "", {}, b"", 200, {"content-type": "text/event-stream"}, body),)
    if path.suffix == ".json":
        return (
            Interaction(
                "POST", "", {}, b"", _json_status(path), {"content-type": "application/json"}, path.read_bytes()
            ),
        )
    doc = yaml.load(path.read_text("utf-8"), Loader=_Loader)
    items = doc.get("interactions") or doc.get("http_interactions") or []
    return tuple(_interaction(item) for item in items)


def _json_status(path: Path) -> int:
    data = json.loads(path.read_bytes())
    return 400 if isinstance(data, dict) and "error" in data and "choices" not in data else 200


def recorded_files(folder: str | None = None) -> list[Path]:
    """Every recorded file (all provider folders, or one), sorted; [] when ../shared is absent."""
    if not RECORDED.is_dir():
        return []
    folders = [folder] if folder else list(FOLDERS)
    return sorted(p for f in folders for p in (RECORDED / f).iterdir() if p.is_file())


def fixture(rel: str) -> Path:
    """The path of one recorded file, e.g. fixture('anthropic/llm-anthropic__test_tools.yaml')."""
    return RECORDED / rel


# -- stream decoding (the same framing the transport decodes, done offline over recorded bytes) ---------------------


def sse_events(body: bytes) -> list[SSEEvent]:
    """Decode an SSE body into events (multi-line data joined with newlines, comments skipped)."""
    events: list[SSEEvent] = []
    text = body.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        data: list[str] = []
        name: str | None = None
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "data":
                data.append(value)
            elif key == "event":
                name = value
        if data:
            events.append(SSEEvent("\n".join(data), name if name != "message" else None))
    return events


def json_array_events(body: bytes) -> list[SSEEvent]:
    """A JSON-array stream (Gemini without alt=sse) -> one event per element."""
    return [SSEEvent(json.dumps(item)) for item in json.loads(body)]


def stream_events(body: bytes, fmt: str) -> list[SSEEvent]:
    return json_array_events(body) if fmt == "json-array" else sse_events(body)
