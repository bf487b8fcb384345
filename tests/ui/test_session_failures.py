"""PlaygroundSession against a local OpenAI-compatible server that misbehaves on purpose (issue 17 items 6, 7, 13)
and structured output on the page (item 10); no browser, so the notebook playground is held to the same."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from playground.ui.render import chat_messages, exchange_panels
from playground.ui.session import PlaygroundSession, load_agents

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"


class _Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers, body) of `script`; records the requests."""

    script: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append({"path": self.path, "authorization": self.headers.get("authorization"),
                                "body": body})
        status, headers, payload = type(self).script.pop(0) if type(self).script else (500, {}, b"{}")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Scripted.script = []
    _Scripted.seen = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def session() -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("research")
    return s


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "model": "m1",
            "choices": [{"index": 0, "delta": {"content": content} if content is not None else {},
                         "finish_reason": finish}]}


SSE = {"content-type": "text/event-stream"}


def use(session: PlaygroundSession, url: str, **settings: Any) -> None:
    assert session.configure(provider="openai-compatible", base_url=url, model="m1",
                             settings={"max_retries": 0, **settings}) == []


# -- 6. a malformed answer is an error with a clear message, an empty one is said to be empty ----------------------


async def test_a_200_that_is_html_is_a_clear_error(session: PlaygroundSession, server: str) -> None:
    _Scripted.script = [(200, {"content-type": "text/html"}, b"<html><body>Bad gateway page</body></html>")]
    use(session, server)
    await collect(session.send("hello"))
    ex = session.exchanges[-1]
    assert ex.status == "error" and ex.error
    assert "JSONDecodeError" not in ex.error.split(":")[0]  # never a bare parser error as the headline
    text = json.dumps(chat_messages(session.exchanges)[0])
    assert "Error." in text and "2 + 2" not in text


async def test_a_broken_stream_is_a_clear_error(session: PlaygroundSession, server: str) -> None:
    _Scripted.script = [(200, SSE, sse(chunk("Hel")) .replace(b"data: [DONE]", b"data: {not json"))]
    use(session, server)
    await collect(session.send("hello"))
    ex = session.exchanges[-1]
    assert ex.status == "error" and ex.error
    assert not ex.error.startswith(("JSONDecodeError", "ValueError", "KeyError"))


async def test_an_empty_answer_is_said_to_be_empty(session: PlaygroundSession, server: str) -> None:
    _Scripted.script = [(200, SSE, sse(chunk(""), chunk(None, "stop")))]
    use(session, server)
    await collect(session.send("hello"))
    text = json.dumps(chat_messages(session.exchanges)[0])
    assert "answer was empty" in text


# -- 7. a failed exchange shows the request sent, every attempt, and the error answer with its headers ------------


async def test_failed_exchange_panels_show_request_attempts_and_error(session: PlaygroundSession,
                                                                      server: str) -> None:
    busy = json.dumps({"error": {"message": "overloaded, try later", "type": "server_error"}}).encode()
    _Scripted.script = [(503, {"retry-after": "0", "content-type": "application/json"}, busy)] * 2
    use(session, server, max_retries=1)
    await collect(session.send("hello"))
    ex = session.exchanges[-1]
    assert ex.status == "error" and len(_Scripted.seen) == 2
    panels = exchange_panels(ex)
    raw_request = json.loads(panels.raw_request)
    sent = raw_request["step 1 (failed)"]
    assert sent["body"]["messages"][-1]["content"] == "hello" and len(sent["attempts"]) == 2
    raw_response = json.loads(panels.raw_response)["step 1 (failed)"]
    assert raw_response["error"]["status"] == 503 and "overloaded" in json.dumps(raw_response["error"])
    assert [a["status"] for a in raw_response["attempts"]] == [503, 503]
    assert raw_response["attempts"][0]["headers"]["retry-after"] == "0"
    assert "Attempt 2" in panels.steps and "retry-after 0" in panels.steps and "503" in panels.steps


