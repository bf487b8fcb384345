"""Stream parsing cost per chunk, per provider, against the floor: plain line splitting + json.loads.

For each provider a recorded stream from ../shared/fixtures/recorded is used (lengthened by repeating its content
deltas so timings are stable), or a synthesised one when the fixtures are absent. Both sides do the same line
splitting; the baseline then only calls json.loads on each `data:` payload, while ours feeds an SSEEvent to the
adapter's stream parser (which decodes the JSON itself and builds events and the response) and calls finish().
Both are measured in the same run, alternating, on CPU time; the ratio is the median of per-pair ratios.
Target: ratio <= 1.5.

    .venv/bin/python benchmarks/streaming.py [--repeats 31]

Prints a table, then one JSON line: {"target": 1.5, "ratios": {provider: ratio}, "us_per_chunk": {...}}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.providers.anthropic import AnthropicProvider  # noqa: E402
from playground.providers.base import ModelCall, SSEEvent  # noqa: E402
from playground.providers.compatible import OpenAICompatibleProvider  # noqa: E402
from playground.providers.gemini import GeminiProvider  # noqa: E402
from playground.providers.openai_chat import OpenAIChatProvider  # noqa: E402
from playground.providers.openai_responses import OpenAIResponsesProvider  # noqa: E402

RECORDED = ROOT.parent / "shared" / "fixtures" / "recorded"

# provider -> (factory, recorded file, interaction index, delta event marker used to lengthen the stream)
STREAMS: dict[str, tuple[Callable[[], Any], str, int, str]] = {
    "openai-chat": (
        lambda: OpenAIChatProvider("gpt-4.1-nano"),
        "openai_chat/vercel-ai__openai-text.chunks.txt",
        0,
        '"delta":{"content"',
    ),
    "openai-responses": (
        lambda: OpenAIResponsesProvider("gpt-5.2"),
        "openai_responses/pydantic-ai__test_openai_responses_thinking_part_iter.yaml",
        0,
        '"type":"response.output_text.delta"',
    ),
    "anthropic": (
        lambda: AnthropicProvider("claude-sonnet-4-0"),
        "anthropic/pydantic-ai__test_anthropic_model_thinking_part_stream.yaml",
        0,
        '"text_delta"',
    ),
    "gemini": (
        lambda: GeminiProvider("gemini-2.5-flash"),
        "gemini/ruby_llm__chat_function_calling_gemini_gemini-2_5-flash_can_use_tools_with_multi-turn_streaming_conversations.yml",
        1,
        '"text"',
    ),
    "openai-compatible": (
        lambda: OpenAICompatibleProvider("qwen3"),
        "openai_compat_local/ruby_llm__chat_streaming_responses_gpustack_qwen3_supports_streaming_responses.yml",
        0,
        '"content"',
    ),
}
TARGET_CHUNKS = 2000


def _recorded_body(rel: str, index: int) -> bytes | None:
    path = RECORDED / rel
    if not path.exists():
        return None
    sys.path.insert(0, str(ROOT / "tests" / "providers"))
    from tests.providers.replay import load

    return load(path)[index].response_body


def _synthetic_body(provider: str) -> bytes:
    """A plausible stream for when ../shared is absent (a user's clone)."""
    if provider == "anthropic":
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word "}}
        return b"".join(b"event: content_block_delta\ndata: " + json.dumps(delta).encode() + b"\n\n" for _ in range(50))
    if provider == "gemini":
        chunk = {"candidates": [{"content": {"parts": [{"text": "word "}], "role": "model"}, "index": 0}]}
        return b"".join(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for _ in range(50))
    if provider == "openai-responses":
        delta = {
            "type": "response.output_text.delta",
            "delta": "word ",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "sequence_number": 1,
            "logprobs": [],
        }
        return b"".join(
            b"event: response.output_text.delta\ndata: " + json.dumps(delta).encode() + b"\n\n" for _ in range(50)
        )
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}],
    }
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for _ in range(50)) + b"data: [DONE]\n\n"


def _lengthen(body: bytes, marker: str) -> bytes:
    """Repeat the content-delta events (keeping the first and last events in place) to about TARGET_CHUNKS."""
    text = body.decode("utf-8").replace("\r\n", "\n")
    blocks = [b for b in text.split("\n\n") if b.strip()]
    squash = [b.replace(" ", "") for b in blocks]
    # content deltas only: not the closing chunk that carries the finish reason or the usage totals
    deltas = [
        b
        for b, sq in zip(blocks, squash, strict=True)
        if marker.replace(" ", "") in sq and '"finish_reason":"' not in sq and '"usage":{' not in sq
    ]
    if not deltas:
        return body
    first = blocks.index(deltas[0])
    rest = [b for b in blocks[first:] if b not in deltas]
    times = max(1, TARGET_CHUNKS // len(deltas))
    out = blocks[:first] + deltas * times + rest
    return ("\n\n".join(out) + "\n\n").encode("utf-8")


def _lines(body: bytes) -> list[tuple[str | None, str]]:
    """The shared framing step: (event name, data) per SSE event, by plain line splitting."""
    out: list[tuple[str | None, str]] = []
    name: str | None = None
    for line in body.decode("utf-8").split("\n"):
        if line.startswith("data:"):
            out.append((name, line[5:].strip()))
            name = None
        elif line.startswith("event:"):
            name = line[6:].strip()
    return out


def baseline(body: bytes) -> int:
    n = 0
    for _, data in _lines(body):
        if data and data != "[DONE]":
            json.loads(data)
            n += 1
    return n


def ours(body: bytes, factory: Callable[[], Any]) -> int:
    provider = factory()
    parser = provider.stream_parser(ModelCall(provider.model, []))
    n = 0
    for name, data in _lines(body):
        parser.feed(SSEEvent(data, name))
        n += 1
    parser.finish()
    return n


def _measure(base: Callable[[], Any], mine: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """(median baseline s, median ours s, median of per-pair ratios). Runs alternate and use CPU time of this
    process, so load from other processes on a shared machine skews neither side."""
    base()
    mine()
    base_times: list[float] = []
    mine_times: list[float] = []
    ratios: list[float] = []
    for _ in range(repeats):
        start = time.process_time()
        base()
        b = time.process_time() - start
        start = time.process_time()
        mine()
        m = time.process_time() - start
        base_times.append(b)
        mine_times.append(m)
        ratios.append(m / b if b else float("inf"))
    return statistics.median(base_times), statistics.median(mine_times), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()
    ratios: dict[str, float] = {}
    per_chunk: dict[str, float] = {}
    print(f"{'provider':<20}{'source':<10}{'chunks':>8}{'baseline us/chunk':>20}{'ours us/chunk':>16}{'ratio':>8}")
    for name, (factory, rel, index, marker) in STREAMS.items():
        raw = _recorded_body(rel, index)
        source = "recorded" if raw is not None else "synthetic"
        body = _lengthen(raw if raw is not None else _synthetic_body(name), marker)
        chunks = baseline(body)
        base, mine, ratio = _measure(
            lambda body=body: baseline(body), lambda body=body, factory=factory: ours(body, factory), args.repeats
        )
        ratios[name] = round(ratio, 3)
        per_chunk[name] = round(mine / chunks * 1e6, 3)
        base_us, mine_us = base / chunks * 1e6, mine / chunks * 1e6
        print(f"{name:<20}{source:<10}{chunks:>8}{base_us:>20.2f}{mine_us:>16.2f}{ratios[name]:>8.2f}")
    print(json.dumps({"target": 1.5, "ratios": ratios, "us_per_chunk": per_chunk}))


if __name__ == "__main__":
    main()
