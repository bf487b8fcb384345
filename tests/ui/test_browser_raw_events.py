"""Real browser: a streamed answer's Raw response panel shows every SSE event as received (the finished stream keeps
them compactly as RawEvents; the panel still lists each one, in order, parsed)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.ui.test_browser import Page, open_page  # noqa: F401  (the fixture, shared)

pytestmark = pytest.mark.browser


def _whole_code(p: Page, label: str) -> str:
    """The whole text of a gr.Code panel, from CodeMirror's document (it renders only the lines near the viewport)."""
    block = p.page.locator(".block", has=p.page.get_by_text(label, exact=True)).filter(
        has=p.page.locator(".cm-content")).first
    text = block.locator(".cm-content").evaluate(
        "el => { const t = el.cmTile || el.cmView; const v = t && (t.view || (t.rootView && t.rootView.view));"
        " return v ? v.state.doc.toString() : null }")
    assert isinstance(text, str), "CodeMirror's view was not found on the panel"
    return text


def test_the_raw_response_panel_shows_every_stream_event(open_page: Any) -> None:  # noqa: F811
    p: Page = open_page()
    p.send("Tell me about tide pools")
    p.expect_chat("tide")
    p.idle()
    p.tab("Raw response")
    code = _whole_code(p, "Raw response")
    end = time.monotonic() + 20
    while '"[DONE]"' not in code and time.monotonic() < end:  # the panel fills once the turn has ended
        p.page.wait_for_timeout(300)
        code = _whole_code(p, "Raw response")
    raw = json.loads(code)
    step = raw["step 1"]
    assert step["status"] == 200 and step["stream"] is True
    events = step["body"]
    assert len(events) > 10 and events[-1] == "[DONE]"  # the terminator, as received
    chunks = events[:-1]
    assert all(isinstance(e, dict) and e["object"] == "chat.completion.chunk" for e in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    shown = " ".join(p.chat.inner_text().split())
    assert text and " ".join(text.split()) in shown  # the answer in the chat is exactly these events' text
