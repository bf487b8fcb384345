"""Traces and cost in the playground: PlaygroundSession's trace view (no browser), then the Traces tab, the Usage
tab's cost and the Compare columns' cost in Chromium."""

from __future__ import annotations

import asyncio
import json
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
