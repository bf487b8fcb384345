"""Issue 17 items 5, 6 and 7 in a real browser (Debian's Chromium + Playwright), against a local OpenAI-compatible
server on 127.0.0.1 that answers from a script: Stop while tools run (also after Approve or Decline) leaves a
conversation the next request carries with a result for every tool call; a malformed answer (an HTML page with 200,
a broken stream, an empty stream) is a clear error or said to be empty; a failed exchange's Raw request, Raw response
and Steps panels show the request sent, every attempt and the error answer with its headers (Retry-After included).
Each test would have caught its item."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.test_browser import WAIT, Page
from tests.ui.test_session_resume_stop import HANG, Paced, paced_server, text_sse, tool_call_sse, unanswered_calls

pytestmark = pytest.mark.browser


@pytest.fixture
def server() -> Iterator[str]:
    """The base URL of a fresh scripted server (tests/ui/test_session_resume_stop.py); a held request is let go
    when the test ends."""
    with paced_server() as url:
        yield url


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Page]:
    """A new person at 1280 x 900; at the end, no request of the page went to a host other than 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = Page(context, app_url)
    try:
        yield p
        assert p.foreign_requests() == [], "the page reached a host other than 127.0.0.1"
    finally:
        context.close()


def expect() -> Any:
    from playwright.sync_api import expect as e

    return e


def use_server(p: Page, url: str, agent: str, max_retries: str | None = None) -> None:
    """Choose `agent` and the OpenAI-compatible server at `url` on the page (and Max retries, when given)."""
    p.choose("Agent", agent)
    p.choose("Provider", "OpenAI-compatible server")
    p.fill("Base URL", url)
    model = p.page.get_by_label("Model", exact=True)
    model.fill("paced-model")
    model.press("Enter")
    p.idle()
    if max_retries is not None:
        p.page.get_by_text("Model settings", exact=True).click()
        p.fill("Max retries", max_retries)


def wait_until(predicate: Any, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.1)


def panel_when(p: Page, label: str, text: str, seconds: float = 20.0) -> str:
    """The text of the gr.Code panel `label` once it contains `text` (or as it is after `seconds`)."""
    p.tab(label)
    end = time.monotonic() + seconds
    code = p.code_text(label)
    while text not in code and time.monotonic() < end:
        p.page.wait_for_timeout(300)
        code = p.code_text(label)
    return code


def stop_while_held(p: Page, requests: int) -> None:
    """Press Stop once the server holds request number `requests` unanswered and the page says it waits."""
    wait_until(lambda: len(Paced.bodies) == requests)
    p.expect_chat("Waiting for the server")
    started = time.monotonic()
    p.click("Stop")
    p.expect_chat("Stopped", timeout=10_000)
    assert time.monotonic() - started < 8  # not the server's 20 s
    Paced.release.set()


# -- 5. Stop while tools run leaves a conversation every provider accepts ---------------------------------------------


def test_stop_after_a_tool_ran_then_send_again_sends_a_valid_conversation(page: Page, server: str) -> None:
    Paced.script = [text_sse("Hello, how can I help?"),
                    tool_call_sse("lookup_order", {"order_id": "42"}, "call_lookup"),
                    HANG, text_sse("Anything else about order 42?")]
    use_server(page, server, "support")
    page.send("hi")  # an exchange before: the page's history then comes from its memory thread
    page.expect_chat("Hello, how can I help?")
    page.idle()
    page.send("look up order 42")
    stop_while_held(page, 3)
    page.send("thanks")
    page.expect_chat("Anything else about order 42?")
    sent = Paced.bodies[-1]
    assert len(Paced.bodies) == 4 and unanswered_calls(sent) == []  # a real provider would answer 400 otherwise
    roles = [m["role"] for m in sent["messages"] if m["role"] != "system"]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "user"]
    assert "Mechanical keyboard" in json.dumps(sent["messages"])  # the tool that ran: its result was kept


@pytest.mark.parametrize(("decide", "kept"), [("Approve", "refunded"), ("Decline", "not eligible")])
def test_stop_after_a_decision_then_send_again_sends_a_valid_conversation(page: Page, server: str, decide: str,
                                                                          kept: str) -> None:
    Paced.script = [tool_call_sse("refund", {"order_id": "42"}, "call_refund"), HANG, text_sse("Noted, thanks.")]
    use_server(page, server, "support")
    page.send("refund order 42")
    expect()(page.page.locator("#pg-approval").first).to_be_visible(timeout=WAIT)
    if decide == "Decline":
        page.page.get_by_label("Reason", exact=True).fill("not eligible")
    page.click(decide)
    stop_while_held(page, 2)
    page.expect_chat("stay in the conversation")  # the page says what was kept
    box = page.page.get_by_label("Message", exact=True)
    box.fill("what happened?")
    page.click("Inspect")  # what the page will send, before it is sent
    page.page.wait_for_function("document.querySelector('#pg-panels .cm-line') !== null", timeout=WAIT)
    preview = json.loads(panel_when(page, "Inspect", "what happened?"))["body"]
    assert unanswered_calls(preview) == [] and kept in json.dumps(preview["messages"])
    page.click("Send")
    page.expect_chat("Noted, thanks.")
    sent = Paced.bodies[-1]
    assert len(Paced.bodies) == 3 and unanswered_calls(sent) == []
    assert [m["role"] for m in sent["messages"] if m["role"] != "system"] == ["user", "assistant", "tool", "user"]
    assert kept in json.dumps(sent["messages"])  # the decision's result, not the conversation before it


