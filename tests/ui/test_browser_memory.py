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


def thread_in_url(p: Page) -> str:
    p.page.wait_for_function("new URL(location.href).searchParams.get('thread') !== null", timeout=WAIT)
    return parse_qs(urlparse(p.page.url).query)["thread"][0]


def memory_panel(p: Page) -> Any:
    p.tab("Memory")
    return p.page.locator("#pg-memory-panel")


def test_threads_working_memory_recall_reload_and_restart(browser: Any) -> None:
    from playwright.sync_api import expect

    server, url = serve()
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        p = Page(context, url)
        p.page.get_by_label("Working memory", exact=True).check()
        p.idle()
        p.send("My name is Ada and I live in Oslo")
        p.expect_chat("I'll remember that")
        panel = memory_panel(p)
        expect(panel).to_contain_text("Working memory after (updated)", timeout=WAIT)
        expect(panel).to_contain_text("Name: Ada")
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
        p.idle()
        expect(p.chat).not_to_contain_text("My name is Ada", timeout=WAIT)
        new_thread = thread_in_url(p)
        assert new_thread != thread
        p.page.get_by_label("Semantic recall", exact=True).check()
        p.idle()
        p.send("What is my name?")
        p.expect_chat("Your name is Ada")
        panel = memory_panel(p)
        expect(panel).to_contain_text("Recalled (semantic recall)", timeout=WAIT)
        expect(panel).to_contain_text(thread)
        assert re.search(r"\b0\.\d{3}\b", panel.inner_text()), "a similarity score is shown"
        p.screenshot("playground-memory.png")

        # rename, switch, delete
        p.fill("Rename", "Recall test")
        p.click("Rename")
        expect(p.page.get_by_label("Thread", exact=True)).to_have_value(re.compile(r"^Recall test"), timeout=WAIT)
        p.page.get_by_label("Thread", exact=True).click()
        p.page.get_by_role("option", name=re.compile(r"^My name is Ada")).click()
        p.expect_chat("My name is Ada and I live in Oslo")
        assert thread_in_url(p) == thread
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
