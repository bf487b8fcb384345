"""Recorded stream bodies through the transport's own decoders, cut into uneven network chunks, then our parsers.

The conformance test decodes recordings offline; this one checks that the framing the transport produces from raw
bytes (CRLF, padded JSON, JSON arrays written in pieces, no trailing [DONE]) gives each adapter the same answer.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from playground.providers.base import ModelCall, SSEEvent
from playground.providers.transport import SSEDecoder, _JSONArrayDecoder

from .conformance_cases import is_stream, provider_for, replay, stream_format
from .replay import load, needs_fixtures, recorded_files

pytestmark = [pytest.mark.fixtures, needs_fixtures]


def _stream_cases() -> list[object]:
    return [
        pytest.param(p, i, id=f"{p.parent.name}/{p.name}[{i}]")
        for p in recorded_files()
        for i, it in enumerate(load(p))
        if it.status < 300 and is_stream(p, it)
    ]


def _decode(body: bytes, fmt: str, seed: int) -> list[SSEEvent]:
    rng = random.Random(seed)
    pieces: list[bytes] = []
    pos = 0
    while pos < len(body):
        size = rng.randint(1, 97)
        pieces.append(body[pos : pos + size])
        pos += size
    events: list[SSEEvent] = []
    if fmt == "json-array":
        array = _JSONArrayDecoder()
        text = body.decode("utf-8")  # a str decoder: the transport decodes text before it
        cut = 0
        for piece in pieces:
            events += array.feed(text[cut : cut + len(piece)])
            cut += len(piece)
        return events + array.flush()
    sse = SSEDecoder()
    for piece in pieces:
        events += sse.feed(piece)
    return events + sse.flush()


@pytest.mark.parametrize(("path", "index"), _stream_cases())
def test_transport_framing_gives_the_same_answer(path: Path, index: int) -> None:
    it = load(path)[index]
    expected = replay(path, it).response
    provider = provider_for(path, it)
    for seed in (1, 2):
        parser = provider.stream_parser(ModelCall(provider.model, []))
        for ev in _decode(it.response_body, stream_format(it), seed):
            parser.feed(ev)
        got = parser.finish()
        assert got.text == expected.text
        assert [(t.tool_call_id, t.tool_name, t.args) for t in got.tool_calls] == [
            (t.tool_call_id, t.tool_name, t.args) for t in expected.tool_calls
        ]
        assert [(r.text, r.signature) for r in got.reasoning] == [(r.text, r.signature) for r in expected.reasoning]
        assert [s.url for s in got.sources] == [s.url for s in expected.sources]
        assert (got.usage, got.finish_reason) == (expected.usage, expected.finish_reason)
