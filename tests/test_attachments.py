"""Images and files in a message: through the session to the wire body, described by the demo model, bytes elided in
the raw views, a clear refusal for a model that takes none."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest

from playground import Agent
from playground.attachments import attachment, check_supported, elide_bytes, image_dimensions
from playground.errors import ConfigurationError
from playground.messages import Message, TextPart
from playground.providers.registry import resolve_provider
from playground.ui.render import exchange_panels
from playground.ui.session import PlaygroundSession


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 4 + b"\0" * 400


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\x01\x01\0\0\x01\0\x01\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\0"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_dimensions_come_from_the_header_bytes() -> None:
    assert image_dimensions(png(640, 480)) == (640, 480)
    assert image_dimensions(jpeg(1024, 768)) == (1024, 768)
    assert image_dimensions(b"GIF89a" + struct.pack("<HH", 3, 5) + b"\0" * 8) == (3, 5)
    assert image_dimensions(b"not an image") is None
    assert attachment(("cat.png", png(64, 32))).describe() == "cat.png (image/png, 433 bytes, 64x32 px)"
    with pytest.raises(ConfigurationError, match="attachment: no file at"):
        attachment("/nope/missing.png")
    with pytest.raises(ConfigurationError, match="expected a file path, bytes"):
        attachment(42)


async def test_session_sends_image_and_file_parts_and_the_demo_describes_them(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(800, 600))
    session = PlaygroundSession()
    info = session.attach(photo)
    assert info["type"] == "image/jpeg" and info["dimensions"] == "800x600"
    events = [ev async for ev in session.send("What is in these?", attachments=[("notes.txt", b"hello world")])]
    assert type(events[-1]).__name__ == "FinishEvent"
    ex = session.exchanges[-1]
    assert ex.result is not None
    text = ex.result.text
    assert "800x600 px" in text and "image/jpeg" in text and "notes.txt (text/plain, 11 bytes)" in text
    body = ex.result.steps[0].raw_request.body  # type: ignore[union-attr]
    user = body["messages"][-1]["content"]
    assert user[0] == {"type": "text", "text": "What is in these?"}
    assert user[1]["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(jpeg(800, 600)).decode()
    assert user[2]["file"]["filename"] == "notes.txt"
    # the raw panel shows the parts with their bytes elided
    panels = exchange_panels(ex)
    big = attachment(("big.png", png(10, 10) + b"\0" * 5000))
    assert "base64,<" not in json.dumps(body) and session.attachments == []
    assert session.sent_attachments[0][0]["name"] == "photo.jpg"
    assert "image_url" in panels.raw_request
    elided = elide_bytes({"url": "data:image/png;base64," + base64.b64encode(big.data).decode()})
    assert elided == {"url": "data:image/png;base64,<5,433 bytes elided>"}


async def test_raw_panel_elides_a_large_image(tmp_path: Path) -> None:
    session = PlaygroundSession()
    session.attach(("big.png", png(300, 200) + b"\0" * 20_000))
    _ = [ev async for ev in session.send("look")]
    ex = session.exchanges[-1]
    panels = exchange_panels(ex)
    assert "bytes elided>" in panels.raw_request and len(panels.raw_request) < 8000
    assert "300x200 px" in (ex.result.text if ex.result else "")


async def test_a_model_that_takes_no_files_says_so_before_sending() -> None:
    session = PlaygroundSession()
    session.set_provider("openai-compatible")
    session.set_base_url("http://127.0.0.1:9/v1")
    session.set_model("m1")
    session.attach(("report.pdf", b"%PDF-1.7 tiny"))
    events = [ev async for ev in session.send("summarise")]
    err = events[-1]
    assert type(err).__name__ == "ErrorEvent"
    message = str(getattr(err, "error", err))
    assert "does not take files (report.pdf)" in message and "Could not reach" not in message
    assert len(session.attachments) == 1  # kept, to remove or to send to another model
    provider = resolve_provider("ollama:llama3")
    with pytest.raises(ConfigurationError, match="does not take files"):
        check_supported(provider, [attachment(("a.pdf", b"%PDF-1.4"))], "ollama:llama3")


@pytest.mark.parametrize("model", ["openai:gpt-4.1-mini", "openai-chat:gpt-4.1-mini", "anthropic:claude-sonnet-4-5",
                                   "gemini:gemini-2.5-flash"])
def test_each_provider_puts_the_image_on_the_wire(model: str) -> None:
    image = attachment(("cat.png", png(2, 2)))
    doc = attachment(("a.pdf", b"%PDF-1.4 tiny document"))
    msg = Message(role="user", content=[TextPart(text="what is this?"), image.part(), doc.part()])
    body = json.dumps(Agent(model=model, api_key="sk-test-attach-0000000000").prompt([msg]).request_preview())
    assert base64.b64encode(image.data).decode() in body
    assert base64.b64encode(doc.data).decode() in body
