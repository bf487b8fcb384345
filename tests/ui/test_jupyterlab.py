"""The notebook playground in a real JupyterLab, driven by Debian's Chromium through Playwright.

The fixture starts `jupyter lab` on a free 127.0.0.1 port with its config, data, runtime and settings folders in a
temp folder (the news/update popup off, widget state saved with the notebook, as a person may choose). The tests:

- open a copy of notebooks/05_playground_widget.ipynb, run every cell, then use the widgets as a person would: type
  "refund order 42", Send, see the answer stream, Approve; a screenshot goes to assets/notebook-playground.png;
- open a notebook with `Playground(agent)` for an agent on a local OpenAI-compatible server (started here) with its
  own key: the agent's model, base URL and key are used, Enter sends, the real-provider warning shows, and a key typed
  in the API key field is not in the notebook file saved with widget state (issue 9);
- use the support agent's playground for 20.2-20.7: approval card edits kept, Code export, tool schemas, max-tokens
  reason, Compare columns, opened blocks kept open, the chat following new messages, tab titles not cut;
- open the committed notebooks/01_quickstart.ipynb untrusted: the result's header and tables read correctly without
  the <style> block, and JupyterLab's own table rules do not override them when trusted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
VENV_SHARE = Path(sys.prefix) / "share" / "jupyter"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]
NOTEBOOK = "05_playground_widget.ipynb"
QUICKSTART = "01_quickstart.ipynb"
STREAMING = "04_streaming_and_usage.ipynb"
AGENT_KEY = "sk-agent-own-canary-5f3a9c1e7b2d"
TYPED_KEY = "sk-typed-canary-0a9b8c7d6e5f4321"
COMMITTED_SCREENSHOT = REPO / "assets" / "notebook-playground.png"
# Written to a temp folder; `make screenshots` (PLAYGROUND_SCREENSHOTS_DIR=assets) refreshes the README's.
SCREENSHOT = (
    Path(os.environ.get("PLAYGROUND_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "playground-screenshots")
    / "notebook-playground.png"
)
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer on {url} within {timeout}s:\n{log.read_text()[-3000:]}")


class _Compatible(BaseHTTPRequestHandler):
    """A tiny OpenAI-compatible server: streams a fixed answer, records each request's path and Authorization."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        _Compatible.seen.append((self.path, self.headers.get("authorization", "")))
        words = ["Hello ", "from ", "the ", "local ", "server."]
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny"}
        chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": w}}]} for w in words]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}
        chunks.append({**base, "choices": [], "usage": usage})
        payload = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
        if not body.get("stream"):
            payload = json.dumps({"id": "c1", "object": "chat.completion", "model": "tiny", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "".join(words)}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}).encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream" if body.get("stream") else "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    """An OpenAI-compatible base URL on 127.0.0.1 (the kernel in JupyterLab calls it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Compatible)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


AS_GIVEN = "agent_as_given.ipynb"
SUPPORT = "support_playground.ipynb"


def _write_test_notebooks(folder: Path, base_url: str) -> None:
    """Notebooks the tests open (written here, not committed: they point at this run's local server)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def write(name: str, cells: list[str]) -> None:
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nb.cells = [new_code_cell(c) for c in cells]
        nbformat.write(nb, folder / name)

    write(AS_GIVEN, [
        "import os\n"
        "from playground import Agent\n"
        "from playground.notebook import Playground\n\n"
        f"agent = Agent(name='local', instructions='Be brief.', model='openai-compatible:tiny',\n"
        f"              base_url={base_url!r}, api_key=os.environ['LOCAL_AGENT_KEY'])\n"
        "pg = Playground(agent)\n"
        "pg",
    ])
    write(SUPPORT, [
        "import os\n"
        "os.environ['PLAYGROUND_DEMO_DELAY'] = '0.03'\n"
        "from playground.notebook import Playground\n\n"
        "pg = Playground(select='support')  # the agents/ folder next to this one\n"
        "pg",
        "from playground import Agent\n"
        "Agent(model='demo').generate('What is 2+2?')",
    ])


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory, local_server: str) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ (beside the example agents); yields its base URL."""
    if not (VENV_SHARE / "labextensions" / "@jupyter-widgets").is_dir():
        pytest.skip(f"the ipywidgets lab extension is not installed under {VENV_SHARE}")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "work"
    (root / "notebooks").mkdir(parents=True)
    for name in (NOTEBOOK, QUICKSTART, STREAMING):
        shutil.copy(REPO / "notebooks" / name, root / "notebooks" / name)
    _write_test_notebooks(root / "notebooks", local_server)
    shutil.copytree(REPO / "agents", root / "agents", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "assets").mkdir()
    if COMMITTED_SCREENSHOT.exists():
        shutil.copy(COMMITTED_SCREENSHOT, root / "assets" / COMMITTED_SCREENSHOT.name)
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "settings", "home")}
    for d in dirs.values():
        d.mkdir()
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    widgets_settings = dirs["settings"] / "@jupyter-widgets" / "jupyterlab-manager"
    widgets_settings.mkdir(parents=True)
    (widgets_settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTER_PATH=os.pathsep.join([str(VENV_SHARE), *filter(None, [os.environ.get("JUPYTER_PATH")])]),
        PLAYGROUND_HOME=str(dirs["home"]),
        PLAYGROUND_DEMO_DELAY="0.04",  # slow enough to see the answer stream in
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        LOCAL_AGENT_KEY=AGENT_KEY,  # the agent's own key reaches the kernel without being written in the notebook
    )
    port = _free_port()
    log = tmp / "jupyterlab.log"
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [
        str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/api/status", proc, log)
        _ROOTS[f"http://127.0.0.1:{port}"] = str(root)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started (its own process group)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# Records every distinct text of the last assistant message while it changes (to see that the answer streams in).
SAMPLER = """
() => {
  window.__pgSamples = [];
  const box = document.querySelector('.pgw-chat-box');
  const take = () => {
    const msgs = box.querySelectorAll('.pgw-assistant');
    const last = msgs.length ? msgs[msgs.length - 1].innerText : '';
    const s = window.__pgSamples;
    if (last && s[s.length - 1] !== last) s.push(last);
  };
  new MutationObserver(take).observe(box, {childList: true, subtree: true, characterData: true});
}
"""


def test_notebook_playground_in_jupyterlab(jupyterlab: str, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1440, "height": 1900})  # tall: the whole widget in the screenshot
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{jupyterlab}/lab/tree/notebooks/{NOTEBOOK}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        _until(page, lambda: page.get_by_text("Python 3 (ipykernel) | Idle").count() > 0, 90)

        # Run all cells: widgets render only after the cells have run in the page.
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        widget = page.locator(".pgw").first
        _until(page, lambda: widget.count() > 0 and widget.is_visible(), 90)
        # the scripted cells send, approve and finally reset; wait for the last cell's output
        done = page.locator(".jp-OutputArea-output", has_text="0 exchanges")
        _until(page, lambda: done.count() > 0, 120)
        _until(page, lambda: page.get_by_text("Python 3 (ipykernel) | Idle").count() > 0, 60)

        # the file browser off, so the playground has the width (Ctrl+B in command mode)
        page.keyboard.press("Escape")
        page.keyboard.press("Control+b")

        chat = widget.locator(".pgw-chat-box")
        assert "Type a message below" in chat.inner_text()
        assert "Demo model: simulated" in widget.inner_text()

        # type a message and send it with the button
        message = widget.locator(".pgw-message input")
        message.click()
        message.fill("refund order 42")
        widget.locator("button", has_text=re.compile(r"^\s*Send$")).first.click()

        # the run suspends: the approval box shows the refund call
        approval = widget.locator(".pgw-approval")
        approval.wait_for(state="visible", timeout=60_000)
        assert "refund" in approval.inner_text()
        assert "waits for your approval" in approval.inner_text()
        assert "waits for your approval" in chat.inner_text()
        assert '"order_id": "42"' in approval.locator("textarea").input_value()

        # approve; the answer streams into the chat
        page.evaluate(SAMPLER)
        approval.locator("button", has_text="Approve").click()
        final = "refund returned: order id 42, refunded 89.0"
        widget.locator(".pgw-assistant", has_text=final).wait_for(timeout=60_000)
        page.wait_for_function("() => !document.querySelector('.pgw-approval') || "
                               "document.querySelector('.pgw-approval').offsetParent === null")
        page.wait_for_timeout(300)
        samples: list[str] = page.evaluate("() => window.__pgSamples")
        full = chat.locator(".pgw-assistant").last.inner_text()
        assert full.startswith(final) and full.rstrip().endswith("status refunded.")
        partial = [s for s in samples if s.startswith("refund") and len(s) < len(full)]
        assert partial, f"the answer did not stream in (samples: {samples[-5:]})"

        # the panels follow the exchange
        widget.locator(".lm-TabBar-tab", has_text="Steps").click()
        steps = widget.locator(".pg-steps:visible").first
        steps.wait_for(state="visible")
        assert "refund" in steps.inner_text() and "approved" in steps.inner_text()
        widget.locator(".lm-TabBar-tab", has_text="Usage").click()
        usage = widget.locator(".pgw-panel:visible", has_text="total").first
        usage.wait_for(state="visible")
        assert "step 2" in usage.inner_text()
        assert widget.locator(".pg-chart:visible .pg-seg").count() >= 4  # the tokens-per-step bars

        # a screenshot for the README and notebooks/05
        widget.scroll_into_view_if_needed()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        widget.screenshot(path=str(SCREENSHOT))
        assert SCREENSHOT.stat().st_size > 20_000
    except Exception:
        page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "jupyterlab-failure.png"), full_page=True)
        raise
    finally:
        context.close()


def _until(page: Any, ready: Callable[[], bool], timeout: float) -> None:
    """Poll `ready` until it holds; meanwhile accept JupyterLab's "Select Kernel" dialog if it shows up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and "Select Kernel" in dialog.first.inner_text():
            dialog.locator("button.jp-mod-accept").click()
        if ready():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out after {timeout}s")


