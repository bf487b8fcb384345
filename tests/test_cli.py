from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0"}
    return subprocess.run(
        [sys.executable, "-m", "playground.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )


def test_run_prints_answer_tool_calls_and_usage() -> None:
    out = run_cli("run", "agents/weather.py", "What's the weather in Paris?")
    assert out.returncode == 0, out.stderr
    assert '-> tool call get_weather({"city": "Paris"})' in out.stdout
    assert "get_weather returned: city Paris" in out.stdout
    assert "[stop] tokens:" in out.stdout
    assert "cost: $0 (demo)" in out.stdout  # the demo model is free; a priced model shows dollars
    trace_id = out.stdout.rsplit("trace: ", 1)[1].split()[0]  # the run's spans are kept in the local store
    from playground.store.traces import TraceStore

    names = [s["name"] for s in TraceStore(Path(os.environ["PLAYGROUND_HOME"]) / "traces.sqlite3").spans(trace_id)]
    assert "invoke_agent weather" in names and "execute_tool get_weather" in names


def test_run_json_prints_the_whole_result() -> None:
    out = run_cli("run", "agents/weather.py", "weather in Oslo", "--json")
    data = json.loads(out.stdout)
    assert data["finish_reason"] == "stop" and len(data["steps"]) == 2 and data["usage"]["total_tokens"] > 0


def test_approval_prompt_flags() -> None:
    approved = run_cli("run", "agents/support.py", "refund order 42", "--approve")
    assert "refunded" in approved.stdout and "[stop]" in approved.stdout
    declined = run_cli("run", "agents/support.py", "refund order 42", "--decline")
    assert "declined" in declined.stdout
    waiting = run_cli("run", "agents/support.py", "refund order 42")  # no terminal: it says how to resume
    assert "Waiting for approval: refund" in waiting.stdout


def test_bad_agent_file() -> None:
    out = run_cli("run", "agents/nope.py", "hi")
    assert out.returncode != 0 and "no such agent file" in out.stderr
