"""Memory in the browser (Chromium): threads persist across a page reload and a server restart, working memory and
semantic recall show in the Memory tab, and threads can be renamed, switched and deleted."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.ui.conftest import AGENTS, free_port
from tests.ui.test_browser import ASSETS, WAIT, Page

pytestmark = pytest.mark.browser


def serve() -> tuple[Any, str]:
    from playground.ui.gradio_app import serve as start

    port = free_port()
    return start(AGENTS, host="127.0.0.1", port=port), f"http://127.0.0.1:{port}/"


def thread_in_url(p: Page, *, other_than: str | None = None) -> str:
    """The thread in the page's address once there is one (other than `other_than`). The address is set by a step
    chained after an event's answer has landed, so it can lag behind the chat it goes with: wait for it."""
    p.page.wait_for_function(
        "old => { const t = new URL(location.href).searchParams.get('thread'); return t !== null && t !== old; }",
        arg=other_than, timeout=WAIT,
    )
    return parse_qs(urlparse(p.page.url).query)["thread"][0]


def expect_thread_in_url(p: Page, thread: str) -> None:
    from playwright.sync_api import expect

    expect(p.page).to_have_url(re.compile(rf"[?&]thread={re.escape(thread)}(&|$)"), timeout=WAIT)


def drop_switch_events(p: Page) -> list[int]:
    """The memory switches' own events never reach the server (as when one has not landed yet when Send is
    pressed): what the next send uses can only come with the send. Returns the ids of the dropped events' triggers."""
    switches = p.page.evaluate(
        "() => window.gradio_config.components.filter(c => c.props && "
        "['pg-memory-recall', 'pg-memory-working'].includes(c.props.elem_id)).map(c => c.id)")
    assert len(switches) == 2
    dropped: list[int] = []

    def route(r: Any) -> None:
        trigger = (r.request.post_data_json or {}).get("trigger_id")
        if isinstance(trigger, int) and trigger in switches:
            dropped.append(trigger)
            r.fulfill(status=200, content_type="application/json", body='{"event_id": "dropped"}')  # never served
        else:
            r.continue_()

    p.page.route("**/queue/join*", route)
    return dropped


def memory_panel(p: Page) -> Any:
    p.tab("Memory")
    return p.page.locator("#pg-memory-panel")


def test_threads_working_memory_recall_reload_and_restart(browser: Any) -> None:
    from playwright.sync_api import expect

    server, url = serve()
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        p = Page(context, url)
        dropped = drop_switch_events(p)
        p.page.get_by_label("Working memory", exact=True).check()
        p.send("My name is Ada and I live in Oslo")  # at once: the send carries the switch as the page shows it
        expect(p.page.get_by_label("Working memory", exact=True)).to_be_checked()
        p.expect_chat("I'll remember that")
        panel = memory_panel(p)
        expect(panel).to_contain_text("Working memory after (updated)", timeout=WAIT)
        expect(panel).to_contain_text("Name: Ada")
        assert dropped, "the switch's own event was sent, and dropped"
        thread = thread_in_url(p)
        expect(p.page.get_by_label("Thread", exact=True)).to_have_value(re.compile(r"^My name is Ada"), timeout=WAIT)

        # a page reload: the same thread comes back from the store
        p.page.reload()
        p.page.get_by_role("button", name="Send", exact=True).wait_for(timeout=WAIT)
        p.expect_chat("My name is Ada and I live in Oslo")
        p.send("What is my name?")
        p.expect_chat("Your name is Ada")
        expect(memory_panel(p)).to_contain_text("History loaded: 4 message(s)", timeout=WAIT)
        assert p.foreign_requests() == []
    finally:
        context.close()
        server.close()

    # a server restart (same PLAYGROUND_HOME): the URL's thread opens with its conversation
    server, url = serve()
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        p = Page(context, f"{url}?thread={thread}")
        p.expect_chat("My name is Ada and I live in Oslo")
        p.expect_chat("Your name is Ada")

        # a new thread knows nothing by itself; semantic recall finds the fact in the other thread
        p.click("New thread")
        expect(p.chat).not_to_contain_text("My name is Ada", timeout=WAIT)
        thread_in_url(p, other_than=thread)  # the new thread's id replaces the old one's in the address
        dropped = drop_switch_events(p)
        p.page.get_by_label("Semantic recall", exact=True).check()
        p.send("What is my name?")
        p.expect_chat("Your name is Ada")
        panel = memory_panel(p)
        expect(panel).to_contain_text("Recalled (semantic recall)", timeout=WAIT)
        expect(panel).to_contain_text(thread)
        assert dropped, "the switch's own event was sent, and dropped"
        assert re.search(r"\b0\.\d{3}\b", panel.inner_text()), "a similarity score is shown"
        p.screenshot("playground-memory.png")

        # rename, switch, delete
        p.fill("Rename", "Recall test")
        p.click("Rename")
        expect(p.page.get_by_label("Thread", exact=True)).to_have_value(re.compile(r"^Recall test"), timeout=WAIT)
        p.page.get_by_label("Thread", exact=True).click()
        p.page.get_by_role("option", name=re.compile(r"^My name is Ada")).click()
        p.expect_chat("My name is Ada and I live in Oslo")
        expect_thread_in_url(p, thread)
        p.click("Delete thread")
        expect(p.chat).not_to_contain_text("My name is Ada", timeout=WAIT)
        p.page.get_by_label("Thread", exact=True).click()
        expect(p.page.get_by_role("option", name=re.compile(r"^Recall test"))).to_be_visible(timeout=WAIT)
        expect(p.page.get_by_role("option", name=re.compile(r"^My name is Ada"))).to_have_count(0)
        assert p.foreign_requests() == []
    finally:
        context.close()
        server.close()
    assert ASSETS.exists()


def test_no_load_event_replaces_the_session_the_page_filled() -> None:
    """The page's load events (the thread in the address, the session restored from the browser) fill the browser
    session's PlaygroundSession. No load event may output the session State: Gradio's own for a State made by a factory
    ran alongside them and, landing last on a loaded machine, replaced the reopened thread with an empty session (the
    next send forgot the conversation)."""
    import gradio as gr

    from playground.ui.gradio_app import build_app

    demo = build_app(AGENTS)
    loads = [fn for fn in demo.fns.values() if any(event == "load" for _, event in fn.targets)]
    assert {getattr(fn.fn, "__name__", None) for fn in loads} >= {"on_load", "on_restore"}
    assert [fn.name for fn in loads if any(isinstance(o, gr.State) for o in fn.outputs)] == []
