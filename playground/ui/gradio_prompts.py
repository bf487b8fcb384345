"""The browser playground's Prompt tab (Gradio layout and wiring only; the actions are the session's,
prompts_session.py): variables of `{{ name }}` templates, an action agent's actions with a form for their params,
and prompt versions (list, diff, restore, compare side by side)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..errors import PlaygroundError
from .prompts_session import format_fields, parse_fields
from .session import CompareColumn, PlaygroundSession


def _variable_fields(s: PlaygroundSession, message: str) -> str:
    return format_fields(s.needed_variables(message or ""), s.variables)


def _version_choices(s: PlaygroundSession) -> list[str]:
    return [f"v{v.number}" for v in reversed(s.prompt_versions())]


def _number(label: str | None) -> int | None:
    return int(label[1:]) if label and label.startswith("v") and label[1:].isdigit() else None


def build_prompt_tab(ui: Any) -> None:
    session = ui.session
    message = ui.components.get("message")
    gr.Markdown("**Variables**: `{{ name }}` in the instructions or the message gets a field here; the filled-in "
                "text is what Inspect and the raw request show.")
    variables = gr.Textbox("", label="Variables (one `name = value` a line)", lines=3, max_lines=12,
                           elem_id="pg-variables")
    with gr.Row():
        find = gr.Button("Find variables", elem_id="pg-variables-find")
        apply_vars = gr.Button("Use these values", variant="primary", elem_id="pg-variables-apply")
    var_note = gr.Markdown("", elem_id="pg-variables-note")

    gr.Markdown("**Actions** of an action agent (its templates render the message).")
    with gr.Row(equal_height=True):
        action = gr.Dropdown([], label="Action", elem_id="pg-action", scale=2)
        render = gr.Button("Render into the message box", elem_id="pg-action-render", scale=1)
    params = gr.Textbox("", label="Params (one `name = value` a line)", lines=3, max_lines=12,
                        elem_id="pg-action-params")
    action_note = gr.Markdown("", elem_id="pg-action-note")

    gr.Markdown("**Versions**: each distinct prompt you send (instructions as written, settings) is numbered.")
    versions = gr.Markdown("", elem_id="pg-versions")
    with gr.Row(equal_height=True):
        va = gr.Dropdown([], label="Version", elem_id="pg-version-a", scale=1)
        vb = gr.Dropdown([], label="Compare with", elem_id="pg-version-b", scale=1)
        diff_btn = gr.Button("Diff", elem_id="pg-version-diff", scale=0)
        restore_btn = gr.Button("Restore", elem_id="pg-version-restore", scale=0)
    diff = gr.Code("", language=None, label="Diff", elem_id="pg-version-diff-text")
    with gr.Row(equal_height=True):
        picked = gr.Dropdown([], multiselect=True, label="Versions side by side (up to 4)", scale=3,
                             elem_id="pg-version-compare")
        compare_btn = gr.Button("Compare versions", elem_id="pg-version-compare-run", scale=1)
    compare_out = gr.Markdown("", elem_id="pg-version-compare-out")

    def on_find(s: PlaygroundSession, text: str) -> list[Any]:
        fields = _variable_fields(s, text)
        note = "" if fields else "*No `{{ variables }}` in the instructions or the message.*"
        return [fields, note]

    def on_apply(s: PlaygroundSession, values: str) -> str:
        try:
            s.set_variables(parse_fields(values))
        except PlaygroundError as exc:
            return f"**{exc}**"
        return f"Using {len(s.variables)} value(s)."

    def on_show(s: PlaygroundSession, text: str) -> list[Any]:
        choices = _version_choices(s)
        actions = list(s.agent_actions())
        return [_variable_fields(s, text), s.versions_markdown(),
                gr.Dropdown(choices=choices, value=choices[-1] if len(choices) > 1 else None),
                gr.Dropdown(choices=choices, value=choices[0] if choices else None),
                gr.Dropdown(choices=choices, value=[]),
                gr.Dropdown(choices=actions, value=actions[0] if actions else None),
                format_fields(s.agent_actions().get(actions[0], []), s.variables) if actions else "",
                "" if actions else "*This agent has no actions (an ActionAgent class has).*"]

    def on_action(s: PlaygroundSession, name: str | None) -> str:
        return format_fields(s.agent_actions().get(name or "", []), s.variables)

    def on_render(s: PlaygroundSession, name: str | None, values: str) -> list[Any]:
        if not name:
            return [gr.skip(), "*Choose an action.*"]
        try:
            text = s.render_action(name, parse_fields(values))
        except PlaygroundError as exc:
            return [gr.skip(), f"**{exc}**"]
        return [text, f"Rendered `{name}`: the message box holds it; **Inspect** shows the exact request."]

    def on_diff(s: PlaygroundSession, a: str | None, b: str | None) -> str:
        na, nb = _number(a), _number(b)
        if na is None or nb is None:
            return "Choose two versions."
        try:
            return s.diff_versions(na, nb)
        except PlaygroundError as exc:
            return str(exc)

    def on_restore(s: PlaygroundSession, a: str | None) -> list[Any]:
        n = _number(a)
        if n is None:
            return [gr.skip(), "Choose a version."]
        try:
            s.restore_version(n)
        except PlaygroundError as exc:
            return [gr.skip(), str(exc)]
        return [s.versions_markdown(), f"Restored v{n}: the instructions and settings are the session's again."]

    async def on_compare(s: PlaygroundSession, chosen: list[str], text: str) -> str:
        numbers = [n for n in (_number(c) for c in chosen or []) if n is not None][:4]
        if not numbers:
            return "Choose one to four versions."
        if not (text or "").strip():
            return "Type a message in the Chat tab's box first: each version answers it."
        cols = [CompareColumn(provider=s.provider, model=s.model, base_url=s.base_url, version=n) for n in numbers]
        try:
            outcomes = await s.compare(text, cols)
        except PlaygroundError as exc:
            return f"**{exc}**"
        parts = []
        for o in outcomes:
            body = o.error or o.text or "(no text)"
            parts.append(f"#### {o.label}\n\n{body}")
        return "\n\n".join(parts)

    msg_input = [message] if message is not None else []
    find.click(lambda s, *t: on_find(s, t[0] if t else ""), [session, *msg_input], [variables, var_note],
               api_visibility="private")
    apply_vars.click(on_apply, [session, variables], [var_note], api_name="set_variables")
    action.input(on_action, [session, action], [params], api_visibility="private")
    render_outputs = [message, action_note] if message is not None else [gr.State(), action_note]
    render.click(on_render, [session, action, params], render_outputs, api_name="render_action")
    diff_btn.click(on_diff, [session, va, vb], [diff], api_name="diff_versions")
    restore_btn.click(on_restore, [session, va], [versions, var_note], api_name="restore_version")
    compare_btn.click(lambda s, c, *t: on_compare(s, c, t[0] if t else ""), [session, picked, *msg_input],
                      [compare_out], api_visibility="private")
    tab = ui.components.get("tab")
    if tab is not None:
        tab.select(lambda s, *t: on_show(s, t[0] if t else ""), [session, *msg_input],
                   [variables, versions, va, vb, picked, action, params, action_note], api_visibility="private")
