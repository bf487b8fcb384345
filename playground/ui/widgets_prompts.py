"""The notebook playground's Prompt tab (ipywidgets layout only; the actions are the session's, prompts_session.py):
variables of `{{ name }}` templates, an action agent's actions with their params, and prompt versions (list, diff,
restore, compare side by side)."""

from __future__ import annotations

from html import escape as esc
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import PlaygroundError
from .prompts_session import format_fields, parse_fields
from .session import CompareColumn

if TYPE_CHECKING:
    from .widgets import PlaygroundWidget


class PromptWidgets:
    """Variables (name = value lines), Actions (picker + params + Render), Versions (list, diff, restore, compare)."""

    def __init__(self, owner: PlaygroundWidget) -> None:
        self.owner = owner
        full = w.Layout(width="100%")
        self.variables = w.Textarea(placeholder="name = value, one a line", layout=w.Layout(width="100%",
                                                                                          height="70px"))
        self.find_button = w.Button(description="Find variables")
        self.apply_button = w.Button(description="Use these values", button_style="primary")
        self.note = w.HTML()
        self.action_menu = w.Dropdown(description="Action", options=[], layout=w.Layout(width="60%"))
        self.params = w.Textarea(placeholder="name = value, one a line", layout=w.Layout(width="100%",
                                                                                        height="70px"))
        self.render_button = w.Button(description="Render into the message box")
        self.versions = w.HTML()
        self.version_a = w.Dropdown(description="Version", options=[], layout=w.Layout(width="40%"))
        self.version_b = w.Dropdown(description="with", options=[], layout=w.Layout(width="40%"))
        self.diff_button = w.Button(description="Diff")
        self.restore_button = w.Button(description="Restore")
        self.diff = w.HTML()
        self.compare_pick = w.SelectMultiple(description="Compare", options=[], layout=w.Layout(width="60%"))
        self.compare_button = w.Button(description="Compare versions")
        self.compare_out = w.HTML()
        self.page = w.VBox([
            w.HTML("<b>Variables</b>: <code>{{ name }}</code> in the instructions or the message"),
            self.variables, w.HBox([self.find_button, self.apply_button]), self.note,
            w.HTML("<b>Actions</b> of an action agent"), self.action_menu, self.params, self.render_button,
            w.HTML("<b>Versions</b>: each distinct prompt you send"), self.versions,
            w.HBox([self.version_a, self.version_b, self.diff_button, self.restore_button], layout=full),
            self.diff, w.HBox([self.compare_pick, self.compare_button]), self.compare_out,
        ])
        self.find_button.on_click(lambda _b: self.find())
        self.apply_button.on_click(lambda _b: self.apply())
        self.action_menu.observe(lambda c: self._show_params(c["new"]), names="value")
        self.render_button.on_click(lambda _b: self.render())
        self.diff_button.on_click(lambda _b: self.show_diff())
        self.restore_button.on_click(lambda _b: self.restore())
        self.compare_button.on_click(lambda _b: self.owner._launch(self.compare()))
        self.refresh()

    def watch(self, tabs: w.Tab) -> None:
        """Refresh (versions sent since, the agent's actions) whenever the tab is opened."""

        def on_select(change: dict[str, Any]) -> None:
            index = change["new"]
            if index is not None and 0 <= index < len(tabs.children) and tabs.children[index] is self.page:
                self.refresh()

        tabs.observe(on_select, names="selected_index")

    # -- actions --------------------------------------------------------------------------------------------------
    def find(self) -> None:
        s = self.owner.session
        names = s.needed_variables(self.owner.message_box.value)
        self.variables.value = format_fields(names, s.variables)
        self.note.value = "" if names else "<i>No {{ variables }} in the instructions or the message.</i>"

    def apply(self) -> None:
        try:
            self.owner.session.set_variables(parse_fields(self.variables.value))
        except PlaygroundError as exc:
            self.note.value = f'<div class="pgw-error">{esc(str(exc))}</div>'
            return
        self.note.value = f"Using {len(self.owner.session.variables)} value(s)."

    def _show_params(self, name: str | None) -> None:
        s = self.owner.session
        self.params.value = format_fields(s.agent_actions().get(name or "", []), s.variables)

    def render(self) -> str | None:
        name = self.action_menu.value
        if not name:
            self.note.value = "<i>Choose an action.</i>"
            return None
        try:
            text = self.owner.session.render_action(name, parse_fields(self.params.value))
        except PlaygroundError as exc:
            self.note.value = f'<div class="pgw-error">{esc(str(exc))}</div>'
            return None
        self.owner.message_box.value = text
        self.note.value = f"Rendered <code>{esc(name)}</code> into the message box; Inspect shows the exact request."
        return text

    def show_diff(self) -> None:
        a, b = self.version_a.value, self.version_b.value
        if a is None or b is None:
            self.diff.value = "<i>Choose two versions.</i>"
            return
        try:
            text = self.owner.session.diff_versions(a, b)
        except PlaygroundError as exc:
            text = str(exc)
        self.diff.value = f"<pre>{esc(text)}</pre>"

    def restore(self) -> None:
        if self.version_a.value is None:
            return
        self.owner.session.restore_version(self.version_a.value)
        self.owner._sync_controls()
        self.owner.refresh()
        self.refresh()

    async def compare(self) -> None:
        s = self.owner.session
        numbers = list(self.compare_pick.value)[:4]
        text = self.owner.message_box.value
        if not numbers or not text.strip():
            self.compare_out.value = "<i>Choose versions and type a message in the chat's box.</i>"
            return
        cols = [CompareColumn(provider=s.provider, model=s.model, base_url=s.base_url, version=n) for n in numbers]
        try:
            outcomes = await s.compare(text, cols)
        except PlaygroundError as exc:
            self.compare_out.value = f'<div class="pgw-error">{esc(str(exc))}</div>'
            return
        self.compare_out.value = "".join(
            f"<div><b>{esc(o.label)}</b></div><div>{esc(o.error or o.text or '(no text)')}</div>" for o in outcomes)

    def refresh(self) -> None:
        s = self.owner.session
        versions = s.prompt_versions()
        self.versions.value = "".join(
            f"<div>v{v.number}{' (last sent)' if v.number == s.last_version else ''}: "
            f"<code>{esc(' '.join(v.instructions.split())[:80])}</code></div>" for v in reversed(versions)
        ) or "<i>No versions yet: each distinct prompt you send becomes one.</i>"
        options = [(f"v{v.number}", v.number) for v in reversed(versions)]
        self.version_a.options = options
        self.version_b.options = options
        self.compare_pick.options = options
        actions = list(s.agent_actions())
        self.action_menu.options = actions
        self.action_menu.value = actions[0] if actions else None
        if actions:
            self._show_params(actions[0])
