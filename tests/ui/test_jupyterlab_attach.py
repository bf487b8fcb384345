"""The notebook composer in real JupyterLab (Chromium): an image attached with the Attach upload reaches the wire as
an image part (the raw request panel shows it, bytes elided), and the demo model describes it."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.ui.test_jupyterlab import SUPPORT, _failure_shot, _open, _until, chromium, jupyterlab, local_server

pytestmark = pytest.mark.browser

__all__ = ["chromium", "jupyterlab", "local_server"]  # module fixtures of test_jupyterlab.py, used here too


def _png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 404


def test_attach_an_image_in_jupyterlab(jupyterlab: str, chromium: Any, tmp_path: Path) -> None:
    image = tmp_path / "chart.png"
    image.write_bytes(_png(120, 90))
    context = chromium.new_context(viewport={"width": 1280, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, jupyterlab, SUPPORT)
        widget = page.locator(".pgw").first
        with page.expect_file_chooser() as chooser:  # the upload's file input is not in the page: its chooser is
            widget.get_by_role("button", name=re.compile(r"Attach")).first.click()
        chooser.value.set_files(str(image))
        widget.locator(".pgw-muted", has_text="chart.png (image/png, 433 bytes, 120x90 px)").wait_for()
        message = widget.locator(".pgw-message input")
        message.fill("What does this chart show?")
        message.press("Enter")
        widget.locator(".pgw-chat-box", has_text="120x90 px").wait_for()
        widget.locator(".lm-TabBar-tab", has_text="Raw request").first.click()
        _until(page, lambda: "data:image/png;base64,<433 bytes elided>" in widget.inner_text(), 60)
        assert '"type": "image_url"' in widget.inner_text()  # the image part, as sent
    except Exception:
        _failure_shot(page, "attach")
        raise
    finally:
        context.close()
