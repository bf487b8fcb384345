"""Traces and cost in the playground: PlaygroundSession's trace view (no browser), then the Traces tab, the Usage
tab's cost and the Compare columns' cost in Chromium."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from playground.ui.session import CompareColumn, PlaygroundSession, load_agents
from tests.ui.conftest import AGENTS
from tests.ui.test_browser import WAIT


async def _drain(events: Any) -> None:
    async for _ in events:
        pass


def test_session_trace_view_of_an_approved_run() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="support")
    asyncio.run(_drain(s.send("refund order 42")))
    assert s.pending is not None
    asyncio.run(_drain(s.approve(s.pending.tool_call_id)))
    view = s.trace_view()
    names = [r["name"] for r in view["rows"]]
    assert names.count("invoke_agent support") == 2  # the run and its resumption, one trace
    assert "await_approval refund" in names and "execute_tool refund" in names
    assert sum(n.startswith("chat ") for n in names) == len(s.exchanges[0].result.steps)  # type: ignore[union-attr]
    assert view["trace_id"] == s.exchanges[0].result.trace_id  # type: ignore[union-attr]
    kinds = {r["name"]: r["kind"] for r in view["rows"]}
    assert kinds["await_approval refund"] == "approval" and kinds["execute_tool refund"] == "tool"
    assert all(r["duration_ms"] >= 0 for r in view["rows"])
    assert 'class="pg-trace"' in view["html"]

    chat = next(r for r in view["rows"] if r["name"].startswith("chat "))
    details = s.trace_view(chat["span_id"])["details"]
    assert details["attributes"]["gen_ai.operation.name"] == "chat"
    assert details["request"]["url"].endswith("/chat/completions")  # the step's raw request, masked
    assert details["response"]["status"] == 200
    tool_row = next(r for r in view["rows"] if r["name"] == "execute_tool refund")
    tool = s.trace_view(tool_row["span_id"])["details"]["tool"]
    assert tool["args"]["order_id"] == "42" and "refunded" in str(tool["result"])

    assert "$0 (demo)" in s.cost_markdown()
    assert s.session_cost() is not None and s.session_cost().total == 0  # type: ignore[union-attr]


def test_compare_columns_carry_cost() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="research")
    outcomes = asyncio.run(s.compare("hello", [CompareColumn(provider="demo"), CompareColumn(provider="demo")]))
    assert all(o.cost is not None and o.cost.total == 0 for o in outcomes)


async def test_notebook_playground_shows_the_same_trace_and_cost() -> None:
    pytest.importorskip("ipywidgets")
    from playground.ui.widgets import PlaygroundWidget, compare_html

    pg = PlaygroundWidget(PlaygroundSession(load_agents(AGENTS), agent="support"))
    await pg.send("look up order 42")
    assert "Traces" in pg.main_tabs.titles  # a main-area tab, as in the browser
    traces = pg.traces_ui
    assert "invoke_agent support" in traces.waterfall.value and "execute_tool lookup_order" in traces.waterfall.value
    tool_id = next(sid for label, sid in traces.span_menu.options if "execute_tool lookup_order" in label)
    traces.span_menu.value = tool_id  # a person picks the span
    assert "gen_ai.tool.name" in traces.details.value and "lookup_order" in traces.details.value
    assert "$0 (demo)" in traces.cost.value
    assert "Cost of the session" in pg.panels["Usage"].value and "$0 (demo)" in pg.panels["Usage"].value
    outcomes = await pg.session.compare("hi", [CompareColumn(provider="demo")])
    assert "$0 (demo)" in compare_html(outcomes)


@pytest.mark.browser
def test_traces_tab_waterfall_and_span_details(browser: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    from tests.ui.test_browser import Page

    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        p = Page(context, app_url)
        p.choose("Agent", "support")
        p.send("refund order 42")
        card = p.page.locator("#pg-approval").first
        expect(card).to_be_visible(timeout=WAIT)
        p.click("Approve")
        p.expect_chat("refunded")
        expect(card).to_be_hidden(timeout=WAIT)

        # Usage tab: cost per step and for the session
        p.tab("Usage")
        usage = p.page.locator("#pg-usage, .tabitem:visible").filter(has_text="Cost of the session").first
        expect(usage).to_contain_text("$0 (demo)", timeout=WAIT)

        p.tab("Traces")
        waterfall = p.page.locator("#pg-trace")
        expect(waterfall).to_contain_text("invoke_agent support", timeout=WAIT)
        expect(waterfall).to_contain_text("await_approval refund")
        expect(waterfall).to_contain_text("execute_tool refund")
        expect(waterfall).to_contain_text("chat demo-1")
        assert waterfall.locator(".pg-span-bar").count() >= 5
        expect(p.page.locator("#pg-session-cost")).to_contain_text("$0 (demo)")

        # click a span: its attributes and what it did
        p.page.locator("#pg-trace-spans").get_by_text("execute_tool refund", exact=False).click()
        expect(p.page.locator("#pg-trace .pg-span-selected")).to_contain_text("execute_tool refund", timeout=WAIT)
        details = p.code_text("Span details: attributes, request, response")
        data = json.loads(details)
        assert data["attributes"]["gen_ai.tool.name"] == "refund"
        assert data["tool"]["args"]["order_id"] == "42"

        # or click its bar in the waterfall
        p.page.locator("#pg-trace .pg-span", has_text="await_approval refund").click()
        expect(p.page.locator("#pg-trace .pg-span-selected")).to_contain_text("await_approval", timeout=WAIT)
        data = json.loads(p.code_text("Span details: attributes, request, response"))
        assert data["attributes"]["playground.approval.decision"] == "approved"

        p.page.locator("#pg-trace-spans").get_by_text("chat demo-1", exact=False).first.click()
        expect(p.page.locator("#pg-trace .pg-span-selected")).to_contain_text("chat demo-1", timeout=WAIT)
        data = json.loads(p.code_text("Span details: attributes, request, response"))
        assert data["attributes"]["gen_ai.request.model"] == "demo-1"
        assert data["request"]["method"] == "POST" and data["response"]["status"] == 200
        p.screenshot("playground-traces.png")

        # Compare columns show cost
        p.tab("Compare")
        p.page.get_by_label("Compare message", exact=True).fill("What is a vector database?")
        p.click("Compare")
        expect(p.page.locator("#pg-compare-answer-1").first).to_contain_text("cost $0 (demo)", timeout=WAIT)
        assert p.foreign_requests() == []
    finally:
        context.close()


@pytest.mark.browser
def test_trace_refreshes_once_per_turn_not_on_every_repaint(browser: Any, app_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """While an answer streams the chat repaints dozens of times; the Traces tab is refreshed once the turn has ended
    (send, Stop, decline) or another exchange is picked, not by a server event per repaint: the page sends a handful
    of events for one answer, however long. The tab then shows that turn's (or the picked exchange's) trace."""
    from playwright.sync_api import expect

    import playground.ui.gradio_app as gradio_app
    from playground.ui.session import PlaygroundSession
    from tests.ui.test_browser import Page

    trace_views: list[str | None] = []
    repaints: list[int] = []
    view, chat = PlaygroundSession.trace_view, gradio_app._chat

    def counted_view(self: PlaygroundSession, span_id: str | None = None) -> dict[str, Any]:
        trace_views.append(span_id)
        return view(self, span_id)

    def counted_chat(s: PlaygroundSession) -> list[dict[str, Any]]:
        repaints.append(len(s.exchanges))
        return chat(s)

    monkeypatch.setattr(PlaygroundSession, "trace_view", counted_view)
    monkeypatch.setattr(gradio_app, "_chat", counted_chat)
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        p = Page(context, app_url)
        events: list[int | None] = []  # the component that triggered each event the page sent

        def sent(request: Any) -> None:
            if "/queue/join" in request.url:
                events.append((request.post_data_json or {}).get("trigger_id"))

        p.page.on("request", sent)
        chat_id = p.page.evaluate(
            "() => window.gradio_config.components.find(c => c.props && c.props.elem_id === 'pg-chat').id")
        send_id = p.page.evaluate(
            "() => window.gradio_config.components.find(c => c.props && c.props.value === 'Send').id")
        p.choose("Agent", "research")
        header = p.page.locator("#pg-trace-header")
        waterfall = p.page.locator("#pg-trace")

        def turn_ends(n: int) -> None:
            """The n-th trace refresh has run (polled on the server's side: the tab is not opened for it)."""
            for _ in range(WAIT // 100):
                if len(trace_views) >= n:
                    break
                p.page.wait_for_timeout(100)
            assert len(trace_views) == n

        def trace_shown(*, contains: str) -> str:
            """The trace id the Traces tab shows (its waterfall holding `contains`)."""
            p.tab("Traces")
            expect(waterfall).to_contain_text(contains, timeout=WAIT)
            expect(header).to_contain_text(re.compile(r"Trace [0-9a-f]{32}"), timeout=WAIT)
            trace = re.findall(r"Trace ([0-9a-f]{32})", header.inner_text())[0]
            p.tab("Chat")
            return trace

        # one streamed answer: many repaints, one trace refresh, a few events in all
        monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.06")  # > CHAT_STREAM_INTERVAL: a repaint per word
        events.clear()
        repaints.clear()
        p.send("What is a vector database?")
        p.expect_chat("According to the sources")
        p.page.wait_for_function("() => new URL(location.href).searchParams.get('thread') !== null", timeout=WAIT)
        assert len(repaints) >= 10, repaints  # the answer streamed in many repaints ...
        assert chat_id not in events, events  # ... and none of them made the page send an event
        assert events[0] == send_id and len(events) <= 5, events  # the send and the steps chained after it
        turn_ends(1)
        p.page.wait_for_timeout(500)
        assert len(trace_views) == 1  # nothing refreshes it after the turn
        monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.03")
        first = trace_shown(contains="invoke_agent research")

        # a second exchange, then the first one picked in the chat
        count = len(trace_views)  # opening the tab refreshed it too
        p.send("What is RAG?")
        p.expect_chat("What is RAG?")
        turn_ends(count + 1)
        second = trace_shown(contains="invoke_agent research")
        assert second != first
        count = len(trace_views)
        p.chat.get_by_text("What is a vector database?", exact=True).click()
        turn_ends(count + 1)
        assert trace_shown(contains="invoke_agent research") == first

        # Stop mid-answer: the stopped exchange's trace
        monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.2")
        count = len(trace_views)
        p.send("Tell me about the long history of the printing press in Europe")
        p.expect_chat("You asked")
        p.click("Stop")
        p.expect_chat("Stopped")
        turn_ends(count + 1)
        stopped = trace_shown(contains="invoke_agent research")
        assert stopped not in (first, second)
        monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.03")

        # Decline: the declined approval's wait is in the trace
        p.choose("Agent", "support")
        count = len(trace_views)
        p.send("refund order 7")
        card = p.page.locator("#pg-approval").first
        expect(card).to_be_visible(timeout=WAIT)
        turn_ends(count + 1)  # the turn paused for the approval
        p.click("Decline")
        p.expect_chat("was declined")
        turn_ends(count + 2)
        assert trace_shown(contains="await_approval refund") not in (first, second, stopped)
        assert p.foreign_requests() == []
    finally:
        context.close()
