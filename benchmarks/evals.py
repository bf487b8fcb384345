"""Evaluation throughput: cases per second at concurrency 1, 4 and 16, on the demo model (in-process) and against the
local fake OpenAI server (real HTTP on 127.0.0.1), with the raw httpx2 floor for the same requests alongside.

    .venv/bin/python benchmarks/evals.py          # prints a table, then one JSON line of figures and ratios

Ratios, not timings, are the figures to compare across machines: `vs_raw` is our cases/s over raw httpx2's at the
same concurrency (1.0 = no overhead beyond the HTTP calls themselves).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYGROUND_DEMO_DELAY", "0")
os.environ.setdefault("PLAYGROUND_HOME", tempfile.mkdtemp(prefix="playground-bench-"))

import httpx2  # noqa: E402

from playground import Agent, InMemoryRunStore, scorers  # noqa: E402
from playground.evals import Dataset, run_eval  # noqa: E402

CASES = 64
KEY = "sk-bench-0000"


def dataset() -> Dataset:
    return Dataset.from_list([{"input": f"What is {i} + {i + 1}?", "expected": str(2 * i + 1)} for i in range(CASES)])


def cases_per_second(agent: Agent, concurrency: int) -> float:
    data = dataset()
    run_eval(agent, Dataset.from_list(["warm up"]), [scorers.contains("x")], concurrency=1)
    t0 = time.perf_counter()
    report = run_eval(agent, data, [scorers.contains()], concurrency=concurrency, keep_results=False)
    elapsed = time.perf_counter() - t0
    assert len(report.results) == CASES and not any(r.error for r in report.results), report.results[0].error
    return CASES / elapsed


def raw_per_second(url: str, concurrency: int) -> float:
    client = httpx2.Client(limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100))
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def one(i: int) -> None:
        body = {"model": "bench", "messages": [{"role": "user", "content": f"What is {i} + {i + 1}?"}]}
        r = client.post(url, headers=headers, content=json.dumps(body))
        json.loads(r.content)["choices"][0]["message"]["content"]

    one(0)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(CASES)))
    return CASES / (time.perf_counter() - t0)


def main() -> None:
    server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "fake_openai_server.py")],
                              stdout=subprocess.PIPE, text=True)
    results: dict[str, float] = {}
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        demo = Agent(name="bench", model="demo", storage=InMemoryRunStore())
        client = httpx2.Client(limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100))
        fake = Agent(name="bench", model="openai-chat:bench", api_key=KEY, base_url=base, http_client=client,
                     storage=InMemoryRunStore())
        for c in (1, 4, 16):
            results[f"demo_c{c}_cases_per_s"] = round(cases_per_second(demo, c), 1)
            ours = cases_per_second(fake, c)
            raw = raw_per_second(f"{base}/chat/completions", c)
            results[f"fake_c{c}_cases_per_s"] = round(ours, 1)
            results[f"raw_c{c}_requests_per_s"] = round(raw, 1)
            results[f"fake_c{c}_vs_raw"] = round(ours / raw, 3)
    finally:
        server.terminate()
        server.wait()
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
