"""Issue 17 item 5, after an approval: a run resumed by Approve or Decline and then stopped (Stop) keeps a valid
conversation that includes what was finished (the approved tool's result, the decline, the steps after it), and the
next request the session sends has a tool result for every assistant tool call. Against a local OpenAI-compatible
server on 127.0.0.1 that answers from a script and can hold a request unanswered; no browser, so the notebook
playground (same PlaygroundSession) is held to it too. The server is reused by tests/ui/test_browser_failures.py,
whose item-6 panels fix (a failed stream's call shown once) is also checked here, without a browser."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from playground import Agent, tool
from playground.ui.history import is_valid_conversation
from playground.ui.render import chat_messages
from playground.ui.session import PlaygroundSession, load_agents

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"

HANG = "hang"  # a script entry: hold the request unanswered (until released or 20 s), then close


class Paced(BaseHTTPRequestHandler):
    """An OpenAI-compatible server: GET …/models lists one model; each POST gets the next entry of `script`
    (an SSE body answered with 200, a (status, headers, body) answer, a list of SSE events sent 0.2 s apart, or
    HANG); every POST's JSON body is kept in `bodies`."""

    script: ClassVar[list[bytes | str | tuple[int, dict[str, str], bytes] | list[bytes]]] = []
    bodies: ClassVar[list[dict[str, Any]]] = []
    release: ClassVar[threading.Event] = threading.Event()

    def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.endswith("/models"):
            self._send(200, "application/json", json.dumps({"data": [{"id": "paced-model"}]}).encode())
        else:
            self._send(404, "text/plain", b"no")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        cls = type(self)
        cls.bodies.append(json.loads(raw or b"{}"))
        answer = cls.script.pop(0) if cls.script else text_sse("(script ended)")
        if isinstance(answer, tuple) and answer[0] == "after":  # ("after", seconds, answer): answered that late
            cls.release.wait(answer[1])
            answer = answer[2]
        if answer == HANG:
            cls.release.wait(20)
            return
        if isinstance(answer, list):  # a slow stream: one event every 0.2 s, the body ended by closing
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for event in answer:
                if cls.release.wait(0.2):
                    return
                self.wfile.write(event)
                self.wfile.flush()
            return
        if isinstance(answer, tuple):
            status, headers, body = answer
            headers = dict(headers)
            self._send(status, headers.pop("content-type", "application/json"), body, headers)
            return
        assert isinstance(answer, bytes)
        self._send(200, "text/event-stream", answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _sse(*chunks: dict[str, Any]) -> bytes:
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


def tool_call_sse(name: str, args: dict[str, Any], call_id: str) -> bytes:
    call = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return _sse({"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})


def text_sse(text: str) -> bytes:
    return _sse({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})


def unanswered_calls(body: dict[str, Any]) -> list[str]:
    """Ids of assistant tool calls in a chat-completions request body with no tool message answering them."""
    answered = {m.get("tool_call_id") for m in body["messages"] if m["role"] == "tool"}
    return [c["id"] for m in body["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []
            if c["id"] not in answered]


@contextlib.contextmanager
def paced_server() -> Iterator[str]:
    """The base URL of a fresh Paced server on 127.0.0.1; a held request is let go when the block ends."""
    Paced.script = []
    Paced.bodies = []
    Paced.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Paced)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        Paced.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def paced() -> Iterator[str]:
    with paced_server() as url:
        yield url


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


async def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def support_on(url: str, memory: bool = False) -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS), memory=memory)  # the browser playground has memory on
    s.set_agent("support")
    assert s.configure(provider="openai-compatible", base_url=url, model="paced-model",
                       settings={"max_retries": 0}) == []
    return s


async def stop_when_held(session: PlaygroundSession, run: Any, requests: int) -> None:
    """Run `run` until the server holds request number `requests` unanswered, press Stop (from another thread, as
    Gradio does) and wait for the run to end."""
    task = asyncio.ensure_future(collect(run))
    await wait_for(lambda: len(Paced.bodies) == requests and session.waiting_text() is not None)
    threading.Thread(target=session.stop).start()
    await asyncio.wait_for(task, timeout=5)


@pytest.mark.parametrize("memory", [False, True], ids=["no memory", "memory thread"])
async def test_approve_then_stop_keeps_the_approved_result_and_the_steps_after_it(paced: str, memory: bool) -> None:
    Paced.script = [tool_call_sse("refund", {"order_id": "42", "amount": 5}, "call_refund"),
                    tool_call_sse("lookup_order", {"order_id": "42"}, "call_lookup"),
                    HANG, text_sse("Done for now.")]
    session = support_on(paced, memory)
    await collect(session.send("refund order 42 and look it up"))
    assert session.pending is not None and session.pending.tool_name == "refund"
    await stop_when_held(session, session.approve(session.pending.tool_call_id), 3)
    assert session.exchanges[-1].status == "stopped" and not session.busy and session.pending is None
    assert [m.role for m in session.messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert is_valid_conversation(session.messages)
    refund_result = json.dumps(session.messages[2].tool_results[0].result)
    assert '"refunded": 5' in refund_result  # the approved tool ran: its result stays
    assert "Mechanical keyboard" in json.dumps(session.messages[4].tool_results[0].result)  # the step after it too
    assert "stay in the conversation" in json.dumps(chat_messages(session.exchanges))  # the page says what was kept
    Paced.release.set()
    await collect(session.send("anything else?"))
    assert session.exchanges[-1].status == "done" and "Done for now." in session.exchanges[-1].view.text
    sent = Paced.bodies[-1]
    assert unanswered_calls(sent) == []
    assert [m["role"] for m in sent["messages"] if m["role"] != "system"] == [
        "user", "assistant", "tool", "assistant", "tool", "user"]


@pytest.mark.parametrize("memory", [False, True], ids=["no memory", "memory thread"])
async def test_decline_then_stop_keeps_the_decline(paced: str, memory: bool) -> None:
    Paced.script = [tool_call_sse("refund", {"order_id": "42"}, "call_refund"), HANG, text_sse("Understood.")]
    session = support_on(paced, memory)
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await stop_when_held(session, session.decline(session.pending.tool_call_id, "not eligible"), 2)
    assert session.exchanges[-1].status == "stopped"
    assert [m.role for m in session.messages] == ["user", "assistant", "tool"]
    result = str(session.messages[-1].tool_results[0].result)
    assert "declined" in result and "not eligible" in result
    Paced.release.set()
    await collect(session.send("ok"))
    assert unanswered_calls(Paced.bodies[-1]) == []
    assert "not eligible" in json.dumps(Paced.bodies[-1]["messages"])  # the model is told what was decided


async def test_stop_while_the_approved_tool_runs_answers_its_call(paced: str) -> None:
    ran: list[str] = []

    @tool(requires_approval=True)
    async def slow_refund(order_id: str) -> str:
        """Refund an order, slowly.

        Args:
            order_id: The order to refund.
        """
        ran.append(order_id)
        await asyncio.sleep(15)
        return "refunded"

    agent = Agent(name="slow", instructions="", model="demo", tools=[slow_refund])
    Paced.script = [tool_call_sse("slow_refund", {"order_id": "42"}, "call_slow"), text_sse("Next.")]
    session = PlaygroundSession({"slow": agent})
    session.set_agent("slow")
    assert session.configure(provider="openai-compatible", base_url=paced, model="paced-model",
                             settings={"max_retries": 0}) == []
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    task = asyncio.ensure_future(collect(session.approve(session.pending.tool_call_id)))
    await wait_for(lambda: ran == ["42"])
    started = time.monotonic()
    threading.Thread(target=session.stop).start()
    await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 4  # not the tool's 15 s
    assert session.exchanges[-1].status == "stopped"
    assert [m.role for m in session.messages] == ["user", "assistant", "tool"]
    assert "stopped the reply" in str(session.messages[-1].tool_results[0].result)
    await collect(session.send("and now?"))
    assert unanswered_calls(Paced.bodies[-1]) == [] and len(Paced.bodies) == 2


async def test_stop_after_a_tool_ran_in_a_thread_with_history_keeps_it_for_the_next_send(paced: str) -> None:
    """Memory on (as in the browser), a second exchange of the thread: the next send's history comes from the thread,
    so what the stopped exchange kept must be there, once."""
    Paced.script = [text_sse("Hello."), tool_call_sse("lookup_order", {"order_id": "42"}, "call_lookup"), HANG,
                    text_sse("Anything else?")]
    session = support_on(paced, memory=True)
    await collect(session.send("hi"))
    await stop_when_held(session, session.send("look up order 42"), 3)
    assert session.exchanges[-1].status == "stopped"
    Paced.release.set()
    await collect(session.send("thanks"))
    sent = Paced.bodies[-1]
    assert unanswered_calls(sent) == []
    assert [m["role"] for m in sent["messages"] if m["role"] != "system"] == [
        "user", "assistant", "user", "assistant", "tool", "user"]
    assert "Mechanical keyboard" in json.dumps(sent["messages"])


def slow_text(words: int) -> list[bytes]:
    events = [f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': f'word{i} '}}]})}\n\n".encode()
              for i in range(words)]
    return [*events, b"data: {\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"stop\"}]}\n\n",
            b"data: [DONE]\n\n"]


@pytest.mark.parametrize("memory", [False, True], ids=["no memory", "memory thread"])
async def test_approve_then_stop_mid_stream_keeps_a_valid_conversation(paced: str, memory: bool) -> None:
    """Stop while the answer after an approval streams: the stream ends at its next chunk (what arrived is kept)."""
    Paced.script = [tool_call_sse("refund", {"order_id": "42"}, "call_refund"), slow_text(40), text_sse("Next.")]
    session = support_on(paced, memory)
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    task = asyncio.ensure_future(collect(session.approve(session.pending.tool_call_id)))
    await wait_for(lambda: "word2" in session.exchanges[-1].view.text)
    threading.Thread(target=session.stop).start()
    await asyncio.wait_for(task, timeout=5)
    assert session.exchanges[-1].status == "stopped"
    assert "word39" not in session.exchanges[-1].view.text
    assert is_valid_conversation(session.messages)
    assert '"refunded": 89.0' in json.dumps([m.model_dump(mode="json") for m in session.messages])
    Paced.release.set()
    await collect(session.send("and?"))
    sent = Paced.bodies[-1]
    assert unanswered_calls(sent) == [] and len(Paced.bodies) == 3
    assert [m["role"] for m in sent["messages"] if m["role"] != "system"][:3] == ["user", "assistant", "tool"]
    assert "refunded" in json.dumps(sent["messages"]) and sent["messages"][-1]["content"] == "and?"


async def test_a_stream_that_fails_mid_way_is_one_failed_step_in_the_panels(paced: str) -> None:
    """Issue 17 items 6, 7: the call whose stream broke is shown once (not as step 1 plus a "step 2 (failed)"), with
    the request sent, its attempt and headers, the events that arrived and the error."""
    from playground.ui.render import exchange_panels

    broken = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\ndata: {not json\n\n'
    Paced.script = [(200, {"content-type": "text/event-stream"}, broken)]
    session = support_on(paced)
    await collect(session.send("hello"))
    ex = session.exchanges[-1]
    assert ex.status == "error"
    panels = exchange_panels(ex)
    request = json.loads(panels.raw_request)
    assert list(request) == ["step 1 (failed)"]
    assert request["step 1 (failed)"]["body"] == Paced.bodies[0]  # the request as it was sent
    response = json.loads(panels.raw_response)
    assert list(response) == ["step 1 (failed)"]
    answer = response["step 1 (failed)"]
    assert answer["attempts"][0]["status"] == 200 and answer["error"]["error"] == "MalformedResponseError"
    assert answer["received"]["body"][0]["choices"][0]["delta"]["content"] == "Hel"
    assert "{not json" in answer["received"]["body"]
    assert panels.steps.count("model call") == 1 and "Failed" in panels.steps


async def test_an_html_page_with_200_is_said_to_be_a_web_page(paced: str) -> None:
    Paced.script = [(200, {"content-type": "text/html; charset=utf-8"}, b"<html><body>Bad gateway</body></html>")]
    session = support_on(paced)
    await collect(session.send("hello"))
    error = session.exchanges[-1].error or ""
    assert error.startswith("MalformedResponseError (HTTP 200)")
    assert "content-type text/html (a web page" in error and "Raw response" in error
    assert session.notice == error