# -- 6. a malformed answer is a clear error, an empty one is said to be empty ----------------------------------------


def _chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "model": "paced-model",
            "choices": [{"index": 0, "delta": {"content": content} if content is not None else {},
                         "finish_reason": finish}]}


def _events(*chunks: dict[str, Any], end: str = "data: [DONE]\n\n") -> bytes:
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + end).encode()


SSE = {"content-type": "text/event-stream"}
MALFORMED = {
    "html page with 200": ((200, {"content-type": "text/html"}, b"<html><body><h1>Bad gateway</h1></body></html>"),
                           "content-type text/html (a web page"),
    "broken stream": ((200, SSE, _events(_chunk("Hel"), end="data: {not json\n\n")),
                      "a stream event is not valid"),
    "empty stream": ((200, SSE, _events(_chunk(""), _chunk(None, "stop"))), "answer was empty"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_answer_is_shown_as_a_clear_error(page: Page, server: str, case: str) -> None:
    answer, said = MALFORMED[case]
    Paced.script = [answer]
    use_server(page, server, "research", max_retries="0")
    page.send("hello")
    page.expect_chat(said)
    text = page.chat.inner_text()
    if case != "empty stream":
        assert "Error." in text and "HTTP 200" in text and "openai-compatible" in text
        assert "body is not what the protocol promises" in text
        assert "conversation is kept" in text
    for bare in ("JSONDecodeError", "Traceback", "KeyError", "Expecting value"):
        assert bare not in text  # never a bare parser error
    assert len(Paced.bodies) == 1
    if case == "empty stream":
        return
    # the panels show the one call that was made, once: what came back (headers, events that arrived) and the error
    failed = json.loads(panel_when(page, "Raw response", "step 1 (failed)"))
    assert list(failed) == ["step 1 (failed)"]  # not also a "step 1" beside a "step 2 (failed)"
    answer = failed["step 1 (failed)"]
    assert answer["error"]["error"] == "MalformedResponseError" and answer["error"]["status"] == 200
    assert answer["attempts"][0]["headers"]["content-type"] == answer_headers(case)
    if case == "broken stream":
        assert "{not json" in answer["received"]["body"]  # the event the parser could not read
    page.tab("Steps")
    steps = page.page.locator("#pg-steps")
    expect()(steps).to_contain_text("Failed", timeout=WAIT)
    assert steps.inner_text().count("model call") == 1


def answer_headers(case: str) -> str:
    return MALFORMED[case][0][1]["content-type"]


# -- 7. a failed exchange shows the request sent, every attempt and the error answer with its headers ---------------


def test_a_failed_exchange_shows_request_attempts_and_error_with_headers(page: Page, server: str) -> None:
    limited = json.dumps({"error": {"message": "rate limited, slow down", "type": "rate_limit_error"}}).encode()
    broken = json.dumps({"error": {"message": "internal boom", "type": "server_error"}}).encode()
    Paced.script = [(429, {"retry-after": "1"}, limited), (500, {"x-request-id": "req-500-abc"}, broken)]
    use_server(page, server, "research", max_retries="1")
    page.send("hello there")
    page.expect_chat("internal boom")
    assert len(Paced.bodies) == 2  # the retry after Retry-After, then the failure
    raw_request = json.loads(panel_when(page, "Raw request", "step 1 (failed)"))["step 1 (failed)"]
    assert raw_request["method"] == "POST" and raw_request["url"] == f"{server}/chat/completions"
    assert raw_request["body"]["messages"][-1] == {"role": "user", "content": "hello there"}
    assert raw_request["body"] == Paced.bodies[0]  # the request that was sent, as sent
    assert [a["attempt"] for a in raw_request["attempts"]] == [1, 2]
    raw_response = json.loads(panel_when(page, "Raw response", "step 1 (failed)"))["step 1 (failed)"]
    assert raw_response["error"]["status"] == 500 and raw_response["error"]["body"]["error"]["message"] == \
        "internal boom"
    attempts = raw_response["attempts"]
    assert [a["status"] for a in attempts] == [429, 500]
    assert attempts[0]["headers"]["retry-after"] == "1"
    assert attempts[1]["headers"]["x-request-id"] == "req-500-abc"
    page.tab("Steps")
    steps = page.page.locator("#pg-steps")
    expect()(steps).to_contain_text("Attempt 2", timeout=WAIT)
    text = steps.inner_text()
    assert "Attempt 1" in text and "429" in text and "retry-after 1" in text
    assert "500" in text and "internal boom" in text
