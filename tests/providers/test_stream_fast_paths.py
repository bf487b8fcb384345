"""The stream hot path's shortcuts give exactly what the plain reading gives.

- `SSEDecoder.feed_items` (one split per network read) yields the events a line-by-line WHATWG reading yields, for
  any cut of the bytes into reads, CRLF, comments, named events, multi-line data and empty events.
- The Chat Completions parser's learnt chunk shape (text read by slicing) gives the same events and the same answer
  as parsing every chunk, for texts that need escaping, unicode, control characters, chunks whose shape changes
  mid-stream (another id, a finish reason, usage, a second choice) and tails that vary per chunk.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from playground.providers.base import ModelCall, SSEEvent
from playground.providers.compatible import OpenAICompatibleProvider
from playground.providers.openai_chat import OpenAIChatProvider
from playground.providers.transport import FIRST_READ_SPLIT, SSEDecoder, iter_stream_batches


def _reference_sse(body: bytes) -> list[tuple[str, str | None, str | None]]:
    """Events by the WHATWG rules, line by line (the slow, obvious reading)."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    out: list[tuple[str, str | None, str | None]] = []
    data: list[str] = []
    event: str | None = None
    ident: str | None = None
    for line in text.split("\n"):
        if line == "":
            if data:
                out.append(("\n".join(data), event, ident))
            data, event, ident = [], None, None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value or None
        elif name == "id":
            ident = value
    return out


def _items(body: bytes, seed: int) -> list[tuple[str, str | None, str | None]]:
    rng = random.Random(seed)
    dec = SSEDecoder()
    got: list[Any] = []
    pos = 0
    while pos < len(body):
        size = rng.choice([1, 2, 3, 7, 50, 400, 5000])
        got += dec.feed_items(body[pos : pos + size])
        pos += size
    got += dec.flush_items()
    return [(i, None, None) if isinstance(i, str) else (i.data, i.event, i.id) for i in got]


PLAIN = b"".join(b'data: {"n":%d,"t":"caf\xc3\xa9 \xe2\x98\x83"}\n\n' % i for i in range(300)) + b"data: [DONE]\n\n"
MIXED = (
    b"data: one\n\n: a comment\n\nevent: named\ndata: two\n\ndata: three\ndata: lines\n\nid: 7\ndata: four\n\n"
    b"data: \n\ndata:five\n\n\n\ndata: six\r\n\r\ndata: seven\rdata: more\r\r"
)


@pytest.mark.parametrize("body", [PLAIN, MIXED, PLAIN[:5000] + MIXED + PLAIN[5000:]], ids=["plain", "mixed", "both"])
@pytest.mark.parametrize("seed", range(6))
def test_decoder_items_are_the_events_line_by_line(body: bytes, seed: int) -> None:
    assert _items(body, seed) == _reference_sse(body)