def _open(page: Any, base: str, name: str, *, run: bool = True) -> None:
    """Open a notebook; with `run`, run all its cells (widgets render only after the cells ran in the page)."""
    page.goto(f"{base}/lab/tree/notebooks/{name}?reset")  # ?reset: only this notebook, not the last test's tabs
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    _until(page, lambda: page.get_by_text("Python 3 (ipykernel) | Idle").count() > 0, 90)
    if run:
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        _until(page, lambda: page.locator(".pgw").count() > 0 and page.locator(".pgw").first.is_visible(), 90)
        _until(page, lambda: page.get_by_text("Python 3 (ipykernel) | Idle").count() > 0, 90)


def _field(widget: Any, label: str, kind: str = "input") -> Any:
    """An ipywidgets text field by its description label."""
    return widget.locator(".widget-inline-hbox", has=widget.page.locator(
        "label.widget-label", has_text=re.compile(f"^{re.escape(label)}$"))).locator(kind).first


def _type_and_leave(field: Any, text: str) -> None:
    field.click()
    field.fill(text)
    field.press("Tab")  # the value reaches the kernel when the field is left (continuous_update=False)


def _failure_shot(page: Any, name: str) -> None:
    page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / f"jupyterlab-{name}.png"), full_page=True)


def test_playground_uses_the_agent_as_given_and_keeps_no_key_in_the_saved_notebook(
        jupyterlab: str, chromium: Any, local_server: str) -> None:
    """20.1 and issue 9: the agent's own model, base URL and key; Enter sends; Shift+Enter does not run the cell;
    the real-provider warning; a typed key is not in the notebook saved with widget state."""
    _Compatible.seen.clear()
    context = chromium.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, jupyterlab, AS_GIVEN)
        widget = page.locator(".pgw").first
        header = widget.locator(".pgw-title").first.locator("xpath=..")
        assert "Real provider: messages are sent to" in header.inner_text()
        assert local_server.split("//")[1] in header.inner_text()
        assert "openai-compatible:tiny" in header.inner_text()
        assert "agent's own key" in widget.inner_text()
        prompt = page.locator(".jp-InputPrompt").first.inner_text()

        message = widget.locator(".pgw-message input")
        message.click()
        message.fill("first message")
        message.press("Shift+Enter")  # sends here; never runs the notebook cell
        widget.locator(".pgw-assistant", has_text="Hello from the local server.").first.wait_for(timeout=60_000)
        message.fill("second message")
        message.press("Enter")
        _until(page, lambda: widget.locator(".pgw-assistant", has_text="Hello from the local server.").count() == 2,
               60)
        assert page.locator(".jp-InputPrompt").first.inner_text() == prompt  # the cell did not run again
        assert message.input_value() == ""
        assert [path for path, _ in _Compatible.seen] == ["/v1/chat/completions"] * 2
        assert all(auth == f"Bearer {AGENT_KEY}" for _, auth in _Compatible.seen)  # the agent's key, its host

        key = widget.locator("input[type=password]")
        _type_and_leave(key, TYPED_KEY)
        widget.get_by_text("Key set for this session").wait_for(timeout=30_000)
        _until(page, lambda: key.input_value() == "", 30)  # the field is emptied by the kernel
        page.locator(".jp-NotebookPanel").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        saved = Path(_served_root(jupyterlab)) / "notebooks" / AS_GIVEN
        _until(page, lambda: "application/vnd.jupyter.widget-state+json" in saved.read_text(), 30)
        text = saved.read_text()
        assert '"PasswordModel"' in text  # widget state was saved: the search below can find a key
        assert TYPED_KEY not in text and AGENT_KEY not in text
    except Exception:
        _failure_shot(page, "as-given")
        raise
    finally:
        context.close()


