"""First streamed token visible in the browser playground, measured from the moment the provider sends it.

    .venv/bin/python benchmarks/ui_first_token.py [--rounds 9] [--delay 0.25] [--pace 0.03] [--tree DIR]

A paced OpenAI-compatible server on 127.0.0.1 (a thread here) answers each streamed chat request: the role chunk at
once, then after --delay seconds the first token, then one token every --pace seconds. `playground ui` runs as a
subprocess on a temporary agents folder holding one agent whose own model is that server, so the page opens ready to
send (--tree DIR: the playground of another checkout, for a before/after). Chromium (/usr/bin/chromium, the flags of
tests/ui/conftest.py) driven by Playwright types a message and presses Send; a MutationObserver on the chat records
when the round's first token is in the page (and the next animation frame, when it is painted). The server records
the wall clock just before it writes that token.

The two clocks are the same machine's: the page's `performance.timeOrigin + performance.now()` is mapped to
`time.time()` by the offset read with the smallest round trip of 15 readings (its error is at most half that trip,
printed as clock_error_ms).

The floor, measured in the same run and the same browser: a bare page on the paced server reads the same stream with
fetch() and appends each token to the DOM. Prints each round, then one JSON line: median and worst of
token_visible_ms (server write -> DOM), token_painted_ms (-> next frame), token_arrived_ms (-> the bytes reach the
page's JavaScript: the playground's and the network's part), the floor's, and the target (issue 18:
first token visible <= 100 ms after the provider's first byte); playground_cpu_ms_per_reply is the CPU the playground
process spent on one whole reply (--tokens tokens: the send, every repaint, the final panels), which bounds what it
adds on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  # the browser tests' Chromium and flags

TARGET_MS = 100.0
KEY = "sk-bench-ui-0000000000000000"
CHUNK = '{"id":"chatcmpl-p","object":"chat.completion.chunk","created":1,"model":"paced","choices":[{"index":0,'


class Paced:
    """What the paced server was told (the round's first word, the pacing) and when it wrote the first token."""

    def __init__(self, delay: float, pace: float, tokens: int) -> None:
        self.delay, self.pace, self.tokens = delay, pace, tokens
        self.word = "warmup"
        self.first_sent: dict[str, float] = {}  # word -> time.time() just before the first token was written


FLOOR_PAGE = """<!doctype html><html><body><div id="out"></div><script>
async function go(word) {
  const r = await fetch('/v1/chat/completions', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({model: 'paced', stream: true, messages: [{role: 'user', content: word}]})});
  const reader = r.body.getReader(); const dec = new TextDecoder(); let buf = '';
  const out = document.getElementById('out');
  for (;;) {
    const {value, done} = await reader.read(); if (done) break;
    buf += dec.decode(value, {stream: true});
    let i;
    while ((i = buf.indexOf('\\n\\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const d = JSON.parse(line.slice(6)).choices?.[0]?.delta?.content;
      if (d) out.append(document.createTextNode(d));
    }
  }
}
</script></body></html>"""


def make_handler(state: Paced) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "paced", "object": "model"}]}).encode(),
                           "application/json")
            elif self.path.startswith("/floor"):
                self._send(200, FLOOR_PAGE.encode(), "text/html")
            else:
                self._send(404, b"{}", "application/json")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            if not body.get("stream"):
                self._send(400, b'{"error": {"message": "this server only streams"}}', "application/json")
                return
            word = state.word  # set before each round's Send
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()

            def event(delta: dict[str, Any] | None, finish: str | None = None) -> None:
                choice = json.dumps(delta or {}) + f',"finish_reason":{json.dumps(finish)}}}]}}'
                self.wfile.write(f"data: {CHUNK}\"delta\":{choice}\n\n".encode())
                self.wfile.flush()

            event({"role": "assistant", "content": ""})
            time.sleep(state.delay)
            for i in range(state.tokens):
                if i == 0:
                    state.first_sent[word] = time.time()
                event({"content": f"{word} " if i == 0 else f"t{i} "})
                time.sleep(state.pace)
            event(None, "stop")
            usage = {"prompt_tokens": 5, "completion_tokens": state.tokens, "total_tokens": state.tokens + 5}
            self.wfile.write(f'data: {{"id":"chatcmpl-p","object":"chat.completion.chunk","created":1,'
                             f'"model":"paced","choices":[],"usage":{json.dumps(usage)}}}\n\ndata: [DONE]\n\n'.encode())
            self.wfile.flush()
            self.close_connection = True

    return Handler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# the moment the word reaches the page's JavaScript (Gradio's client parses each event-stream message with
# JSON.parse): splits the latency into the playground's and the network's part, and the page's own rendering
ARRIVAL_JS = """(() => {
  const parse = JSON.parse;
  JSON.parse = function (text, ...rest) {
    if (window.__word && window.__arrived == null && typeof text === 'string' && text.includes(window.__word))
      window.__arrived = performance.timeOrigin + performance.now();
    return parse.call(this, text, ...rest);
  };
})();"""

WATCH_JS = """([selector, word]) => {
  window.__seen = null; window.__painted = null; window.__arrived = null; window.__word = word;
  const root = document.querySelector(selector);
  const obs = new MutationObserver(() => {
    if (window.__seen === null && root.textContent.includes(word)) {
      window.__seen = performance.timeOrigin + performance.now();
      obs.disconnect();
      requestAnimationFrame(() => { window.__painted = performance.timeOrigin + performance.now(); });
    }
  });
  obs.observe(root, {childList: true, subtree: true, characterData: true});
}"""


