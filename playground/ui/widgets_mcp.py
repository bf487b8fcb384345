"""The notebook playground's MCP servers box (ipywidgets layout only; the actions are the session's, mcp_tools.py)."""

from __future__ import annotations

from html import escape as esc
from typing import TYPE_CHECKING, Any

import ipywidgets as w

if TYPE_CHECKING:
    from .widgets import PlaygroundWidget


def servers_html(view: list[dict[str, Any]]) -> str:
    """The servers and their tools: origin, hints, approval, enabled (plain markup: reads without CSS too)."""
    if not view:
        return '<div class="pgw-muted">No MCP servers. Add one by command or URL.</div>'
    rows: list[str] = []
    for s in view:
        state = "running" if s["running"] else "stopped"
        who = "agent" if s["added_by"] == "agent" else "added here"
        rows.append(f"<div><b>{esc(s['name'])}</b> ({who}, {state}) <code>{esc(s['target'])}</code></div>")
        if s["problem"]:
            rows.append(f"<div>problem: {esc(s['problem'])}</div>")
        items = []
        for t in s["tools"]:
            hints = ["read-only" if t["read_only"] else "destructive" if t["destructive"] else "writes"]
            if t["requires_approval"]:
                hints.append("needs approval")
            if not t["enabled"]:
                hints.append("disabled")
            items.append(f"<li><code>{esc(t['name'])}</code> ({', '.join(hints)}): "
                         f"{esc(t['description'] or '(no description)')}</li>")
        rows.append(f"<ul>{''.join(items)}</ul>")
    return "\n".join(rows)


class MCPWidgets:
    """Command or URL, optional name, prefix and headers; Add, Remove; the servers with their tools."""

    def __init__(self, owner: PlaygroundWidget) -> None:
        self.owner = owner
        full = w.Layout(width="100%")
        self.target_box = w.Text(placeholder="python -m my_server  or  http://127.0.0.1:8000/mcp", layout=full)
        self.name_box = w.Text(placeholder="name (optional)", layout=w.Layout(width="50%"))
        self.prefix_box = w.Text(placeholder="tool prefix (optional)", layout=w.Layout(width="50%"))
        self.headers_box = w.Textarea(placeholder="Headers for a URL, one `Name: value` a line",
                                      layout=w.Layout(width="100%", height="46px"))
        self.add_button = w.Button(description="Add server", icon="plug", button_style="primary")
        self.remove_menu = w.Dropdown(options=[], layout=w.Layout(width="50%"))
        self.remove_button = w.Button(description="Remove", icon="times")
        self.message = w.HTML()
        self.listing = w.HTML()
        self.box = w.Accordion(
            children=[w.VBox([
                self.target_box, w.HBox([self.name_box, self.prefix_box], layout=full), self.headers_box,
                w.HBox([self.add_button, self.remove_menu, self.remove_button]), self.message, self.listing,
            ])],
            titles=("MCP servers",),
        )
        self.add_button.on_click(lambda _b: self.add())
        self.remove_button.on_click(lambda _b: self.remove())
        self.refresh()

    def add(self) -> list[str]:
        s = self.owner.session
        problems = s.add_mcp_server(self.target_box.value, headers=self.headers_box.value or None,
                                    name=self.name_box.value or None, prefix=self.prefix_box.value or None)
        self.headers_box.value = ""  # credentials are not kept in widget state (saved notebooks, embedding)
        if not problems:
            self.target_box.value = ""
            self.name_box.value = ""
            self.prefix_box.value = ""
        self.message.value = (f'<div class="pgw-error">Could not add the server: {esc("; ".join(problems))}</div>'
                              if problems else "")
        self._after_change()
        return problems

    def remove(self) -> None:
        name = self.remove_menu.value
        if name:
            self.owner.session.remove_mcp_server(name)
        self.message.value = ""
        self._after_change()

    def _after_change(self) -> None:
        self.owner._sync_controls()  # the Tools checkboxes gain or lose the server's tools
        self.owner.refresh()
        self.refresh()

    def refresh(self) -> None:
        s = self.owner.session
        self.listing.value = servers_html(s.mcp_view())
        names = [srv.name for srv in s.mcp_servers]
        self.remove_menu.options = names
        self.remove_menu.value = names[-1] if names else None
