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


async def test_record_in_the_notebook_then_replay_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the cassette goes next to the notebook
    pg = PlaygroundWidget(PlaygroundSession())
    pg.composer_ui.record_toggle.value = True
    cassettes = list(tmp_path.glob("*.cassette"))
    assert "Recording to" in pg.composer_ui.record_note.value and not cassettes  # written at the first request
    await pg.send("hello there")
    recorded = pg.session.exchanges[-1].result
    cassette = next(tmp_path.glob("*.cassette"))
    pg.composer_ui.record_toggle.value = False
    assert pg.session.recorder is None and pg.composer_ui.record_note.value == ""
    pg.reset()  # Clear: the replay starts the conversation as the recording did
    pg.session.set_provider("replay")
    pg.session.set_model(str(cassette))
    await pg.send("hello there")
    replayed = pg.session.exchanges[-1].result
    assert recorded is not None and replayed is not None and replayed.text == recorded.text
    assert [s.raw_response for s in replayed.steps] == [s.raw_response for s in recorded.steps]
    pg.reset()
    await pg.send("something else")
    shown = pg.notice.value + pg.chat.value
    assert "does not match the recording" in shown and "something else" in shown