def clock_offset_ms(page: Any) -> tuple[float, float]:
    """(page clock - time.time() in ms, error bound in ms) from the reading with the smallest round trip."""
    best: tuple[float, float] | None = None
    for _ in range(15):
        t0 = time.time() * 1000
        page_now = float(page.evaluate("performance.timeOrigin + performance.now()"))
        t1 = time.time() * 1000
        if best is None or t1 - t0 < best[1] * 2:
            best = (page_now - (t0 + t1) / 2, (t1 - t0) / 2)
    assert best is not None
    return best


def wait_seen(page: Any, timeout: float = 30.0) -> tuple[float, float, float | None]:
    """(in the DOM, painted, bytes arrived in the page's JavaScript or None when the hook saw nothing) page times."""
    page.wait_for_function("window.__seen !== null && window.__painted !== null", timeout=timeout * 1000)
    arrived = page.evaluate("window.__arrived")
    return float(page.evaluate("window.__seen")), float(page.evaluate("window.__painted")), \
        None if arrived is None else float(arrived)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--delay", type=float, default=0.25, help="seconds before the first token")
    parser.add_argument("--pace", type=float, default=0.03, help="seconds between tokens")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose playground is started")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    state = Paced(args.delay, args.pace, args.tokens)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    with tempfile.TemporaryDirectory() as tmp:
        agents = Path(tmp) / "agents"
        agents.mkdir()
        (agents / "paced.py").write_text(
            "from playground import Agent\n\n"
            f"agent = Agent(name='paced', instructions='', model='openai-compatible:paced', base_url='{base}/v1',\n"
            f"              api_key='{KEY}')\n", encoding="utf-8")
        port = free_port()
        env = {**os.environ, "PLAYGROUND_HOME": str(Path(tmp) / "home")}
        ui = subprocess.Popen([sys.executable, "-m", "playground.cli", "ui", "--agents", str(agents), "--port",
                               str(port)], cwd=args.tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if ui.poll() is not None or time.monotonic() > deadline:
                    why = ui.stderr.read().decode()[-2000:] if ui.stderr and ui.poll() is not None else "timeout"
                    raise SystemExit(f"playground ui did not start: {why}")
                time.sleep(0.05)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                try:
                    result = measure(browser, url, base, state, args.rounds, ui.pid)
                finally:
                    browser.close()
        finally:
            ui.terminate()
            ui.wait()
            server.shutdown()
    print(json.dumps(result))


def cpu_ms(pid: int) -> float:
    """CPU milliseconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure(browser: Any, url: str, base: str, state: Paced, rounds: int, ui_pid: int) -> dict[str, Any]:
    page = browser.new_page()
    page.add_init_script(ARRIVAL_JS)
    page.goto(url)
    page.get_by_role("button", name="Send", exact=True).wait_for(timeout=60_000)
    status = page.locator("#pg-status").inner_text()
    assert "paced" in status and "real provider" in status, f"the page is not on the paced server: {status}"
    floor_page = browser.new_page()
    floor_page.goto(f"{base}/floor")
    visible: list[float] = []
    painted: list[float] = []
    floor: list[float] = []
    errors: list[float] = []
    server_cpu: list[float] = []
    arrivals: list[float] = []

    def one(target: Any, selector: str, word: str, send: Any) -> tuple[float, float, float | None]:
        state.word = word
        offset, err = clock_offset_ms(target)
        errors.append(err)
        target.evaluate(WATCH_JS, [selector, word])
        send()
        seen, paint, arrived = wait_seen(target)
        sent = state.first_sent[word] * 1000
        return seen - offset - sent, paint - offset - sent, None if arrived is None else arrived - offset - sent

    def send_chat(word: str) -> Any:
        def go() -> None:
            page.get_by_label("Message", exact=True).fill("say something")  # the word itself comes from the server
            page.get_by_role("button", name="Send", exact=True).click()
        return go

    # a first round each, not counted: the first request opens connections and loads what it needs
    for i in range(rounds + 1):
        word = f"w{i}x{os.getpid()}"
        cpu_before = cpu_ms(ui_pid)
        v, pt, arrived = one(page, "#pg-chat", word, send_chat(word))
        page.wait_for_function(f"document.querySelector('#pg-chat').textContent.includes('t{state.tokens - 1}')",
                               timeout=30_000)
        round_cpu = cpu_ms(ui_pid) - cpu_before
        page.get_by_role("button", name="Clear", exact=True).click()
        page.wait_for_timeout(300)
        fword = f"f{i}x{os.getpid()}"
        fv, _, _ = one(floor_page, "#out", fword, lambda fw=fword: floor_page.evaluate(f"go('{fw}')"))
        floor_page.evaluate("document.getElementById('out').textContent = ''")
        if i == 0:
            continue
        visible.append(v)
        painted.append(pt)
        floor.append(fv)
        server_cpu.append(round_cpu)
        if arrived is not None:
            arrivals.append(arrived)
        came = f"arrived {arrived:6.1f} ms  " if arrived is not None else ""
        print(f"round {i}: {came}visible {v:6.1f} ms  painted {pt:6.1f} ms  floor {fv:6.1f} ms  "
              f"playground CPU {round_cpu:5.0f} ms  "
              f"(load {os.getloadavg()[0]:.1f})", flush=True)
    return {
        "token_visible_ms": round(statistics.median(visible), 1), "token_visible_max_ms": round(max(visible), 1),
        "token_painted_ms": round(statistics.median(painted), 1),
        "token_arrived_ms": round(statistics.median(arrivals), 1) if arrivals else None,
        "floor_visible_ms": round(statistics.median(floor), 1),
        "playground_cpu_ms_per_reply": round(statistics.median(server_cpu), 1), "tokens": state.tokens,
        "clock_error_ms": round(max(errors), 2), "target_ms": TARGET_MS, "rounds": rounds,
        "delay_s": state.delay, "pace_s": state.pace,
    }


if __name__ == "__main__":
    main()
