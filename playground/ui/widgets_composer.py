"""The notebook composer's extras, as in the browser: attach images and files to the next message (FileUpload), and
export the session as one self-contained HTML report next to the notebook. Layout and wiring only; the work is
PlaygroundSession's (attach, export_html)."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import PlaygroundError

if TYPE_CHECKING:
    from .widgets import PlaygroundWidget


class ComposerWidgets:
    def __init__(self, pg: PlaygroundWidget) -> None:
        self.pg = pg
        self.attach_upload = w.FileUpload(multiple=True, description="Attach", icon="paperclip",
                                          tooltip="Images and files for the next message")
        self.attach_list = w.HTML()
        self.export_button = w.Button(description="Export report", icon="file-code-o",
                                      tooltip="The session as one HTML file (opens offline in any browser)")
        self.export_link = w.HTML()
        self.record_toggle = w.ToggleButton(value=False, description="Record", icon="circle",
                                            tooltip="Keep every request and response in a cassette, to replay offline")
        self.record_note = w.HTML()
        self.box = w.VBox([w.HBox([self.attach_upload, self.export_button, self.record_toggle]), self.attach_list,
                           self.export_link, self.record_note])
        self._syncing = False
        self.record_toggle.observe(self._on_record_toggle, names="value")
        self.attach_upload.observe(self._on_upload, names="value")
        self.export_button.on_click(lambda _b: self.export_html())

    # -- actions (also for code) ---------------------------------------------------------------------------------
    def attach(self, source: Any, name: str | None = None) -> dict[str, Any] | None:
        """Queue a path, bytes or (name, bytes) for the next message; a bad one is said in the notice."""
        try:
            info = self.pg.session.attach(source, name=name)
        except PlaygroundError as exc:
            self.pg.session.notice = self.pg.session.mask(str(exc))
            self.pg.refresh()
            return None
        self.refresh()
        return info

    def export_html(self, path: str | Path | None = None) -> Path:
        """Write the report (default: a new file next to the notebook) and say where."""
        target = Path(path) if path is not None else Path.cwd() / time.strftime("playground-report-%Y%m%d-%H%M%S.html")
        self.pg.session.export_html(target)
        size = f"{target.stat().st_size / 1024:,.0f} KB"
        self.export_link.value = (f'<span class="pgw-muted">Report saved to <code>{html.escape(target.name)}</code> '
                                  f"({size}) next to the notebook: open it in any browser.</span>")
        return target

    def record(self, on: bool | str | Path = True) -> Path | None:
        """Record this session's traffic into a cassette next to the notebook (a path: there), or stop (False)."""
        if on is True:
            on = Path.cwd() / time.strftime("playground-%Y%m%d-%H%M%S.cassette")
        path = self.pg.session.set_record(on or None)
        if self.record_toggle.value != bool(path):
            self._syncing = True
            try:
                self.record_toggle.value = bool(path)
            finally:
                self._syncing = False
        self.record_note.value = (
            f'<span class="pgw-muted">Recording to <code>{html.escape(path.name)}</code> (keys masked). Replay it: '
            f'Provider "Replay", Model <code>{html.escape(path.name)}</code>.</span>' if path else "")
        return path

    def _on_record_toggle(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.record(bool(change["new"]))

    def refresh(self) -> None:
        items = self.pg.session.attachments
        self.attach_list.value = "".join(
            f'<div class="pgw-muted">📎 {html.escape(a.describe())}</div>' for a in items
        ) + ('<div class="pgw-muted"><i>sent with the next message</i></div>' if items else "")

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change.get("new") or ()
        if not files:
            return
        for f in files:
            content = f.get("content") if isinstance(f, dict) else getattr(f, "content", None)
            name = f.get("name") if isinstance(f, dict) else getattr(f, "name", None)
            if content is not None:
                self.attach((str(name or "attachment"), bytes(content)))
        self.attach_upload.value = ()  # so that the same file can be attached again
