"""Rich display (playground/display.py): HTML views that escape user content and never show a key, plain-text views."""

from __future__ import annotations

import html
import subprocess
import sys
from typing import Any

import httpx2
import pytest
from IPython.lib.pretty import pretty

from playground import Agent, GenerationResult, tool
from playground.display import esc, safe_headers, safe_url
from playground.result import RawRequest, RawResponse, Source, Step, Usage

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@tool(requires_approval=True)
def refund(order_id: str, amount: float | None = None) -> dict[str, object]:
    """Refund an order.

    Args:
        order_id: The order to refund.
        amount: Amount in dollars.
    """
    return {"order_id": order_id, "refunded": amount or 10.0}


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order by its id."""
    return {"order_id": order_id, "note": EVIL}


@pytest.fixture
def agent() -> Agent:
    return Agent(name="support", instructions="Be careful.", model="demo", tools=[lookup_order, refund])


def _no_raw_markup(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "onerror=alert(1)>" not in page


def test_result_html_shows_answer_reasoning_tools_usage_and_raw_json(agent: Agent) -> None:
    result = agent.generate("look up order 42")
    page = result._repr_html_()
    assert result.text and esc(result.text) in page
    assert "<details><summary>Reasoning" in page
    assert "lookup_order" in page and "Tool calls (1)" in page
    assert "<h4>Usage</h4>" in page and "step 1" in page and "step 2" in page and "total" in page
    assert f"{result.usage.total_tokens:,}" in page
    assert "Raw request, step 1" in page and "Raw response, step 2" in page
    assert "chat/completions" in page
    _no_raw_markup(page)  # the tool's result carries markup: it is escaped
    assert html.escape('<script>alert("x")</script>', quote=True) in page


def test_result_html_escapes_user_text_and_sources(agent: Agent) -> None:
    result = Agent(model="demo").generate(f"cite sources about {EVIL}")
    page = result._repr_html_()
    _no_raw_markup(page)
    assert "Sources (2)" in page and 'href="https://en.wikipedia.org/wiki/' in page
    assert 'rel="noopener noreferrer"' in page


def test_non_http_source_is_not_a_link() -> None:
    result = GenerationResult(
        text="x", finish_reason="stop",
        sources=[
            Source(url="javascript:alert(1)", title="bad"),
            Source(url="https://ok.example/a?b=1&c=2", title="ok"),
        ],
    )
    page = result._repr_html_()
    assert 'href="javascript' not in page
    assert 'href="https://ok.example/a?b=1&amp;c=2"' in page


def test_suspended_result_shows_the_pending_call_and_how_to_resume(agent: Agent) -> None:
    result = agent.generate("refund order 42")
    assert result.suspended and result.suspend_payload is not None
    page = result._repr_html_()
    assert "Suspended: waiting for approval of" in page
    assert "waiting for approval" in page and "agent.approve_tool_call" in page
    assert result.suspend_payload.tool_call_id in page
    text = pretty(result)
    assert "suspended: waiting for approval of refund" in text
    assert result.run_id in text


def test_result_plain_text_for_terminals(agent: Agent) -> None:
    first = agent.generate("refund order 42")
    assert first.suspend_payload is not None
    result = agent.approve_tool_call(run_id=first.run_id, tool_call_id=first.suspend_payload.tool_call_id)
    text = pretty(result)
    assert text.startswith("GenerationResult  finish_reason=stop")
    assert "text: " + result.text in text
    assert "tool: refund(" in text and "[approved]" in text
    assert "reasoning: " in text
    assert repr(result).startswith("GenerationResult(")  # the one-line repr is unchanged


def test_structured_object_is_shown() -> None:
    result = GenerationResult(text='{"a": 1}', object={"a": 1, "name": EVIL}, finish_reason="stop")
    page = result._repr_html_()
    assert "Structured output (result.object)" in page
    _no_raw_markup(page)
    assert "object: " in pretty(result)


def test_generation_html_is_the_inspect_view(agent: Agent) -> None:
    gen = agent.prompt(f"look up order 42 {EVIL}", temperature=0.2, max_steps=3)
    page = gen._repr_html_()
    assert "nothing sent yet" in page
    assert "<h4>Messages</h4>" in page and "Be careful." in page
    assert "<h4>Tools</h4>" in page and "lookup_order" in page and "required" in page  # refund needs approval
    assert "temperature" in page and "0.2" in page and "max_steps" in page
    assert "body (what will be sent)" in page and "&quot;model&quot;: &quot;demo-1&quot;" in page
    _no_raw_markup(page)
    text = pretty(gen)
    assert text.startswith("Generation  model=demo") and "tools: lookup_order, refund" in text


def test_generation_view_never_shows_the_api_key() -> None:
    key = "sk-test-0123456789abcdefghijklmnop"
    client = httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(500)))
    agent = Agent(model="openai:gpt-4.1-mini", api_key=key, http_client=client, instructions=f"my key is {key}")
    gen = agent.prompt("hello")
    page = gen._repr_html_()
    text = pretty(gen)
    assert key not in page and key not in text
    assert "Authorization" in page  # the header is shown, masked


def test_generation_view_survives_a_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    gen = Agent(model="openai:gpt-4.1-mini").prompt("hello")
    page = gen._repr_html_()
    assert "The request cannot be built yet" in page
    assert "cannot be built yet" in pretty(gen)


def test_raw_headers_are_masked_again_when_displayed() -> None:
    step = Step(
        index=0, text="hi", finish_reason="stop",
        raw_request=RawRequest(method="POST", url="https://x.example/v1?key=AIzaSECRETSECRET",
                               headers={"Authorization": "Bearer sk-live-abcdefghijklmnopqrstuvwxyz",
                                        "x-goog-api-key": "AIzaSECRETSECRETSECRET"}, body={"a": 1}),
        raw_response=RawResponse(status=200, headers={"set-cookie": "ok"}, body={"b": 2}),
    )
    result = GenerationResult(text="hi", finish_reason="stop", steps=[step], usage=Usage(total_tokens=3))
    for page in (result._repr_html_(), step._repr_html_()):
        assert "abcdefghijklmnopqrstuvwxyz" not in page
        assert "AIzaSECRETSECRET" not in page
    assert safe_headers({"Authorization": "Bearer sk-...wxyz"}) == {"Authorization": "Bearer sk-...wxyz"}
    assert safe_url("https://g.example/x?key=abc&alt=sse") == "https://g.example/x?key=****&alt=sse"


def test_embedding_result_summary(agent: Agent) -> None:
    result = agent.embed(["hello", EVIL]).embed_now()
    page = result._repr_html_()
    assert "EmbeddingResult" in page and "2 vectors" in page and "64 dimensions" in page
    _no_raw_markup(page)
    assert pretty(result).startswith("EmbeddingResult  model=demo-1  vectors=2  dimensions=64")


def test_usage_and_step_html(agent: Agent) -> None:
    result = agent.generate("look up order 42")
    assert "<table " in result.usage._repr_html_()
    page = result.steps[0]._repr_html_()
    assert "Step 1" in page and "lookup_order" in page


def test_error_and_warnings_are_shown() -> None:
    result = GenerationResult(finish_reason="error", error=EVIL, warnings=[EVIL])
    page: Any = result._repr_html_()
    assert "Error:" in page and "Warning:" in page
    _no_raw_markup(page)


def test_import_playground_does_not_import_ui_libraries() -> None:
    code = (
        "import sys, playground, playground.display\n"
        "bad = [m for m in ('ipywidgets', 'gradio', 'IPython') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
