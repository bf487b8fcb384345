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


# -- issue 10: run's options and clear errors ----------------------------------------------------------------------


def _local_chat_server() -> tuple[str, list[dict[str, object]], object]:
    """A Chat Completions server on 127.0.0.1 that records what it received (a real local server, no provider)."""
    import http.server
    import threading

    seen: list[dict[str, object]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            reply = {
                "id": "chatcmpl-local", "object": "chat.completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the local server."},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1", seen, server


def test_run_reaches_an_openai_compatible_server_with_base_url_and_api_key_env() -> None:
    base, seen, server = _local_chat_server()
    try:
        os.environ["MY_LOCAL_KEY"] = "sk-local-SECRET-123456"
        out = run_cli("run", "agents/weather.py", "Say hello", "--model", "openai-compatible:qwen3",
                      "--base-url", base, "--api-key-env", "MY_LOCAL_KEY")
    finally:
        os.environ.pop("MY_LOCAL_KEY", None)
        server.shutdown()  # type: ignore[attr-defined]
    assert out.returncode == 0, out.stderr
    assert "Hello from the local server." in out.stdout
    assert seen and seen[0]["path"] == "/v1/chat/completions" and seen[0]["auth"] == "Bearer sk-local-SECRET-123456"
    assert seen[0]["body"]["model"] == "qwen3"  # type: ignore[index]
    assert "sk-local-SECRET-123456" not in out.stdout + out.stderr


def test_run_api_key_env_that_is_not_set_says_so() -> None:
    out = run_cli("run", "agents/weather.py", "hi", "--api-key-env", "NOT_SET_ANYWHERE_42")
    assert out.returncode != 0 and "NOT_SET_ANYWHERE_42" in out.stderr and "not set" in out.stderr


def test_run_max_steps_zero_and_empty_model_are_errors() -> None:
    zero = run_cli("run", "agents/weather.py", "hi", "--max-steps", "0")
    assert zero.returncode != 0 and "--max-steps" in zero.stderr and "1 or more" in zero.stderr
    empty = run_cli("run", "agents/weather.py", "hi", "--model=")
    assert empty.returncode != 0 and "--model is empty" in empty.stderr
    no_model = run_cli("run", "agents/weather.py", "hi", "--model", "openai:")
    assert no_model.returncode != 0 and "names no model" in no_model.stderr


def test_an_agent_file_that_raises_on_import_prints_one_clear_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from playground import Agent\n\nagent = Agent(model='demo')\nraise RuntimeError('no config')\n")
    out = run_cli("run", str(broken), "hi")
    assert out.returncode != 0
    assert out.stderr.strip() == f"playground: {broken} failed to import (line 4): RuntimeError: no config"
    bad_syntax = tmp_path / "syntax.py"
    bad_syntax.write_text("agent = (\n")
    out = run_cli("run", str(bad_syntax), "hi")
    assert out.returncode != 0 and "Traceback" not in out.stderr and "SyntaxError" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_folder_given_as_an_agent_file_says_so() -> None:
    out = run_cli("run", "agents", "hi")
    assert out.returncode != 0 and "agents is a folder, not an agent file" in out.stderr
    assert "playground ui --agents agents" in out.stderr