class _Reads:
    """A streaming response whose body arrives in the given network reads."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads

    def iter_bytes(self) -> Any:
        return iter(self.reads)


@pytest.mark.parametrize("body", [PLAIN, MIXED, PLAIN[:5000] + MIXED + PLAIN[5000:], MIXED * 200],
                         ids=["plain", "mixed", "both", "crlf-heavy"])
@pytest.mark.parametrize("first", [10, FIRST_READ_SPLIT, FIRST_READ_SPLIT + 1, 30000])
def test_a_long_first_read_gives_its_first_events_first_and_every_event_once(body: bytes, first: int) -> None:
    """A server that writes the whole answer at once: the events of the read's first 2 KB come out as a batch of
    their own (the first token does not wait for the rest to be split), then the rest; the events are unchanged."""
    reads = [body[:first], body[first:]]
    batches = list(iter_stream_batches(_Reads(reads), "sse"))  # type: ignore[arg-type]
    got = [(i, None, None) if isinstance(i, str) else (i.data, i.event, i.id) for b in batches for i in b]
    assert got == _reference_sse(body)
    whole = SSEDecoder().feed_items(reads[0])
    if len(reads[0]) > FIRST_READ_SPLIT:
        assert 0 < len(batches[0]) < len(whole)  # the first events went out on their own
        assert batches[0] + batches[1] == whole
    elif whole:
        assert batches[0] == whole  # a short first read is decoded as it came


def test_decoder_plain_events_come_out_as_their_data() -> None:
    items = SSEDecoder().feed_items(b'data: {"a":1}\n\ndata: [DONE]\n\n')
    assert items == ['{"a":1}', "[DONE]"]
    named = SSEDecoder().feed_items(b"event: ping\ndata: {}\n\n")
    assert named == [SSEEvent("{}", "ping")]
    assert SSEDecoder().feed(b"data: x\n\n") == [SSEEvent("x")]  # the SSEEvent view stays for other callers


def _chunk(text: str | None, *, cid: str = "c1", finish: str | None = None, usage: Any = None, pad: str = "") -> str:
    delta: dict[str, Any] = {} if text is None else {"content": text}
    body: dict[str, Any] = {
        "id": cid, "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    if pad:
        body["obfuscation"] = pad  # OpenAI pads every chunk with a random field: the tail differs each time
    return json.dumps(body, ensure_ascii=False, separators=(",", ":") if not pad else (", ", ": "))


TEXTS = ["Hello", " wor", "ld", 'say "hi"', "back\\slash", "new\nline", "tab\there", "café ☃ 日本", "\u2028", "",
         "}]}", '","x":"', "emoji 😀", "\x7f", "a" * 300, "probe-x"]


def _stream(rng: random.Random, varying: bool) -> list[str]:
    first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    out = [json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [first]})]
    for i in range(120):
        text = rng.choice(TEXTS)
        pad = "".join(rng.choice("abcXYZ") for _ in range(rng.randint(1, 9))) if varying else ""
        if i == 60:
            out.append(_chunk(text, cid="c2"))  # the shape changes mid-stream
        elif i == 70:
            out.append(json.dumps({"id": "c1", "choices": [{"index": 1, "delta": {"content": "other choice"}}]}))
        else:
            out.append(_chunk(text, pad=pad))
    out.append(_chunk(None, finish="stop"))
    out.append(_chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 120, "total_tokens": 123}))
    out.append("[DONE]")
    return out


def _read(provider: Any, datas: list[str], *, shape: bool) -> tuple[list[Any], Any, int]:
    """(events, answer, chunks that were JSON-parsed)."""
    from playground.providers import openai_chat

    parser = provider.stream_parser(ModelCall("m", []))
    if not shape:
        parser._learning = 0  # never learns a shape: every chunk parsed
    parsed = 0
    real = openai_chat.from_json

    def counting(data: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal parsed
        parsed += 1
        return real(data, *args, **kwargs)

    events: list[Any] = []
    openai_chat.from_json = counting  # type: ignore[assignment]
    try:
        for d in datas:
            events += parser.feed_data(d)
    finally:
        openai_chat.from_json = real
    return events, parser.finish(), parsed


@pytest.mark.parametrize("provider_cls", [OpenAIChatProvider, OpenAICompatibleProvider])
@pytest.mark.parametrize("varying", [False, True], ids=["same-tail", "varying-tail"])
@pytest.mark.parametrize("seed", range(4))
def test_learnt_chunk_shape_reads_what_parsing_reads(provider_cls: type, varying: bool, seed: int) -> None:
    provider = provider_cls("m", api_key="k", base_url="http://x")
    datas = _stream(random.Random(seed), varying)
    fast_events, fast, fast_parsed = _read(provider, datas, shape=True)
    slow_events, slow, slow_parsed = _read(provider, datas, shape=False)
    assert fast_events == slow_events
    assert [p.model_dump() for p in fast.parts] == [p.model_dump() for p in slow.parts]
    assert (fast.usage, fast.finish_reason, fast.id, fast.model_id) == (
        slow.usage, slow.finish_reason, slow.id, slow.model_id
    )
    assert slow_parsed == len(datas) - 1  # every chunk but [DONE]
    if varying:
        assert fast_parsed >= slow_parsed  # a tail that changes every chunk: never taken
    else:
        assert fast_parsed < slow_parsed / 2  # most text chunks were read by slicing


def test_a_shape_is_learnt_only_where_it_is_proven() -> None:
    parser = OpenAIChatProvider("m", api_key="k").stream_parser(ModelCall("m", []))

    def chunk(text: str, model: str = "next", delta: str = "") -> str:
        choice = '{"index":0,"delta":{' + delta + '"content":"' + text + '"},"finish_reason":null}'
        return '{"id":"c","choices":[' + choice + '],"model":"' + model + '"}'

    datas = [
        chunk("first", "m0"),
        chunk("next"),  # the text is also the model, after it: the last literal is not the content
        chunk("more"),  # read by slicing
        chunk("more", model="other"),  # another tail: parsed
        chunk("b", "m0", '"content":"a",'),  # duplicate keys, the last one wins (learning is spent by now)
    ]
    events: list[Any] = [e for d in datas for e in parser.feed_data(d)]
    assert [e.text for e in events] == ["first", "next", "more", "more", "b"]
    assert parser._head is not None and parser._head.endswith('"delta":{"content":"')
    assert parser.finish().text == "firstnextmoremoreb"

    dup = OpenAIChatProvider("m", api_key="k").stream_parser(ModelCall("m", []))
    first = chunk("x", "m0")
    dups = (first, chunk("b", "m0", '"content":"a",'), chunk("c", "m0", '"content":"a",'))
    texts = [getattr(e, "text", None) for d in dups for e in dup.feed_data(d)]
    assert texts == ["x", "b", "c"]  # a shape learnt on duplicate keys still reads the value that wins


@pytest.mark.parametrize("seed", range(5))
def test_json_array_stream_gives_every_element_whatever_the_cuts(seed: int) -> None:
    from playground.providers.transport import _JSONArrayDecoder

    quoted = '"quoted" ,['
    elements = [{"n": i, "text": "a [b], c" * (i % 3), "list": [1, [2, "]"]], "s": quoted} for i in range(120)]
    text = "[" + ",\r\n".join(json.dumps(e) for e in elements) + "]"
    rng = random.Random(seed)
    dec = _JSONArrayDecoder()
    got: list[Any] = []
    pos = 0
    while pos < len(text):
        size = rng.choice([1, 5, 40, 700, 9000])
        got += dec.feed_items(text[pos : pos + size])
        pos += size
    got += dec.flush_items()
    assert [json.loads(g) for g in got] == elements
    cut = _JSONArrayDecoder()
    assert cut.feed_items('[{"a": 1}, {"b": ') == ['{"a": 1}']
    assert cut.flush_items() == ['{"b":']  # a cut-off element is handed on (the parser reports it), not dropped


def _anthropic_stream(rng: random.Random) -> list[str]:
    def delta(index: int, text: str) -> str:
        event = {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}
        return json.dumps(event, ensure_ascii=False)  # Anthropic sends UTF-8 as is

    out = [
        json.dumps({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                    "model": "claude-x", "content": [], "stop_reason": None,
                    "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        json.dumps({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
        json.dumps({"type": "content_block_stop", "index": 0}),
    ]
    for index in (1, 3):
        out.append(json.dumps({"type": "content_block_start", "index": index,
                               "content_block": {"type": "text", "text": ""}}))
        out += [delta(index, rng.choice(TEXTS)) for _ in range(60)]
        out.append(json.dumps({"type": "content_block_stop", "index": index}))
    out.append(json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 120}}))
    out.append(json.dumps({"type": "message_stop"}))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_anthropic_learnt_shape_reads_what_parsing_reads(seed: int) -> None:
    from playground.providers import anthropic
    from playground.providers.anthropic import AnthropicProvider

    datas = _anthropic_stream(random.Random(seed))
    results = []
    for learn in (True, False):
        parser = AnthropicProvider("claude-x", api_key="k").stream_parser(ModelCall("claude-x", []))
        if not learn:
            parser._learning = 0
        parsed = 0
        real = anthropic.loads_json

        def counting(data: Any, real: Any = real) -> Any:
            nonlocal parsed
            parsed += 1
            return real(data)

        anthropic.loads_json = counting  # type: ignore[assignment]
        try:
            events = [e for d in datas for e in parser.feed_data(d)]
        finally:
            anthropic.loads_json = real
        results.append((events, parser.finish(), parsed))
    (fast_events, fast, fast_parsed), (slow_events, slow, slow_parsed) = results
    assert fast_events == slow_events
    assert [p.model_dump() for p in fast.parts] == [p.model_dump() for p in slow.parts]
    assert (fast.usage, fast.finish_reason, fast.id) == (slow.usage, slow.finish_reason, slow.id)
    assert slow_parsed == len(datas)
    assert fast_parsed < slow_parsed * 0.6  # most text deltas, in both text blocks, were read by slicing
