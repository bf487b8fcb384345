"""Images and files in a message: read them, name their type and size, turn them into image/file parts, say when a
model does not take them, describe what arrived (the demo model), and elide their bytes in raw views.

`attachment(source, name=None, media_type=None)` accepts a path, bytes, or a (name, bytes) pair. Images become
`ImagePart`s, anything else a `FilePart` (with its filename). Dimensions of PNG, JPEG and GIF images are read from
their header bytes (no image library).
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .messages import FilePart, ImagePart

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
"""The largest file taken (providers refuse bigger ones anyway; most cap images at about 20 MB)."""
ELIDE_OVER = 256
"""Base64 payloads longer than this are shown as `<N bytes elided>` in raw views."""


@dataclass(frozen=True)
class Attachment:
    name: str
    media_type: str
    data: bytes

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def dimensions(self) -> tuple[int, int] | None:
        return image_dimensions(self.data) if self.is_image else None

    def describe(self) -> str:
        return describe(self.name, self.media_type, self.data)

    def part(self) -> ImagePart | FilePart:
        data = base64.b64encode(self.data).decode("ascii")
        if self.is_image:
            return ImagePart(data=data, media_type=self.media_type)
        return FilePart(data=data, media_type=self.media_type, filename=self.name)

    def info(self) -> dict[str, Any]:
        dims = self.dimensions
        return {"name": self.name, "type": self.media_type, "size": self.size,
                "dimensions": f"{dims[0]}x{dims[1]}" if dims else None, "description": self.describe()}


def sniff_media_type(data: bytes, name: str = "") -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    guessed = mimetypes.guess_type(name)[0] if name else None
    if guessed:
        return guessed
    try:
        data[:4096].decode("utf-8")
        return "text/plain"
    except UnicodeDecodeError:
        return "application/octet-stream"


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or GIF header; None when the bytes are not one of those (or are cut)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2:i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return int(w), int(h)
            i += 2 + length
    return None


def describe(name: str, media_type: str, data: bytes) -> str:
    """`cat.png (image/png, 1,234 bytes, 64x32 px)`."""
    dims = image_dimensions(data) if media_type.startswith("image/") else None
    extra = f", {dims[0]}x{dims[1]} px" if dims else ""
    return f"{name} ({media_type}, {len(data):,} bytes{extra})"


def attachment(source: Any, *, name: str | None = None, media_type: str | None = None) -> Attachment:
    """An attachment from a path, bytes, or a (name, bytes) pair; a clear error for anything else."""
    if isinstance(source, Attachment):
        return source
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], bytes | bytearray):
        name = name or str(source[0])
        data = bytes(source[1])
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
        name = name or "attachment"
    elif isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"attachment: no file at {str(path)!r}", field="attachments")
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise ConfigurationError(
                f"attachment: {path.name} is {path.stat().st_size:,} bytes; the limit is {MAX_ATTACHMENT_BYTES:,}",
                field="attachments",
            )
        data = path.read_bytes()
        name = name or path.name
    else:
        raise ConfigurationError(
            f"attachment: expected a file path, bytes or a (name, bytes) pair, got {type(source).__name__}",
            field="attachments",
        )
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ConfigurationError(f"attachment: {name} is {len(data):,} bytes; the limit is {MAX_ATTACHMENT_BYTES:,}",
                                 field="attachments")
    if not data:
        raise ConfigurationError(f"attachment: {name} is empty", field="attachments")
    return Attachment(name, media_type or sniff_media_type(data, name), data)


def check_supported(provider: Any, attachments: Iterable[Attachment], model: str = "") -> None:
    """A clear error, before anything is sent, when the model takes no images (or no files) and some are attached."""
    caps = getattr(provider, "capabilities", None)
    if caps is None:
        return
    items = list(attachments)
    who = model or getattr(provider, "name", "this model")
    images = [a.name for a in items if a.is_image]
    files = [a.name for a in items if not a.is_image]
    if images and not getattr(caps, "images", True):
        raise ConfigurationError(
            f"Attachments: {who} does not take images ({', '.join(images)}); remove them or choose a model that "
            "does (OpenAI, Anthropic, Gemini, the demo).",
            field="attachments",
        )
    if files and not getattr(caps, "files", False):
        raise ConfigurationError(
            f"Attachments: {who} does not take files ({', '.join(files)}); remove them, paste the text into the "
            "message, or choose a model that does (OpenAI, Anthropic, Gemini, the demo).",
            field="attachments",
        )


_DATA_URL = re.compile(r"^data:(?P<mt>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[^;,]+)*;base64,(?P<data>.*)$", re.S)


def _decoded(data_url: str) -> tuple[str, bytes] | None:
    m = _DATA_URL.match(data_url)
    if not m:
        return None
    try:
        return m.group("mt") or "application/octet-stream", base64.b64decode(m.group("data"), validate=False)
    except ValueError:
        return None


def describe_wire_content(content: Any) -> list[str]:
    """What a Chat Completions user message carries besides text, described (the demo model's eyes)."""
    if not isinstance(content, list):
        return []
    out: list[str] = []
    images = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "image_url":
            images += 1
            url = str((part.get("image_url") or {}).get("url", ""))
            got = _decoded(url)
            if got is None:
                out.append(f"image {images} by URL ({url[:80]})")
            else:
                out.append(describe(f"image {images}", got[0], got[1]))
        elif part.get("type") == "file":
            f = part.get("file") or {}
            got = _decoded(str(f.get("file_data", "")))
            name = str(f.get("filename") or "file")
            out.append(describe(name, got[0], got[1]) if got else f"{name} (by reference)")
    return out


def _b64_size(text: str) -> int:
    text = text.strip()
    return len(text) * 3 // 4 - (len(text) - len(text.rstrip("=")))


def elide_bytes(value: Any) -> Any:
    """A JSON-like value with long base64 payloads (data URLs, `data`/`file_data` fields) replaced by a size note."""
    if isinstance(value, str):
        if len(value) > ELIDE_OVER:
            m = _DATA_URL.match(value)
            if m:
                size = _b64_size(m.group("data"))
                return f"data:{m.group('mt') or ''};base64,<{size:,} bytes elided>"
        return value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if (k in ("data", "file_data", "bytes") and isinstance(v, str) and len(v) > ELIDE_OVER
                    and not v.startswith("data:")):
                out[k] = f"<{_b64_size(v):,} bytes elided>"
            else:
                out[k] = elide_bytes(v)
        return out
    if isinstance(value, list | tuple):
        return [elide_bytes(v) for v in value]
    return value
