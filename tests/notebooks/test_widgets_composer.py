"""The notebook composer (widgets_composer.py) without a browser: a file given to the Attach upload reaches the wire
body as an image part, the demo describes it, the raw panel elides its bytes; Export report writes the HTML file."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from playground.ui.session import PlaygroundSession
from playground.ui.widgets import PlaygroundWidget


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 404


async def test_upload_to_the_wire_and_export(tmp_path: Path) -> None:
    pg = PlaygroundWidget(PlaygroundSession())
    data = png(120, 90)
    pg.composer_ui.attach_upload.value = ({"name": "chart.png", "type": "image/png", "size": len(data),
                                           "content": memoryview(data), "last_modified": datetime.now(UTC)},)
    assert "chart.png (image/png, 433 bytes, 120x90 px)" in pg.composer_ui.attach_list.value
    assert pg.composer_ui.attach_upload.value == ()  # ready for the next file
    await pg.send("What does this chart show?")
    ex = pg.session.exchanges[-1]
    assert ex.result is not None and "120x90 px" in ex.result.text
    assert "120x90 px" in pg.chat.value
    body = ex.result.steps[0].raw_request.body  # type: ignore[union-attr]
    part = body["messages"][-1]["content"][1]
    assert part["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(data).decode()
    assert pg.composer_ui.attach_list.value == ""  # sent
    assert "433 bytes elided" in pg.panels["Raw request"].value
    out = pg.composer_ui.export_html(tmp_path / "report.html")
    doc = out.read_text()
    assert 'data-panel="raw-request"' in doc and "What does this chart show?" in doc
    assert "report.html" in pg.composer_ui.export_link.value


def test_a_bad_upload_is_said_in_the_notice() -> None:
    pg = PlaygroundWidget(PlaygroundSession())
    assert pg.composer_ui.attach(b"") is None
    assert "attachment is empty" in pg.notice.value
