"""Overhead of the agent core against raw httpx2, measured in the same run against the same local server.

    .venv/bin/python benchmarks/overhead.py

Prints a table, then one JSON line: call_ratio, tool_loop_ratio, stream_ratio, concurrent_ratio (ours over raw
httpx2, medians) and import_ms (a fresh interpreter importing `playground`). Targets: ratios <= 1.3, stream <= 1.5,
concurrent <= 1.2, import <= 300 ms.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground import Agent, tool  # noqa: E402

REPEATS = 7
CALLS = 60
KEY = "sk-bench-0000000000000000"


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Weather for a city."""
    return {"city": city, "temp_c": 20}


TOOL_SPEC = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def median_time(fn: Callable[[], Any], n: int) -> float:
    """Median over REPEATS rounds of the mean time of n calls."""
    fn()
    rounds = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - t0) / n)
    return statistics.median(rounds)


def main() -> None:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "fake_openai_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}/v1"
        results = run(base)
    finally:
        server.terminate()
        server.wait()
    results["import_ms"] = import_ms()
    print()
    for key, value in results.items():
        print(f"{key:>20}: {value}")
    print(json.dumps(results))


def run(base: str) -> dict[str, Any]:
    url = f"{base}/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    client = httpx2.Client()
    agent = Agent(model="openai-chat:bench", api_key=KEY, base_url=base, http_client=client)
    tool_agent = Agent(model="openai-chat:bench", api_key=KEY, base_url=base, http_client=client, tools=[get_weather])
    messages = [{"role": "user", "content": "hi"}]

    def raw_call() -> str:
        r = client.post(url, headers=headers, content=json.dumps({"model": "bench", "messages": messages}))
        return json.loads(r.content)["choices"][0]["message"]["content"]

    def our_call() -> str:
        return agent.generate("hi").text

    def raw_tool_loop() -> str:
        body: dict[str, Any] = {"model": "bench", "messages": list(messages), "tools": TOOL_SPEC}
        first = json.loads(client.post(url, headers=headers, content=json.dumps(body)).content)
        msg = first["choices"][0]["message"]
        call = msg["tool_calls"][0]
        out = get_weather.fn(**json.loads(call["function"]["arguments"]))  # type: ignore[misc]
        body["messages"] += [msg, {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(out)}]
        second = json.loads(client.post(url, headers=headers, content=json.dumps(body)).content)
        return second["choices"][0]["message"]["content"]

    def our_tool_loop() -> str:
        return tool_agent.generate("hi").text

    stream_headers = {**headers, "x-chunks": "200"}
    stream_agent = Agent(
        model="openai-chat:bench", api_key=KEY, base_url=base, http_client=client, headers={"x-chunks": "200"}
    )

    def raw_stream() -> int:
        n = 0
        body = json.dumps({"model": "bench", "messages": messages, "stream": True})
        with client.stream("POST", url, headers=stream_headers, content=body) as r:
            for line in r.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    chunk = json.loads(line[6:])
                    for c in chunk["choices"]:
                        n += len(c["delta"].get("content") or "")
        return n

    def our_stream() -> int:
        run_ = stream_agent.stream("hi")
        n = sum(len(t) for t in run_.text_stream())
        return n

    assert raw_call() == our_call()
    assert raw_tool_loop() == our_tool_loop()
    assert raw_stream() == our_stream()

    out: dict[str, Any] = {}
    for name, raw, ours, n in (
        ("call", raw_call, our_call, CALLS),
        ("tool_loop", raw_tool_loop, our_tool_loop, CALLS // 2),
        ("stream", raw_stream, our_stream, 10),
    ):
        # interleave raw/ours rounds so machine noise hits both alike
        t_raw, t_ours = [], []
        for _ in range(3):
            t_raw.append(median_time(raw, n))
            t_ours.append(median_time(ours, n))
        r, o = statistics.median(t_raw), statistics.median(t_ours)
        out[f"{name}_raw_ms"] = round(r * 1000, 3)
        out[f"{name}_ours_ms"] = round(o * 1000, 3)
        out[f"{name}_ratio"] = round(o / r, 3)
    out.update(asyncio.run(concurrent(base, url, headers)))
    out.update(traced_call(raw_call, our_call))  # last: it sets the global tracer provider
    return {k: out[k] for k in sorted(out, key=lambda k: (not k.endswith("ratio"), k))}


async def concurrent(base: str, url: str, headers: dict[str, str]) -> dict[str, Any]:
    limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx2.AsyncClient(limits=limits) as aclient:
        agent = Agent(model="openai-chat:bench", api_key=KEY, base_url=base, http_client=aclient)
        body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]})

        async def raw_one() -> str:
            r = await aclient.post(url, headers=headers, content=body)
            return json.loads(r.content)["choices"][0]["message"]["content"]

        async def ours_one() -> str:
            return (await agent.generate_async("hi")).text

        async def batch(fn: Callable[[], Any]) -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*(fn() for _ in range(200)))
            return time.perf_counter() - t0

        await batch(raw_one)
        await batch(ours_one)
        t_raw, t_ours = [], []
        for _ in range(REPEATS):
            t_raw.append(await batch(raw_one))
            t_ours.append(await batch(ours_one))
    r, o = statistics.median(t_raw), statistics.median(t_ours)
    return {
        "concurrent_raw_ms": round(r * 1000, 2),
        "concurrent_ours_ms": round(o * 1000, 2),
        "concurrent_ratio": round(o / r, 3),
    }


def traced_call(raw: Callable[[], Any], ours: Callable[[], Any]) -> dict[str, Any]:
    """The call row again with tracing on: an OpenTelemetry SDK tracer provider set globally, spans batched to an
    exporter that drops them (what a user's set-up costs us, not the collector). Raw, untraced and traced rounds are
    interleaved so machine noise hits all three alike; tracing_added = traced / untraced - 1 (target <= 0.10)."""
    from collections.abc import Sequence

    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
    agent = next(c.cell_contents for c in (ours.__closure__ or ()) if isinstance(c.cell_contents, Agent))
    assert agent.generate("hi").trace_id is not None  # the traced row really records spans

    def untraced() -> str:
        return agent.generate("hi", telemetry={"is_enabled": False}).text

    t_raw, t_plain, t_traced = [], [], []
    for _ in range(3):
        t_raw.append(median_time(raw, CALLS))
        t_plain.append(median_time(untraced, CALLS))
        t_traced.append(median_time(ours, CALLS))
    r, p, o = statistics.median(t_raw), statistics.median(t_plain), statistics.median(t_traced)
    provider.shutdown()
    return {
        "call_traced_ms": round(o * 1000, 3),
        "call_traced_ratio": round(o / r, 3),
        "call_untraced_same_window_ratio": round(p / r, 3),
        "tracing_added": round(o / p - 1, 3),
    }


def import_ms() -> float:
    code = "import time; t=time.perf_counter(); import playground; print((time.perf_counter()-t)*1000)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        for _ in range(5)
    ]
    return round(statistics.median(times), 1)


if __name__ == "__main__":
    main()