_ROOTS: dict[str, str] = {}


def _served_root(base: str) -> str:
    return _ROOTS[base]


CELL_STYLE = """(el) => { const s = getComputedStyle(el);
  return {border: s.borderTopWidth + ' ' + s.borderTopStyle, align: s.textAlign}; }"""


def test_support_playground_in_real_use(jupyterlab: str, chromium: Any) -> None:
    """20.2-20.7 with the support agent: what a person types in the approval card is kept; the Code panel reproduces
    the exchange; tool schemas, the max-tokens reason and Compare columns with their own settings are there; an opened
    block stays open while text streams; the chat follows new messages; tab titles are not cut; tables in a trusted
    output keep their borders and alignment against JupyterLab's table rules."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, jupyterlab, SUPPORT)
        page.keyboard.press("Escape")
        page.keyboard.press("Control+b")  # the file browser off
        widget = page.locator(".pgw").first
        assert "Refund an order (needs a person" in widget.inner_text()  # tool descriptions; schema collapsible
        load = widget.locator(".pgw-load")  # the label is shown by CSS from the title; the " (0)" count is not shown
        assert load.get_attribute("title") == "Load session"
        assert page.evaluate("(el) => getComputedStyle(el).fontSize", load.element_handle()) == "0px"
        assert page.evaluate("(el) => getComputedStyle(el, '::after').fontSize", load.element_handle()) != "0px"

        # 20.3: the approval card keeps what the person typed
        message = widget.locator(".pgw-message input")
        message.fill("refund order 42")
        message.press("Enter")
        approval = widget.locator(".pgw-approval")
        approval.wait_for(state="visible")
        args = approval.locator("textarea")
        _type_and_leave(args, '{"order_id": "42", "amount": }')
        approval.locator("button", has_text="Approve").click()
        widget.locator(".pgw-notice", has_text="not valid JSON").wait_for()
        assert args.input_value() == '{"order_id": "42", "amount": }'
        _type_and_leave(args, '{"order_id": "42", "amount": 20}')
        widget.locator(".jupyter-widget-Collapse-header", has_text="Model settings").click()
        _type_and_leave(_field(widget, "Temperature"), "0.3")
        page.wait_for_timeout(500)
        assert args.input_value() == '{"order_id": "42", "amount": 20}'
        message.fill("look up order 7")
        message.press("Enter")
        widget.locator(".pgw-notice", has_text="waits for approval").wait_for()
        assert message.input_value() == "look up order 7"  # refused while the approval waits: not erased
        approval.locator("button", has_text="Approve").click()
        widget.locator(".pgw-chat-box", has_text="refunded 20.0").wait_for()

        # 20.2: the Code panel reproduces it: tools, active tools, tool choice, settings, the decision, agent path
        widget.locator(".lm-TabBar-tab", has_text=re.compile(r"^Code$")).click()
        panel = widget.locator(".pgw-panel:visible", has_text="curl").first
        _until(page, lambda: "decisions = " in panel.inner_text(), 30)  # repainted once the run has finished
        code = panel.inner_text()
        assert "agents/support.py" in code and "active_tools=['lookup_order', 'refund']" in code
        assert "'amount': 20" in code and "decisions = " in code, code  # the approval as decided, edited args

        # 20.4: an opened Reasoning block stays open while the answer streams in
        before = widget.locator(".pgw-reasoning").count()
        message.fill("look up order 42")
        message.press("Enter")
        _until(page, lambda: widget.locator(".pgw-reasoning").count() > before, 30)
        reasoning = widget.locator(".pgw-reasoning").nth(before)
        assert not widget.locator(".pgw-assistant", has_text="lookup_order returned").count() > 1  # still streaming
        reasoning.locator(".jupyter-widget-Collapse-header").click()
        widget.locator(".pgw-assistant", has_text="lookup_order returned").last.wait_for()
        _until(page, lambda: widget.locator("button", has_text=re.compile(r"^\s*Send$")).is_enabled(), 60)
        assert reasoning.locator(".jupyter-widget-Collapse-contents").is_visible()
        assert "jupyter-widget-Collapse-open" in (reasoning.get_attribute("class") or "") or \
            reasoning.locator(".jupyter-widget-Collapse-open").count() > 0

        # 20.6: the reason an answer is cut by max tokens
        _type_and_leave(_field(widget, "Max output tokens"), "6")
        message.fill("tell me about keyboards")
        message.press("Enter")
        widget.locator(".pgw-note", has_text="Cut short").wait_for()

        # 20.4: the chat follows new messages: the newest is in view
        box = widget.locator(".pgw-chat-box").first.bounding_box()
        note = widget.locator(".pgw-note", has_text="Cut short").last.bounding_box()
        assert box is not None and note is not None
        assert box["y"] <= note["y"] and note["y"] + note["height"] <= box["y"] + box["height"] + 1

        # 20.6: Compare columns with their own settings
        widget.locator(".lm-TabBar-tab", has_text=re.compile(r"^Compare$")).click()
        _type_and_leave(_field(widget, "Max tok. 1"), "5")
        _type_and_leave(_field(widget, "Max tok. 2"), "400")
        compare = widget.locator(".pgw-main-tabs")
        _field(compare, "Message").fill("tell me about keyboards")
        compare.locator("button", has_text=re.compile(r"^Compare$")).click()
        answers = widget.locator(".pgw-compare-answer")
        _until(page, lambda: "tokens" in answers.nth(1).inner_text(), 60)
        assert "Cut short" in answers.nth(0).inner_text() and "finish length" in answers.nth(0).inner_text()
        assert "Cut short" not in answers.nth(1).inner_text() and "finish stop" in answers.nth(1).inner_text()

        # 20.7: tab titles are not cut, even in a narrow panel
        page.set_viewport_size({"width": 900, "height": 1200})
        page.wait_for_timeout(500)
        cut = page.evaluate("""() => [...document.querySelectorAll('.pgw .lm-TabBar-tabLabel')]
            .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
        assert not cut, f"tab titles cut off: {cut}"

        # 20.5: in a trusted output, JupyterLab's table rules (no borders, right-aligned) do not win over ours
        result = page.locator(".jp-OutputArea-output", has_text="GenerationResult").first
        result.scroll_into_view_if_needed()
        cell = result.locator("td").first
        style = page.evaluate(CELL_STYLE, cell.element_handle())
        assert style == {"border": "1px solid", "align": "left"}, style
    except Exception:
        _failure_shot(page, "support")
        raise
    finally:
        context.close()


