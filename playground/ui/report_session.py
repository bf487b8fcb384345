"""The shareable HTML report of a playground session (a PlaygroundSession mixin, for both front ends).

`session.export_html()` is the whole session (the conversation as chat, then every exchange's reasoning, tool calls
with approvals, sources, usage and cost, steps and raw panels) as one self-contained HTML document; pass `exchange=`
for one exchange. `export_html_file()` writes it under the data directory for a download button.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..report_html import report_html

if TYPE_CHECKING:
    from ..messages import Message
    from ..replay import Recorder
    from .session import Exchange


class ReportMixin:
    """export_html / export_html_file of PlaygroundSession."""

    exchanges: list[Exchange]
    recorder: Recorder | None = None
    _agent_cache: Any
    messages: list[Message]
    agent_name: str

    def export_html(self, path: str | Path | None = None, *, exchange: int | None = None,
                    title: str | None = None) -> str:
        """The session (or exchange number `exchange`, from 0) as one HTML file's text; written to `path` if given."""
        chosen: list[Any] = list(self.exchanges)
        if exchange is not None:
            if not 0 <= exchange < len(self.exchanges):
                raise ConfigurationError(
                    f"exchange: no exchange {exchange} (this session has {len(self.exchanges)}, numbered from 0)",
                    field="exchange",
                )
            chosen = [self.exchanges[exchange]]
        results = [ex.result for ex in chosen if ex.result is not None]
        errors = [f"Exchange {ex.index + 1} ({ex.user_text[:60]!r}): {ex.error}" for ex in chosen if ex.error]
        messages = self.messages if exchange is None else (results[-1].messages if results else [])
        name = self.agent_name if self.agent_name and not self.agent_name.startswith("(") else "playground"
        doc = report_html(results, title=title or f"Agent Playground: {name}", messages=messages,
                          secrets=getattr(self, "secrets", []), errors=errors)
        if path is not None:
            Path(path).write_text(doc, encoding="utf-8")
        return doc

    # -- record (replay.py): every request and response of this session into a cassette ------------------------
    def set_record(self, path: str | Path | bool | None) -> Path | None:
        """Start recording to `path` (True: a new file under the data directory's cassettes/), or stop (None/False).
        Returns the cassette's path; replay it with the provider "replay" and that path as the model."""
        from ..replay import Recorder

        if path is None or path is False:
            self.recorder = None
        else:
            if path is True and self.recorder is not None:
                return self.recorder.path  # already recording: the same cassette goes on
            if path is True:
                from ..storage import playground_home

                path = playground_home() / "cassettes" / f"playground-{time.strftime('%Y%m%d-%H%M%S')}.cassette"
            self.recorder = Recorder(path)
        self._agent_cache = None  # the next message goes through a recording (or plain) client
        return self.recorder.path if self.recorder is not None else None

    def _record_extras(self) -> dict[str, Any]:
        recorder = getattr(self, "recorder", None)
        return {"record": recorder} if recorder is not None else {}

    def export_html_file(self, folder: str | Path | None = None) -> Path:
        """Write the report to `folder` (default: the data directory's exports/) and return the file's path."""
        from ..storage import playground_home

        target = Path(folder) if folder is not None else playground_home() / "exports"
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"playground-report-{time.strftime('%Y%m%d-%H%M%S')}.html"
        self.export_html(path)
        return path
