"""The browser composer's extras: attach images and files to the next message, and export the session as a
self-contained HTML report. Layout and event wiring only; the work is PlaygroundSession's (attach, export_html)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from ..errors import PlaygroundError
from .session import PlaygroundSession

# Paste or drop files on the message box: they go to the Attach upload, as if chosen with its button.
PASTE_DROP_JS = """
() => {
  const hook = () => {
    const box = document.querySelector('#pg-message textarea');
    const button = document.querySelector('#pg-attach');  // the upload's file input sits just before it
    const before = button ? button.previousElementSibling : null;
    const input = before && before.type === 'file' ? before
      : document.querySelector('input[data-testid="Attach-upload-button"]');
    if (!box || !input) { setTimeout(hook, 300); return; }
    if (box.dataset.pgAttach) return;
    box.dataset.pgAttach = '1';
    const give = (files) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(f);
      input.files = dt.files;
      input.dispatchEvent(new Event('change', {bubbles: true}));
    };
    box.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData ? e.clipboardData.files : [])];
      if (files.length) { e.preventDefault(); give(files); }
    });
    box.addEventListener('dragover', (e) => { e.preventDefault(); });
    box.addEventListener('drop', (e) => {
      const files = [...(e.dataTransfer ? e.dataTransfer.files : [])];
      if (files.length) { e.preventDefault(); give(files); }
    });
  };
  hook();
}
"""


def _report_file(s: PlaygroundSession) -> str | None:
    """The session's report in this browser session's own temp folder (None before the first exchange)."""
    if not s.exchanges:
        return None
    folder = Path(tempfile.gettempdir()) / "playground-reports" / f"{id(s):x}"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "playground-report.html"
    s.export_html(path)
    path.chmod(0o600)
    return str(path)


def _attachments_md(s: PlaygroundSession) -> Any:
    text = s.attachments_text()
    return gr.Markdown(text + "  \n*(sent with the next message)*" if text else "", visible=bool(text))


class ComposerExtras:
    """Attach (upload), Export report and Record, and the list of queued attachments."""

    def buttons(self) -> None:
        """Call inside the composer's button row."""
        self.attach_btn = gr.UploadButton("Attach", file_count="multiple", size="sm", elem_id="pg-attach")
        self.report_btn = gr.DownloadButton("Export report", size="sm", elem_id="pg-report")
        self.record_box = gr.Checkbox(False, label="Record", elem_id="pg-record",
                                      info="keep every request and response in a cassette, to replay offline")

    def list(self) -> None:
        """Call where the queued attachments should show (under the message box)."""
        self.attachments = gr.Markdown("", visible=False, elem_id="pg-attachments")

    def wire(self, session: Any, notice: Any, demo: Any = None) -> None:
        if demo is not None:
            demo.load(None, None, None, js=PASTE_DROP_JS)  # paste or drop files on the message box
        def on_attach(s: PlaygroundSession, files: Any) -> list[Any]:
            problems: list[str] = []
            for f in files if isinstance(files, list) else [files]:
                path = f if isinstance(f, str) else getattr(f, "name", None)
                if not path:
                    continue
                try:
                    s.attach(path, name=Path(str(path)).name)
                except PlaygroundError as exc:
                    problems.append(str(exc))
            note = "; ".join(problems)
            return [_attachments_md(s), gr.Markdown(note, visible=bool(note))]

        def on_record(s: PlaygroundSession, on: bool) -> Any:
            path = s.set_record(bool(on))
            note = (f"Recording every request and response to `{path}` (keys masked). To replay it offline: "
                    f"Provider **Replay (a recorded cassette)**, Model `{path}`." if path else "Recording stopped.")
            return gr.Markdown(note, visible=True)

        self.record_box.input(on_record, [session, self.record_box], [notice], api_visibility="private")
        self.attach_btn.upload(on_attach, [session, self.attach_btn], [self.attachments, notice],
                               api_visibility="private")
        self.report_btn.click(lambda s: gr.DownloadButton(value=_report_file(s)), [session], [self.report_btn],
                              api_visibility="private")

    def after(self, event: Any, session: Any) -> Any:
        """Refresh the attachment list (sent ones leave it) and the report download after a turn."""
        return event.then(lambda s: [_attachments_md(s), gr.DownloadButton(value=_report_file(s))], [session],
                          [self.attachments, self.report_btn], show_progress="hidden")
