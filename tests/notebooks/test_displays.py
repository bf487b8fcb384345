"""Issue 20.5: rich displays work where they are seen. A StreamRun shows live while it streams and the result after;
an error raised in a cell shows status, provider, what went wrong and the raw request and response (not a traceback
through our internals); a failed stream keeps its partial result; the HTML reads without the <style> block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from playground import Agent, ProviderError
from playground.display import plain_structure, stream_html
from tests.notebooks.test_notebooks import KERNEL, kernel_env  # noqa: F401 - the kernel fixture

REPO = Path(__file__).resolve().parents[2]


class _Recording(NotebookClient):
    """Records the kind of every message the kernel sent (to see a display being updated while a run streams)."""

    seen: list[str]

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.seen.append(msg["msg_type"])
        return super().process_message(msg, cell, cell_index)


def _run(cells: list[str], *, tags: dict[int, list[str]] | None = None) -> tuple[nbformat.NotebookNode, list[str]]:
    nb = new_notebook()
    for i, source in enumerate(cells):
        cell = new_code_cell(source)
        if tags and i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    client = _Recording(nb, kernel_name=KERNEL, timeout=120, resources={"metadata": {"path": str(REPO)}})
    client.seen = []
    client.execute()
    return nb, client.seen


def test_a_stream_run_displays_live_then_the_result(kernel_env: None) -> None:  # noqa: F811
    nb, seen = _run([
        "import os\nos.environ['PLAYGROUND_DEMO_DELAY'] = '0.02'\n"
        "from playground import Agent\nagent = Agent(model='demo')",
        "run = agent.stream('What is retrieval-augmented generation? Cite sources.')\nrun",
        "print(repr(run))",
    ])
    assert seen.count("update_display_data") >= 2  # repainted while it streamed
    (out,) = nb.cells[1].outputs
    html = out["data"]["text/html"]
    assert "GenerationResult" in html and "streaming" not in html  # the result at the end
    assert "Retrieval-augmented generation" in html or "retrieval" in html.lower()
    assert "GenerationResult  finish_reason=stop" in out["data"]["text/plain"]
    assert "StreamRun(finished" in nb.cells[2].outputs[0]["text"]


def test_an_error_raised_in_a_cell_shows_what_went_wrong_not_our_internals(kernel_env: None) -> None:  # noqa: F811
    nb, _ = _run([
        "from playground import Agent\nagent = Agent(model='demo')",
        "agent.generate('/error 401')",
        "try:\n    agent.generate('/error 429')\nexcept Exception as exc:\n    error = exc\nerror",
    ], tags={1: ["raises-exception"]})
    (err,) = nb.cells[1].outputs
    assert err["output_type"] == "error" and err["ename"] == "AuthenticationError"
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err["traceback"]))
    assert "AuthenticationError (HTTP 401, provider demo" in text
    assert "What went wrong: Simulated error 401 requested by the message." in text
    assert "Request: POST http://demo.playground.local/v1/chat/completions" in text
    assert "simulated_error" in text  # the raw response body
    assert "playground/loop.py" not in text and "drivers.py" not in text and len(text.splitlines()) < 15
    html = nb.cells[2].outputs[0]["data"]["text/html"]
    assert "RateLimitError" in html and "HTTP 429" in html and "a retry may help" in html
    assert "Raw request (key masked)" in html and "Raw response" in html


def _failing_stream_agent() -> Agent:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "The first half "}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "of the answer"}}]},
        {"error": {"message": "The server is overloaded.", "type": "server_error", "code": "overloaded"}},
    ]
    import json

    body = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return Agent(model="openai-compatible:m", base_url="http://127.0.0.1:9/v1",
                 async_http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
                 http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


def test_a_failed_stream_keeps_its_partial_result_in_its_display() -> None:
    run = _failing_stream_agent().stream("hi")
    with pytest.raises(ProviderError) as caught:
        for _ in run:
            pass
    html = stream_html(run)
    assert "failed" in html and "The first half of the answer" in html
    assert "The server is overloaded." in html and "Kept before the failure" in html
    assert caught.value.result.text == "The first half of the answer"  # type: ignore[attr-defined]
    assert "The first half of the answer" in caught.value._repr_html_()
    lines = "\n".join(caught.value._render_traceback_())
    assert "The server is overloaded." in lines and "28 characters of text" in lines


def test_html_reads_without_the_style_block() -> None:
    body = plain_structure('<div class="pg-head"><span class="pg-title">T</span><span class="pg-badge">stop</span>'
                           '</div><table><tr><th>a</th><td class="pg-num">1</td></tr></table>')
    assert "T</span><span class=\"pg-sep\" style=\"color:#8c959f\"> · </span><span" in body
    assert '<table border="1"' in body and "text-align:right" in body and "text-align:left" in body
