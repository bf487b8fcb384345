"""Issue 17 in a real browser (Debian's Chromium + Playwright): the playground under real use, at 1280 and 420 px,
against the demo model and local OpenAI-compatible servers that misbehave on purpose. Each test would have caught its
item: exports that reproduce decisions, keys that stay with their host, Stop that stops, Enter that sends, no live HTML,
one Clear, structured output, save/load of a pending approval, problems where the person looks, the provider path,
and the smaller items (max steps, dropped settings, reload)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.ui.test_browser import KEY, WAIT, Page

pytestmark = pytest.mark.browser


class _Recorder(BaseHTTPRequestHandler):
    """An OpenAI-compatible server on 127.0.0.1 that records each request's path and Authorization header. It lists
    one model, answers chat with a short stream, hangs when told to, and serves /probe.png (to catch fetches)."""

    seen: ClassVar[list[tuple[str, str | None]]] = []
    hang = False

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("authorization")))
        if self.path.endswith("/models"):
            self._send(200, "application/json", json.dumps({"data": [{"id": "rec-model"}]}).encode())
        else:
            self._send(404, "text/plain", b"no")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.path, self.headers.get("authorization")))
        if type(self).hang:
            time.sleep(25)
            return
        chunks = [{"choices": [{"index": 0, "delta": {"content": "recorded answer"}, "finish_reason": None}]},
                  {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self._send(200, "text/event-stream", body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    _Recorder.hang = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page_at(browser: Any, app_url: str) -> Iterator[Any]:
    """page_at(width, height) -> Page: a new browser context (a new person) at that viewport."""
    contexts: list[Any] = []
    pages: list[Page] = []

    def make(width: int = 1280, height: int = 900) -> Page:
        contexts.append(browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True))
        p = Page(contexts[-1], app_url)
        pages.append(p)
        return p

    yield make
    try:
        for p in pages:
            assert p.foreign_requests() == [], "the page reached a host other than 127.0.0.1"
    finally:
        for c in contexts:
            c.close()


def expect() -> Any:
    from playwright.sync_api import expect as e

    return e


def in_viewport(p: Page, selector: str) -> bool:
    return bool(p.page.evaluate(
        """(sel) => { const el = document.querySelector(sel); if (!el) return false;
        const r = el.getBoundingClientRect();
        return r.height > 0 && r.top < window.innerHeight && r.bottom > 0; }""", selector))


def code_when(p: Page, text: str, seconds: float = 20.0) -> str:
    """The Python export once it contains `text` (or as it is after `seconds`)."""
    end = time.monotonic() + seconds
    code = p.code_text("Python")
    while text not in code and time.monotonic() < end:
        p.page.wait_for_timeout(300)
        code = p.code_text("Python")
    return code


def load(p: Page, path: Path) -> None:
    with p.page.expect_file_chooser(timeout=WAIT) as chooser:
        p.click("Load session")
    chooser.value.set_files(str(path))


def approval_card(p: Page) -> Any:
    return p.page.locator("#pg-approval").first


# -- 1. the Python export reproduces the decision -----------------------------------------------------------------


def test_export_after_decline_declines_and_after_edit_runs_the_edit(page_at: Any) -> None:
    p = page_at()
    p.choose("Agent", "support")
    p.send("refund order 42")
    expect()(approval_card(p)).to_be_visible(timeout=WAIT)
    p.page.get_by_label("Reason", exact=True).fill("not eligible")
    p.click("Decline")
    p.expect_chat("not eligible")
    p.tab("Code")
    code = code_when(p, "'approved': False")  # the panels are repainted when the reply has finished
    assert "'approved': False" in code and "'reason': 'not eligible'" in code
    assert "approve_tool_call(run_id=result.run_id, tool_call_id=call.tool_call_id)" not in code
    assert "agent.stream(" in code  # the page streamed
    p.send("refund order 7")
    expect()(approval_card(p)).to_be_visible(timeout=WAIT)
    p.page.get_by_label("Arguments (JSON)", exact=True).fill('{"order_id": "7", "amount": 3}')
    p.click("Approve")
    p.expect_chat("refunded 3")
    p.tab("Code")
    assert "'args': {'order_id': '7', 'amount': 3}" in code_when(p, "'amount': 3")


# -- 2. a key stays with its provider and host ----------------------------------------------------------------------


def test_a_typed_key_is_not_sent_to_a_server_chosen_after_it(page_at: Any, recorder: str) -> None:
    p = page_at()
    p.choose("Agent", "research")
    key_box = p.page.get_by_label("API key", exact=True)
    key_box.fill(KEY)  # typed while the demo was chosen
    key_box.blur()
    expect()(key_box).to_have_attribute("placeholder", __import__("re").compile("your key"), timeout=WAIT)
    p.choose("Provider", "OpenAI-compatible server")
    expect()(key_box).to_have_value("", timeout=WAIT)  # the field is emptied on the switch, and it says why
    expect()(p.page.locator("#pg-notice")).to_contain_text("cleared", timeout=WAIT)
    p.fill("Base URL", recorder)
    p.idle()
    model = p.page.get_by_label("Model", exact=True)
    model.fill("rec-model")
    model.press("Enter")
    p.send("hello")
    p.expect_chat("recorded answer")
    assert _Recorder.seen, "the recording server saw nothing"
    assert all(auth is None for _, auth in _Recorder.seen), _Recorder.seen  # no key went there
    assert any(path.endswith("/models") for path, _ in _Recorder.seen)  # the listing came after the base URL
    key_box.fill("sk-for-the-recorder-0123456789")  # typed for this host: sent there
    key_box.blur()
    p.idle()
    p.send("again")
    p.expect_chat("again")
    p.page.wait_for_timeout(500)
    assert _Recorder.seen[-1][1] == "Bearer sk-for-the-recorder-0123456789"
    assert KEY not in p.page.content()


# -- 3. Stop cancels an unanswered request; Send is never dropped; typed text stays --------------------------------


def test_stop_cancels_a_request_the_server_does_not_answer(page_at: Any, recorder: str) -> None:
    _Recorder.hang = True
    p = page_at()
    p.choose("Agent", "research")
    p.choose("Provider", "OpenAI-compatible server")
    p.fill("Base URL", recorder)
    model = p.page.get_by_label("Model", exact=True)
    model.fill("rec-model")
    model.press("Enter")
    p.fill("Timeout (s)", "20")
    p.send("hello")
    p.expect_chat("Waiting for the server")
    p.expect_chat("attempt 1 of")
    p.expect_chat("timeout 20 s")
    box = p.page.get_by_label("Message", exact=True)
    box.fill("typed while waiting")
    p.click("Send")  # while busy: said, not dropped, and the text stays
    expect()(p.page.locator("#pg-notice")).to_contain_text("still streaming", timeout=WAIT)
    assert box.input_value() == "typed while waiting"
    started = time.monotonic()
    p.click("Stop")
    p.expect_chat("Stopped", timeout=10_000)
    assert time.monotonic() - started < 8  # not the server's 25 s
    assert box.input_value() == "typed while waiting"
    _Recorder.hang = False
    p.choose("Provider", "Demo (simulated, offline)")
    p.click("Send")
    p.expect_chat("typed while waiting")
    expect()(box).to_have_value("", timeout=WAIT)


# -- 4. Enter sends, Shift+Enter adds a line ------------------------------------------------------------------------


def test_enter_sends_and_shift_enter_adds_a_line(page_at: Any) -> None:
    p = page_at()
    p.choose("Agent", "research")
    box = p.page.get_by_label("Message", exact=True)
    box.click()
    box.type("2+2")
    box.press("Shift+Enter")
    box.type("please")
    assert box.input_value() == "2+2\nplease"  # a new line, nothing sent
    box.press("Enter")
    p.expect_chat("2 + 2 = 4")
    expect()(box).to_have_value("", timeout=WAIT)


# -- 8, 9. one Clear; no live HTML ----------------------------------------------------------------------------------


def test_html_in_messages_is_text_and_fetches_nothing(page_at: Any, recorder: str) -> None:
    probe = recorder.rsplit("/v1", 1)[0] + "/probe.png"
    p = page_at()
    p.choose("Agent", "research")
    p.send(f'<b>bold</b> <img src="{probe}"> ![pic]({probe}) and `<i>code</i>`')
    p.expect_chat("<b>bold</b>")  # shown as the characters typed
    p.page.wait_for_timeout(800)
    chat = p.chat
    assert chat.locator("b", has_text="bold").count() == 0 and chat.locator("img[src*='probe']").count() == 0
    assert not [path for path, _ in _Recorder.seen if "probe" in path], "the page fetched an image from a message"
    assert "<i>code</i>" in chat.inner_text()


def test_one_clear_that_clears_what_the_model_sees(page_at: Any) -> None:
    p = page_at()
    p.choose("Agent", "research")
    p.send("2+2")
    p.expect_chat("2 + 2 = 4")
    assert p.chat.get_by_role("button", name="Clear").filter(visible=True).count() == 0  # no second, lesser Clear
    assert p.page.locator("#pg-chat").get_by_role("button", name="Share").count() == 0
    p.click("Clear")
    expect()(p.chat).not_to_contain_text("2 + 2 = 4", timeout=WAIT)
    p.idle()
    box = p.page.get_by_label("Message", exact=True)
    box.fill("3*3")
    expect()(box).to_have_value("3*3")
    p.click("Inspect")
    p.page.wait_for_function("document.querySelector('#pg-panels .cm-line') !== null", timeout=WAIT)
    p.idle()
    sent = json.loads(p.code_text("Inspect"))["body"]["messages"]
    assert [m["role"] for m in sent if m["role"] != "system"] == ["user"]  # the model sees only the new message


# -- 10. structured output ------------------------------------------------------------------------------------------


def test_structured_output_of_the_agent_and_of_a_typed_schema(page_at: Any) -> None:
    p = page_at()
    p.choose("Agent", "extractor")
    schema_box = p.page.locator("#pg-output-schema textarea")
    expect()(schema_box).to_have_value(__import__("re").compile('"email"'), timeout=WAIT)
    p.send("Reach Ada Lovelace at ada@example.com, she is 36")
    p.expect_chat("Structured output (parsed object)")
    p.expect_chat("ada@example.com")
    p.choose("Agent", "research")
    schema_box.fill('{"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}')
    schema_box.blur()
    p.idle()
    p.send("What is RAG?")
    p.expect_chat('"topic"')


# -- 11. save and load keep a pending approval; a damaged file changes nothing --------------------------------------


def test_save_with_a_pending_approval_and_load_it_elsewhere(page_at: Any, tmp_path: Path) -> None:
    a = page_at()
    a.choose("Agent", "support")
    a.send("refund order 42")
    expect()(approval_card(a)).to_be_visible(timeout=WAIT)
    a.idle()
    with a.page.expect_download(timeout=WAIT) as info:
        a.click("Save session")  # one click: the file downloads
    saved = tmp_path / "session.json"
    info.value.save_as(saved)
    assert json.loads(saved.read_text())["pending"]["tool_name"] == "refund"
    b = page_at()
    b.choose("Agent", "research")
    b.send("2+2")
    b.expect_chat("2 + 2 = 4")
    damaged = json.loads(saved.read_text())
    damaged["exchanges"][0]["result"]["steps"] = "broken"
    bad = tmp_path / "damaged.json"
    bad.write_text(json.dumps(damaged))
    load(b, bad)
    b.expect_notice("exchanges[0].result")
    assert "2 + 2 = 4" in b.chat.inner_text()  # the current conversation is as it was
    load(b, saved)
    expect()(approval_card(b)).to_be_visible(timeout=WAIT)  # still decidable after the load
    b.page.get_by_label("Arguments (JSON)", exact=True).fill('{"order_id": "42", "amount": 4}')
    b.click("Approve")
    b.expect_chat("refunded 4")


# -- 12. problems and the approval card where the person is looking -------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (420, 800)])
def test_the_approval_card_and_problems_come_into_view(page_at: Any, width: int, height: int) -> None:
    p = page_at(width, height)
    p.choose("Agent", "support")
    p.send("refund order 42")
    expect()(approval_card(p)).to_be_visible(timeout=WAIT)
    p.page.wait_for_function(
        "(() => { const r = document.querySelector('#pg-approval').getBoundingClientRect();"
        " return r.top < window.innerHeight && r.bottom > 0; })()", timeout=WAIT)
    p.page.get_by_label("Arguments (JSON)", exact=True).fill('{"order_id": ')
    p.click("Approve")
    p.expect_notice("not valid JSON")
    p.page.wait_for_function(
        "(() => { const r = document.querySelector('#pg-notice').getBoundingClientRect();"
        " return r.height > 0 && r.top < window.innerHeight && r.bottom > 0; })()", timeout=WAIT)
    assert in_viewport(p, "#pg-notice")


# -- 13. the provider path --------------------------------------------------------------------------------------------


def test_provider_path_as_a_person_expects_it(page_at: Any) -> None:
    p = page_at()
    p.choose("Agent", "research")
    p.choose("Provider", "OpenAI-compatible server")
    p.idle()
    expect()(p.page.locator("#pg-notice")).to_be_hidden()  # nothing typed yet: no error
    p.fill("Base URL", "http://127.0.0.1:9/v1")  # nothing listens there
    p.expect_notice("did not answer")
    p.choose("Provider", "Anthropic")  # offered although the server has no key: the key field serves it
    key_box = p.page.get_by_label("API key", exact=True)
    expect()(key_box).to_have_attribute("placeholder", __import__("re").compile("Anthropic key"), timeout=WAIT)
    p.choose("Provider", "Ollama (local)")
    expect()(p.page.get_by_label("Ollama host", exact=True)).to_be_visible(timeout=WAIT)


# -- 14. smaller items ----------------------------------------------------------------------------------------------


def test_max_steps_dropped_settings_and_reload(page_at: Any) -> None:
    p = page_at()
    p.choose("Agent", "research")
    p.fill("Max steps", "1.5")
    p.expect_notice("Max steps")
    toast = p.page.locator(".toast-body").filter(has_text="Max steps").first  # in view, beside the settings
    expect()(toast).to_be_visible(timeout=WAIT)
    p.fill("Max steps", "3")
    p.page.get_by_text("Model settings", exact=True).click()
    p.fill("Top k", "5")
    p.send("2+2")
    p.expect_chat("2 + 2 = 4")
    p.expect_chat("top_k")  # dropped by the provider, and said so
    p.idle()
    p.page.reload()
    p.page.get_by_role("button", name="Send", exact=True).wait_for(timeout=WAIT)
    p.expect_chat("2 + 2 = 4")  # the last session comes back after a reload, and the page says so
    expect()(p.page.locator("#pg-session-note")).to_contain_text("last", timeout=WAIT)


def test_the_operator_key_goes_only_to_the_operator_server(page_at: Any, recorder: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: a key the operator set in the environment is sent only to the base URL set beside it."""
    operator_key = "sk-operator-SECRET-0123456789abcdef"
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", operator_key)
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", recorder)
    p = page_at()
    p.choose("Agent", "research")
    p.choose("Provider", "OpenAI-compatible server")
    expect()(p.page.get_by_label("Base URL", exact=True)).to_have_value(recorder, timeout=WAIT)  # filled in
    model = p.page.get_by_label("Model", exact=True)
    model.fill("rec-model")
    model.press("Enter")
    p.send("hello")
    p.expect_chat("recorded answer")
    assert _Recorder.seen[-1] == ("/v1/chat/completions", f"Bearer {operator_key}")
    visitor_url = recorder.replace("/v1", "/visitor/v1")  # a base URL the visitor typed (same test server)
    p.fill("Base URL", visitor_url)
    p.send("again")
    p.expect_chat("again")
    p.page.wait_for_timeout(500)
    visitor_calls = [auth for path, auth in _Recorder.seen if path.startswith("/visitor/")]
    assert visitor_calls and all(auth is None for auth in visitor_calls)  # no server key went there
    assert operator_key not in p.page.content()
