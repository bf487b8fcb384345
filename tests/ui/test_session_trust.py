"""PlaygroundSession fixes from issue 17 (the browser playground under real use), tested without a browser so the
notebook playground, which shares the session, is held to them too: exports that reproduce the person's decisions,
keys that stay with their provider and host, valid history after Stop, save/load of a pending approval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from playground.ui.session import PlaygroundSession, load_agents

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"


@pytest.fixture
def session() -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("support")
    return s


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


def run_script(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run an exported script from a folder that is not the repository (it must work from anywhere)."""
    script = tmp_path / "repro.py"
    script.write_text(code)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return subprocess.run([sys.executable, str(script)], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PLAYGROUND_DEMO_DELAY": "0", "PYTHONPATH": str(REPO),
                               "PLAYGROUND_HOME": str(tmp_path / "home")})


# -- 1. the Python export reproduces the exchange as it happened --------------------------------------------------


async def test_export_of_a_declined_refund_declines_it(session: PlaygroundSession, tmp_path: Path) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await collect(session.decline(session.pending.tool_call_id, "not eligible"))
    code = session.export_code()["python"]
    assert "'approved': False" in code and "not eligible" in code
    assert "approve_tool_call(run_id=result.run_id, tool_call_id=call.tool_call_id)" not in code
    out = run_script(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "declined" in out.stdout and "not eligible" in out.stdout
    assert "refunded" not in out.stdout.replace("not refunded", "")


async def test_export_of_an_edited_approval_runs_the_edited_arguments(session: PlaygroundSession,
                                                                       tmp_path: Path) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await collect(session.approve(session.pending.tool_call_id, '{"order_id": "42", "amount": 20}'))
    assert "refunded" in session.exchanges[-1].view.text and "20" in session.exchanges[-1].view.text
    code = session.export_code()["python"]
    assert "'args': {'order_id': '42', 'amount': 20}" in code
    assert "agent.stream(" in code and "resume_stream(" in code  # the page streamed, so does the script
    out = run_script(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "refunded 20" in out.stdout and "89" not in out.stdout.split("refunded", 1)[1][:20]


async def test_export_of_a_pending_call_approves_nothing(session: PlaygroundSession, tmp_path: Path) -> None:
    await collect(session.send("refund order 42"))
    code = session.export_code()["python"]
    out = run_script(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "waits for approval" in out.stdout and "refunded" not in out.stdout


async def test_decisions_survive_save_and_load(session: PlaygroundSession) -> None:
    await collect(session.send("refund order 7"))
    assert session.pending is not None
    await collect(session.decline(session.pending.tool_call_id, "too late"))
    other = PlaygroundSession(load_agents(AGENTS))
    other.load(session.save())
    assert other.exchanges[-1].decisions == [{"tool": "refund", "approved": False, "reason": "too late"}]
    assert "too late" in other.export_code()["python"]


# -- 2. a key stays with its provider and host (and the operator's key with the operator's host) ---------------------

KEY = "sk-typed-SECRET-abcdefghijklmnop-1234"
ENV_KEY = "sk-operator-SECRET-zyxwvutsrqponm-9876"


def auth_header(preview: dict[str, Any]) -> str | None:
    return next((v for k, v in preview["headers"].items() if k.lower() == "authorization"), None)


def test_a_typed_key_is_cleared_when_the_host_changes(session: PlaygroundSession) -> None:
    session.configure(provider="openai-compatible", base_url="http://127.0.0.1:9001/v1", model="m1")
    session.set_api_key(KEY)
    assert auth_header(session.inspect("hi"))  # sent to the host it was typed for
    session.set_base_url("http://127.0.0.1:9002/v1")
    assert not session.has_api_key and session.key_notice and "cleared" in session.key_notice
    assert KEY not in session.key_notice and "9001" in session.key_notice
    assert auth_header(session.inspect("hi")) is None


def test_switching_provider_does_not_carry_the_field_s_key(session: PlaygroundSession) -> None:
    session.set_api_key(KEY)  # typed while the demo was chosen
    # what the browser sends on a switch: the new provider and URL with the key field's old value
    problems = session.configure(provider="openai-compatible", base_url="http://127.0.0.1:9003/v1", api_key=KEY,
                                 model="m1")
    assert problems == []
    assert not session.has_api_key
    assert auth_header(session.inspect("hi")) is None
    session.configure(api_key=KEY)  # typed again, on purpose, for this host: kept
    assert session.has_api_key and auth_header(session.inspect("hi"))


def test_the_operator_key_goes_only_to_the_operator_host(session: PlaygroundSession,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9004/v1")
    session.set_provider("openai-compatible")
    assert session.base_url == "http://127.0.0.1:9004/v1"  # the operator's server is filled in
    session.set_model("m1")
    header = auth_header(session.inspect("hi"))
    assert header and ENV_KEY not in header  # sent there, masked
    session.set_base_url("http://127.0.0.1:9005/v1")  # a visitor's own server
    assert auth_header(session.inspect("hi")) is None
    assert session.list_models() == [] and ENV_KEY not in (session.notice or "")
    session.set_api_key(KEY)  # they must type their own
    assert auth_header(session.inspect("hi"))


# -- 3. Stop cancels a request the server has not answered; a slow call says what it waits for ---------------------

import asyncio  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from playground import ToolCallDeltaEvent  # noqa: E402
from playground.messages import Message, ToolCallPart  # noqa: E402
from playground.ui.history import complete_tool_results, is_valid_conversation  # noqa: E402


class _Silent(BaseHTTPRequestHandler):
    """Answers the first request with 503 (Retry-After: 0) when asked to, then never answers: a server that hangs."""

    fail_first = False
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        type(self).seen.append(self.headers.get("authorization") or "")
        if type(self).fail_first and len(type(self).seen) == 1:
            body = b'{"error": {"message": "busy"}}'
            self.send_response(503)
            self.send_header("retry-after", "0")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        time.sleep(20)  # the server never answers in time

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def silent_server() -> Iterator[str]:
    _Silent.seen = []
    _Silent.fail_first = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def test_stop_cancels_an_unanswered_request_at_once(session: PlaygroundSession, silent_server: str) -> None:
    await collect(session.send("look up order 42"))  # a finished exchange before
    before = list(session.messages)
    assert session.configure(provider="openai-compatible", base_url=silent_server, model="m1", timeout="30",
                             settings={"max_retries": 0}) == []
    task = asyncio.ensure_future(collect(session.send("hello")))
    await wait_for(lambda: session.waiting_text() is not None and session.attempt == 1)
    text = session.waiting_text() or ""
    assert "Waiting for the server" in text and "attempt 1 of 1" in text and "timeout 30 s" in text
    refused = await collect(session.send("another"))  # Send while busy: refused with a word, never dropped
    assert refused and "still" in (session.notice or "")
    started = time.monotonic()
    threading.Thread(target=session.stop).start()  # Gradio calls Stop from another thread
    await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 3  # not the server's 20 s
    assert session.exchanges[-1].status == "stopped" and not session.busy
    assert session.messages == before  # the conversation is as it was
    session.set_provider("demo")
    await collect(session.send("2+2"))
    assert "2 + 2 = 4" in session.exchanges[-1].view.text


async def test_a_retry_shows_its_attempt(session: PlaygroundSession, silent_server: str) -> None:
    _Silent.fail_first = True
    session.configure(provider="openai-compatible", base_url=silent_server, model="m1",
                      settings={"max_retries": 1})
    task = asyncio.ensure_future(collect(session.send("hello")))
    await wait_for(lambda: session.attempt == 2)
    assert "attempt 2 of 2" in (session.waiting_text() or "")
    session.stop()
    await asyncio.wait_for(task, timeout=5)
    assert session.exchanges[-1].status == "stopped"


def test_timeout_is_set_on_the_page_and_checked(session: PlaygroundSession) -> None:
    assert session.configure(timeout="5") == [] and session.timeout == 5
    assert "Timeout" in session.configure(timeout="soon")[0]
    assert "out of range" in session.configure(timeout="0")[0]


# -- 5. after Stop, the history is a conversation every provider accepts --------------------------------------------


def test_a_tool_call_without_result_gets_one() -> None:
    call = ToolCallPart(tool_call_id="c1", tool_name="refund", args={"order_id": "42"})
    broken = [Message.user("refund order 42"), Message(role="assistant", content=[call])]
    assert not is_valid_conversation(broken)
    fixed = complete_tool_results(broken)
    assert is_valid_conversation(fixed) and fixed[-1].role == "tool"
    assert fixed[-1].tool_results[0].tool_call_id == "c1" and fixed[-1].tool_results[0].is_error


async def test_stop_while_a_tool_call_streams_leaves_a_valid_history(session: PlaygroundSession,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.05")
    events = []
    async for ev in session.send("look up order 42"):
        events.append(ev)
        if isinstance(ev, ToolCallDeltaEvent):
            session.stop()
    assert session.exchanges[-1].status == "stopped"
    assert is_valid_conversation(session.messages)
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0")
    await collect(session.send("2+2"))
    assert session.exchanges[-1].status == "done"
    assert is_valid_conversation(session.messages)


async def test_an_aborted_result_with_an_unanswered_call_leaves_a_valid_history(session: PlaygroundSession) -> None:
    """What a real provider's stream gives when Stop lands after a complete tool call and before the tool runs."""
    from playground.result import GenerationResult
    from playground.ui.session import Exchange

    call = ToolCallPart(tool_call_id="call_1", tool_name="lookup_order", args={"order_id": "42"})
    aborted = GenerationResult(finish_reason="aborted", messages=[
        Message.user("look up order 42"), Message(role="assistant", content=[call])])
    exchange = Exchange(0, "look up order 42", session.config(), [])
    session.exchanges.append(exchange)
    session._finished(exchange, aborted)
    assert exchange.status == "stopped"
    assert is_valid_conversation(session.messages)
    assert "stopped the reply" in str(session.messages[-1].tool_results[0].result)
    preview = session.inspect("2+2")  # what the next request sends: a result for every call
    wire = preview["body"]["messages"]
    assert [m["role"] for m in wire][-3:] == ["assistant", "tool", "user"]


# -- 11. save and load keep a pending approval decidable; a failed load changes nothing ------------------------------


async def test_a_pending_approval_survives_save_and_load(session: PlaygroundSession) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    data = session.save()
    assert json.loads(data)["exchanges"][0]["status"] == "suspended"  # not rewritten as done
    other = PlaygroundSession(load_agents(AGENTS))
    assert other.load(data) == []
    assert other.pending is not None and other.pending.tool_name == "refund"
    assert other.pending.args == {"order_id": "42"}
    assert other.exchanges[0].status == "suspended"
    await collect(other.approve(other.pending.tool_call_id, {"order_id": "42", "amount": 5}))
    assert other.pending is None and other.exchanges[0].status == "done"
    assert "refunded 5" in other.exchanges[0].view.text


async def test_a_damaged_file_changes_nothing_and_names_the_part(session: PlaygroundSession) -> None:
    await collect(session.send("look up order 42"))
    good = json.loads(session.save())
    other = PlaygroundSession(load_agents(AGENTS))
    await collect(other.send("2+2"))
    damaged = json.loads(json.dumps(good))
    damaged["exchanges"][0]["result"]["steps"] = "not a list"
    with pytest.raises(ValueError, match=r"exchanges\[0\]\.result") as info:
        other.load(json.dumps(damaged))
    assert "nothing was changed" in str(info.value)
    assert len(other.exchanges) == 1 and other.exchanges[0].user_text == "2+2"  # as it was
    assert other.agent_name == "support" and other.messages
    damaged = json.loads(json.dumps(good))
    damaged["messages"][0] = {"role": "nobody"}
    with pytest.raises(ValueError, match=r"messages\[0\]"):
        other.load(json.dumps(damaged))
    assert other.exchanges[0].user_text == "2+2"


class _ToolThenSilent(BaseHTTPRequestHandler):
    """Step 1: a streamed tool call (lookup_order for order 42). Step 2: never answers."""

    calls: ClassVar[int] = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).calls += 1
        if type(self).calls > 1:
            time.sleep(20)
            return
        call = {"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "lookup_order", "arguments": json.dumps({"order_id": "42"})}}
        chunks = [{"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
                  {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]
        body = ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_stop_after_a_tool_ran_keeps_its_result_in_the_conversation(session: PlaygroundSession) -> None:
    _ToolThenSilent.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ToolThenSilent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session.configure(provider="openai-compatible", base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
                          model="m1", settings={"max_retries": 0})
        task = asyncio.ensure_future(collect(session.send("look up order 42")))
        await wait_for(lambda: _ToolThenSilent.calls == 2 and session.waiting_text() is not None)
        session.stop()
        await asyncio.wait_for(task, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert session.exchanges[-1].status == "stopped"
    roles = [m.role for m in session.messages]
    assert roles == ["user", "assistant", "tool"] and is_valid_conversation(session.messages)
    assert "Mechanical keyboard" in json.dumps(session.messages[-1].tool_results[0].result)  # the tool ran: kept
