"""The notebook playground in a real JupyterLab, driven by Debian's Chromium through Playwright.

The test starts `jupyter lab` on a free 127.0.0.1 port with its config, data, runtime and settings folders in a temp
folder (and the news/update popup switched off), opens a copy of notebooks/05_playground_widget.ipynb, runs every
cell, then uses the widgets as a person would: types "refund order 42", presses Send, sees the answer stream, presses
Approve, and saves a screenshot to assets/notebook-playground.png.
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
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ (beside the example agents); yields its base URL."""
    if not (VENV_SHARE / "labextensions" / "@jupyter-widgets").is_dir():
        pytest.skip(f"the ipywidgets lab extension is not installed under {VENV_SHARE}")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "work"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK)
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
    context = chromium.new_context(viewport={"width": 1440, "height": 1100})
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
        message = widget.locator(".pgw-message textarea")
        message.click()
        message.fill("refund order 42")
        widget.locator("button", has_text="Send").first.click()

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