def test_committed_notebook_reads_correctly_untrusted(jupyterlab: str, chromium: Any) -> None:
    """20.5: committed notebooks open untrusted, so JupyterLab drops the <style> block; the header still reads with
    separators and the tables keep borders and alignment from the markup."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, jupyterlab, QUICKSTART, run=False)
        result = page.locator(".jp-OutputArea-output", has_text="GenerationResult").first
        result.scroll_into_view_if_needed()
        html = result.inner_html()
        assert "<style" not in html  # untrusted: the stylesheet is gone
        head = result.locator(".pg-head").first.inner_text()
        assert re.search(r"GenerationResult · stop · demo(:demo-1)? · ", head), head
        header_cell = result.locator("th").first
        number_cell = result.locator("td.pg-num").first
        assert page.evaluate(CELL_STYLE, header_cell.element_handle()) == {"border": "1px solid", "align": "left"}
        assert page.evaluate(CELL_STYLE, number_cell.element_handle())["align"] == "right"

        # a StreamRun shown as a cell's value, and an error's display, in the committed 04 (untrusted too)
        _open(page, jupyterlab, STREAMING, run=False)
        error = page.locator(".jp-OutputArea-output", has_text="What went wrong:").first
        error.scroll_into_view_if_needed()
        text = error.text_content() or ""  # (a long notebook renders cells lazily: the markup is what is checked)
        assert "RateLimitError · HTTP 429 · provider demo" in text and "Raw request (key masked)" in text
        assert "Traceback" not in text
        streamed = page.locator(".jp-OutputArea-output", has_text="a real model would answer about retrieval").first
        assert "GenerationResult · stop" in (streamed.text_content() or "")
    except Exception:
        _failure_shot(page, "untrusted")
        raise
    finally:
        context.close()
