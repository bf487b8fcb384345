"""The canary: plant a key and search every surface a person or a file can see for it. 0 hits.

A real local server (127.0.0.1, started here) speaks Chat Completions and echoes the key it receives back in every
place a careless server might: the answer text, a stream event, response headers (set-cookie, x-echo-key), error
bodies, an HTML error page. Surfaces searched: request previews, reprs, HTML reprs, raw request/response views,
errors (str, repr, to_dict, `.result`), logs at DEBUG, the run store on disk (a suspended run), a saved session,
exported code (Python and curl), the browser/notebook views and the notebook widgets' synced state.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, PlaygroundError, tool

CANARIES = ["sk-canary-7f3a9c1e5b2d4f6a8c0e", "k9Zq"]
"""A full-length key and a 4-character one (short keys must be masked too)."""

REPO = Path(__file__).resolve().parent.parent


class _EchoServer(http.server.BaseHTTPRequestHandler):
    """Chat Completions that echoes the credential it was sent. Paths: /v1 answers, /bad/v1 401s, /html/v1 sends HTML
    with status 200, /v1/models lists models."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"sid={key}; HttpOnly")
        self.send_header("X-Echo-Key", key)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(200, json.dumps({"data": [{"id": "m1"}, {"id": "m2"}]}).encode(), "application/json")

    def do_POST(self) -> None:
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.startswith("/bad/"):
            err = {"error": {"message": f"Incorrect API key provided: {key}", "code": "invalid_api_key"}}
            self._send(401, json.dumps(err).encode(), "application/json")
            return
        if self.path.startswith("/html/"):
            self._send(200, f"<html><body>proxy error for {key}</body></html>".encode(), "text/html")
            return
        wants_tool = any("refund" in str(m.get("content")) for m in body.get("messages", [])) and not any(
            m.get("role") == "tool" for m in body.get("messages", [])
        )
        message: dict[str, Any] = {"role": "assistant", "content": f"You sent the key {key} (echoed)."}
        finish = "stop"
        if wants_tool and body.get("tools"):
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "refund", "arguments": json.dumps({"order_id": "42", "note": key})},
                    }
                ],
            }
            finish = "tool_calls"
        base = {"id": f"chatcmpl-{key}", "created": 1, "model": "m1", "echo": {"api_key": key}}
        if body.get("stream"):
            chunks = [
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": message["content"]}}]},
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
            ]
            if message.get("tool_calls"):
                tc = message["tool_calls"][0]
                chunks[0]["choices"][0]["delta"] = {"role": "assistant", "tool_calls": [{**tc, "index": 0}]}
            data = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
            self._send(200, data, "text/event-stream")
            return
        reply = {
            **base,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        }
        self._send(200, json.dumps(reply).encode(), "application/json")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoServer)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@tool(requires_approval=True)
def refund(order_id: str, note: str = "") -> str:
    """Refund an order."""
    return f"refunded {order_id}"


def _hits(canary: str, surfaces: dict[str, str]) -> list[str]:
    return [f"{name}: ...{text[max(0, text.find(canary) - 80) : text.find(canary) + 40]}..." for name, text in
            surfaces.items() if canary in text]


