"""The core's own work against raw httpx2, counted in CPU instructions: repeatable to the instruction, whatever the
machine is doing (valgrind's callgrind counts instructions, not seconds).

    .venv/bin/python benchmarks/instructions.py        (needs valgrind: apt-get install -y valgrind)

Both sides talk to the same in-memory `httpx2.MockTransport` serving the bodies of benchmarks/fake_openai_server.py:
no socket and no server, so the counts are the Python work alone (the wall-clock ratios of overhead.py also carry the
kernel's and the server's time, which both sides share, so they come out lower). For each workload a child process
runs it N times and 0 times under callgrind (same start-up, same warm-up): (count(N) - count(0)) / N is one
operation. Prints a table, then one JSON line of ratios last: call, tool loop, a 200-chunk stream, and what a
1,000-message history adds (history_added: ours' added instructions over raw's).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-bench-0000000000000000"
BASE = "http://127.0.0.1:9/v1"
RUNS = {"call": 300, "tool_loop": 150, "stream": 30, "history": 60, "short": 300}
"""Operations counted per workload (a long history sets off a full garbage collection every few dozen calls: 60
of them average over it)."""


def workloads() -> dict[str, Any]:
    """name -> function; built in the child only (it imports the package)."""
    import importlib.util

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import httpx2

    from playground import Agent

    def load(name: str) -> Any:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    server, overhead = load("fake_openai_server"), load("overhead")  # the bodies served, the raw twins and the tool
    text_bytes, tool_bytes, stream_bytes = server.TEXT_BYTES, server.TOOL_BYTES, server.stream_body(200)

    def answer(request: httpx2.Request) -> httpx2.Response:
        """The fake server's answer, read off the body's bytes: parsing it would count the server's work in the
        client's instructions (a 1,000-message history is 2,000 dicts to build)."""
        body = request.content
        if re.search(rb'"stream":\s*true', body):
            return httpx2.Response(200, content=stream_bytes, headers={"content-type": "text/event-stream"})
        wants_tool = b'"tools"' in body and re.search(rb'"role":\s*"tool"', body) is None
        return httpx2.Response(200, content=tool_bytes if wants_tool else text_bytes,
                               headers={"content-type": "application/json"})

    client = httpx2.Client(transport=httpx2.MockTransport(answer))
    url = f"{BASE}/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    agent = Agent(model="openai-chat:bench", api_key=KEY, base_url=BASE, http_client=client)
    tool_agent = Agent(model="openai-chat:bench", api_key=KEY, base_url=BASE, http_client=client,
                       tools=[overhead.get_weather])
    long, short = overhead.long_history(), [{"role": "user", "content": "hi"}]
    raw_post, raw_tool_loop, raw_stream = overhead.raw_post, overhead.raw_tool_loop, overhead.raw_stream

    return {
        "raw_call": lambda: raw_post(client, url, headers, short),
        "call": lambda: agent.generate("hi").text,
        "raw_tool_loop": lambda: raw_tool_loop(client, url, headers, short),
        "tool_loop": lambda: tool_agent.generate("hi").text,
        "raw_stream": lambda: raw_stream(client, url, headers, short),
        "stream": lambda: sum(len(t) for t in agent.stream("hi").text_stream()),
        "raw_history": lambda: raw_post(client, url, headers, long),
        "history": lambda: agent.generate(long).text,
        "raw_short": lambda: raw_post(client, url, headers, short),
        "short": lambda: agent.generate(short).text,
    }


def child(name: str, n: int) -> None:
    fn = workloads()[name]
    for _ in range(5):  # warm: schemas built, pools and caches filled, in both the N and the 0 run
        fn()
    for _ in range(n):
        fn()


def count(name: str, n: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, "--child", name,
         str(n)], capture_output=True, text=True, env=env, check=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {name}: {out.stderr[-500:]}")
    return int(found.group(1))


def per_op(name: str) -> float:
    n = RUNS[name.removeprefix("raw_")]
    return (count(name, n) - count(name, 0)) / n


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    names = ["raw_call", "call", "raw_tool_loop", "tool_loop", "raw_stream", "stream",
             "raw_history", "history", "raw_short", "short"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        ops = dict(zip(names, pool.map(per_op, names), strict=True))
    out: dict[str, Any] = {}
    for label in ("call", "tool_loop", "stream"):
        out[f"{label}_instr_ratio"] = round(ops[label] / ops[f"raw_{label}"], 3)
    added, raw_added = ops["history"] - ops["short"], ops["raw_history"] - ops["raw_short"]
    out["history_added_instr_ratio"] = round(added / raw_added, 3)
    for name in names:
        out[f"{name}_instructions"] = round(ops[name])
    print()
    for key, value in out.items():
        print(f"{key:>32}: {value}")
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
