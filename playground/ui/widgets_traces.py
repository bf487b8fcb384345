"""The notebook playground's Traces panel: the same view as the browser's Traces tab (PlaygroundSession.trace_view):
a waterfall of the selected exchange's spans, a menu to pick a span, its details, and the session's cost."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..display import esc
from .render import pretty_json


class TracesWidgets:
    """Built by PlaygroundWidget; `box` is its Traces tab, `refresh()` runs with every re-render."""

    def __init__(self, pg: Any) -> None:
        self.pg = pg
        self.waterfall = w.HTML()
        self.span_menu = w.Dropdown(description="Span", options=[("(no spans)", "")], value="",
                                    layout=w.Layout(width="80%"))
        self.details = w.HTML()
        self.cost = w.HTML()
        self._syncing = False
        self.span_menu.observe(self._on_pick, names="value")
        self.box = w.VBox([self.waterfall, self.span_menu, self.details, self.cost])
        """The Traces tab's page (PlaygroundWidget adds it to the main area's tabs)."""

    def _on_pick(self, change: Any) -> None:
        if not self._syncing:
            self.show(str(change["new"] or "") or None)

    def show(self, span_id: str | None) -> None:
        """Show the selected exchange's trace with `span_id`'s details (what picking a span in the menu does)."""
        s = self.pg.session
        view = s.trace_view(span_id)
        self.waterfall.value = view["html"]
        self._syncing = True
        try:
            options = [(label.replace("  ", "\u2003"), sid) for label, sid in view["choices"]]
            self.span_menu.options = [("(pick a span)", ""), *options] if options else [("(no spans)", "")]
            self.span_menu.value = span_id if any(sid == span_id for _, sid in options) else ""
        finally:
            self._syncing = False
        details = view["details"]
        self.details.value = f'<div class="pgw-panel"><pre>{esc(pretty_json(details))}</pre></div>' if details else ""
        self.cost.value = f'<div class="pgw-panel"><pre>{esc(s.cost_markdown())}</pre></div>'

    def refresh(self) -> None:
        picked = str(self.span_menu.value or "") or None
        self.show(picked)