def _files_under(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in root.rglob("*"):
        if path.is_file():
            out[f"file {path.relative_to(root)}"] = path.read_bytes().decode("latin-1")
    return out


def _error_surfaces(name: str, exc: BaseException) -> dict[str, str]:
    out = {f"{name} str": str(exc), f"{name} repr": repr(exc), f"{name} args": repr(exc.args)}
    to_dict = getattr(exc, "to_dict", None)
    if to_dict is not None:
        out[f"{name} to_dict"] = json.dumps(to_dict(), default=str)
    partial = getattr(exc, "result", None)
    if partial is not None:
        out[f"{name} .result json"] = partial.model_dump_json()
        out[f"{name} .result html"] = partial._repr_html_()
    return out


@pytest.mark.parametrize("canary", CANARIES)
def test_core_surfaces_never_show_the_key(
    canary: str, server: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    import os

    home = Path(os.environ["PLAYGROUND_HOME"])
    surfaces: dict[str, str] = {}
    agent = Agent(
        name="canary", model="openai-compatible:m1", api_key=canary, base_url=f"{server}/v1", tools=[refund]
    )
    surfaces["agent repr"] = repr(agent)
    gen = agent.prompt("hello")
    surfaces["generation repr"] = repr(gen)
    surfaces["generation html"] = gen._repr_html_()
    surfaces["preview"] = json.dumps(gen.request_preview())
    surfaces["preview (stream)"] = json.dumps(gen.request_preview(stream=True))
    assert "Authorization" in gen.request_preview()["headers"]  # the header is there, masked

    result = gen.generate_now()
    assert "echoed" in result.text  # the echo really happened, and was masked
    surfaces["result repr"] = repr(result)
    surfaces["result html"] = result._repr_html_()
    surfaces["result json"] = result.model_dump_json()
    for i, step in enumerate(result.steps):
        surfaces[f"step {i} html"] = step._repr_html_()
        surfaces[f"step {i} raw"] = json.dumps(
            [step.raw_request.model_dump() if step.raw_request else None,
             step.raw_response.model_dump() if step.raw_response else None], default=str
        )

    run_ = agent.stream("hello again")
    events = [repr(ev) for ev in run_]
    streamed = run_.final_result()
    assert "echoed" in streamed.text
    surfaces["stream events"] = "\n".join(events)
    surfaces["stream result json"] = streamed.model_dump_json()
    surfaces["stream result html"] = streamed._repr_html_()

    suspended = agent.generate("please refund order 42", require_tool_approval=True)
    assert suspended.finish_reason == "suspended"
    surfaces["suspended json"] = suspended.model_dump_json()
    surfaces["suspended html"] = suspended._repr_html_()

    for name, url in (("401 error", f"{server}/bad/v1"), ("html-200 error", f"{server}/html/v1")):
        failing = Agent(model="openai-compatible:m1", api_key=canary, base_url=url)
        for mode in ("generate", "stream"):
            with pytest.raises(PlaygroundError) as info:
                if mode == "generate":
                    failing.generate("hi", max_retries=0)
                else:
                    for _ in failing.stream("hi", max_retries=0):
                        pass
            surfaces.update(_error_surfaces(f"{name} ({mode})", info.value))
    down = Agent(model="openai-compatible:m1", api_key=canary, base_url=f"http://{canary}:{canary}@127.0.0.1:1/v1")
    with pytest.raises(PlaygroundError) as info:
        down.generate("hi", max_retries=0)
    surfaces.update(_error_surfaces("connection error", info.value))

    embed = agent.embed("text")
    surfaces["embed preview"] = json.dumps(embed.request_preview())

    surfaces["logs (DEBUG)"] = "\n".join(r.getMessage() for r in caplog.records)
    surfaces.update(_files_under(home))  # the run store (SQLite) and anything else written
    assert any(name.startswith("file ") for name in surfaces), "the suspended run was stored on disk"

    assert _hits(canary, surfaces) == []


def _collect(events: Any) -> list[Any]:
    async def run() -> list[Any]:
        return [ev async for ev in events]

    return asyncio.run(run())


@pytest.mark.parametrize("canary", CANARIES)
def test_session_and_notebook_surfaces_never_show_the_key(
    canary: str, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    import os

    from playground.ui.session import PlaygroundSession, load_agents

    session = PlaygroundSession(load_agents(REPO / "agents")[0])
    session.set_agent("support")
    session.set_provider("openai-compatible")
    session.set_base_url(f"{server}/v1")
    session.set_api_key(canary)
    session.set_model("m1")
    surfaces: dict[str, str] = {"session repr": repr(session)}
    surfaces["inspect"] = json.dumps(session.inspect("hello"), default=str)
    _collect(session.send("hello"))
    assert session.exchanges and session.exchanges[-1].result is not None
    assert "echoed" in session.exchanges[-1].result.text
    surfaces["models"] = json.dumps(session.list_models())
    session.set_base_url(f"{server}/bad/v1")
    session.set_api_key(canary)
    _collect(session.send("hello"))
    surfaces["notice"] = str(session.notice)
    surfaces["saved session"] = session.save()
    code = session.export_code()
    surfaces["export python"] = code["python"]
    surfaces["export curl"] = code["curl"]
    for i, ex in enumerate(session.exchanges):
        surfaces[f"exchange {i}"] = repr(ex) + json.dumps(getattr(ex, "preview", None), default=str)
        if ex.result is not None:
            surfaces[f"exchange {i} result"] = ex.result.model_dump_json()
        if ex.error is not None:
            surfaces[f"exchange {i} error"] = str(ex.error) + repr(ex.error)

    pytest.importorskip("ipywidgets")
    from playground.ui.widgets import PlaygroundWidget, chat_html, panel_html

    surfaces["chat html"] = chat_html(session.exchanges)
    for i in range(len(session.exchanges)):
        session.select(i)
        surfaces[f"panels {i}"] = json.dumps(panel_html(session))

    fresh = PlaygroundSession(load_agents(REPO / "agents")[0])
    widget = PlaygroundWidget(fresh)
    widget.session.set_provider("openai-compatible")
    widget.session.set_base_url(f"{server}/v1")
    widget.api_key_box.value = canary  # as a person types it
    assert fresh.has_api_key
    states = _widget_states()
    surfaces["widget state"] = json.dumps(states, default=str)
    surfaces["logs (DEBUG)"] = "\n".join(r.getMessage() for r in caplog.records)
    surfaces.update(_files_under(Path(os.environ["PLAYGROUND_HOME"])))

    assert _hits(canary, surfaces) == []


def _widget_states() -> list[dict[str, Any]]:
    """The synced state of every live widget: what JupyterLab saves into the .ipynb and widget embedding exports."""
    from ipywidgets.widgets import widget as widget_module

    registry: dict[str, Any] = widget_module._instances  # type: ignore[attr-defined]
    assert registry, "the widgets were found"
    return [w.get_state() for w in list(registry.values())]