# -- 13. the provider path as a person expects it --------------------------------------------------------------


def test_choosing_compatible_says_nothing_before_anything_is_typed(session: PlaygroundSession) -> None:
    session.set_provider("openai-compatible")
    assert session.list_models() == [] and session.notice is None
    assert "base URL" in (session.cannot_list_models() or "")


def test_a_down_server_is_said_to_be_down(session: PlaygroundSession) -> None:
    session.configure(provider="openai-compatible", base_url="http://127.0.0.1:9/v1")
    assert session.list_models() == []
    assert session.notice and "did not answer" in session.notice and "type a model name" not in session.notice


def test_a_provider_without_a_key_waits_for_one(session: PlaygroundSession) -> None:
    session.set_provider("anthropic")
    assert session.list_models() == [] and session.notice is None
    assert "API key" in (session.cannot_list_models() or "") and "Anthropic" in session.key_hint()


async def test_the_model_list_uses_the_key_typed_after_it(session: PlaygroundSession, server: str) -> None:
    models = json.dumps({"object": "list", "data": [{"id": "m-a", "object": "model"}, {"id": "m-b"}]}).encode()
    _Scripted.script = [(200, {"content-type": "application/json"}, models)] * 2
    session.configure(provider="openai-compatible", base_url=server)
    assert session.list_models() == ["m-a", "m-b"]
    assert _Scripted.seen[-1]["authorization"] is None
    session.set_api_key("sk-typed-for-this-server-123456")
    session.list_models()
    assert _Scripted.seen[-1]["authorization"] == "Bearer sk-typed-for-this-server-123456"


def test_the_ollama_host_can_be_set(session: PlaygroundSession) -> None:
    session.configure(provider="ollama", base_url="http://127.0.0.1:11999")
    preview = session.inspect("hi")
    assert preview["url"].startswith("http://127.0.0.1:11999")


# -- 10. structured output: the agent's own, or a schema typed on the page; the parsed object is shown -------------


async def test_the_agent_s_structured_output_is_honoured() -> None:
    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("extractor")
    assert '"email"' in s.output_schema_text()
    await collect(s.send("Reach Ada Lovelace at ada@example.com, she is 36"))
    result = s.exchanges[-1].result
    assert result is not None and result.object is not None
    assert result.object.email == "ada@example.com"  # the agent's own pydantic model, validated
    assert "Structured output (parsed object)" in json.dumps(chat_messages(s.exchanges)[0])


async def test_a_schema_typed_on_the_page_is_used_and_checked(session: PlaygroundSession) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
              "required": ["city", "days"]}
    assert session.configure_output_schema(json.dumps(schema)) == []
    body = session.inspect("weather in Paris for 3 days")["body"]
    assert "city" in json.dumps(body.get("response_format") or body)
    await collect(session.send("weather in Paris for 3 days"))
    result = session.exchanges[-1].result
    assert result is not None and isinstance(result.object, dict) and set(result.object) == {"city", "days"}
    assert "Structured output" in session.configure_output_schema("{not json")[0]
    assert session.configure_output_schema("") == [] and session.output_schema() is None
    assert "response_format" not in session.inspect("x")["body"]
    code = session.export_code()["python"]
    assert "structured_output" in code  # the export asks for the same object


async def test_the_export_of_a_structured_exchange_prints_the_object(tmp_path: Path) -> None:
    import subprocess
    import sys

    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("extractor")
    await collect(s.send("Reach Ada Lovelace at ada@example.com, she is 36"))
    script = tmp_path / "repro.py"
    script.write_text(s.export_code()["python"])
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PLAYGROUND_DEMO_DELAY": "0", "PYTHONPATH": str(REPO),
                              "PLAYGROUND_HOME": str(tmp_path / "home")})
    assert out.returncode == 0, out.stderr
    assert "ada@example.com" in out.stdout.splitlines()[-2]  # result.object, parsed
