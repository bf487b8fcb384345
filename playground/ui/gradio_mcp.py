"""The browser playground's MCP tab (Gradio layout and wiring only; the actions are the session's, mcp_tools.py).

Add a server by command or URL (with headers, e.g. an Authorization header, which never comes back to the page), see
its tools with their origin and hints, remove it. Its tools join the settings column's Tools list, where they are
enabled or disabled like the agent's own.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .session import PlaygroundSession


def _server_names(s: PlaygroundSession) -> list[str]:
    return [srv.name for srv in s.mcp_servers]


def build_mcp_tab(ui: Any) -> None:
    """`ui` is gradio_app.Ui: the session state and the settings column's tools components."""
    session = ui.session
    tools = ui.components.get("tools")
    tool_schemas = ui.components.get("tool_schemas")
    tool_choice = ui.components.get("tool_choice")
    gr.Markdown(
        "Tools from **MCP servers** (Model Context Protocol). A command runs the server on this machine over "
        "stdio (`python -m my_server`); a URL reaches a streamable-HTTP server (`http://127.0.0.1:8000/mcp`). "
        "Tools hinted destructive (or not marked read-only) wait for your approval."
    )
    with gr.Row(equal_height=True):
        target = gr.Textbox("", label="Command or URL", scale=4, elem_id="pg-mcp-target",
                            placeholder="python -m my_server   or   http://127.0.0.1:8000/mcp")
        name = gr.Textbox("", label="Name (optional)", scale=1, elem_id="pg-mcp-name")
        prefix = gr.Textbox("", label="Tool prefix (optional)", scale=1, elem_id="pg-mcp-prefix",
                            info="keeps two servers' tools apart")
    headers = gr.Textbox("", label="Headers (URL only, one `Name: value` a line)", lines=2, max_lines=6,
                         elem_id="pg-mcp-headers", type="text",
                         placeholder="Authorization: Bearer ...")
    with gr.Row():
        add = gr.Button("Add server", variant="primary", elem_id="pg-mcp-add", scale=1)
        remove_name = gr.Dropdown([], label="Server added here", scale=2, elem_id="pg-mcp-remove-name")
        remove = gr.Button("Remove", elem_id="pg-mcp-remove", scale=1)
        refresh = gr.Button("Refresh", elem_id="pg-mcp-refresh", scale=1)
    listing = gr.Markdown("_No MCP servers. Add one by command or URL._", elem_id="pg-mcp-servers")
    problem = gr.Markdown("", elem_id="pg-mcp-problem")

    def _tool_updates(s: PlaygroundSession) -> list[Any]:
        out: list[Any] = []
        if tools is not None:
            out.append(gr.CheckboxGroup(choices=list(s.all_tools()), value=list(s.active_tools)))
        if tool_schemas is not None:
            from .gradio_app import _tools_markdown

            out.append(gr.Markdown(_tools_markdown(s)))
        if tool_choice is not None:
            out.append(gr.Dropdown(choices=["auto", "none", "required", *s.active_tools], value=s.tool_choice))
        return out

    extra = [c for c in (tools, tool_schemas, tool_choice) if c is not None]

    def on_add(s: PlaygroundSession, target_text: str, name_text: str, prefix_text: str,
               header_text: str) -> list[Any]:
        problems = s.add_mcp_server(target_text, headers=header_text or None, name=name_text or None,
                                    prefix=prefix_text or None)
        said = "; ".join(s.mask(p) for p in problems)
        # the headers field is emptied once the server is added: its credentials never come back to the page
        return [
            gr.Markdown(s.mcp_markdown()),
            gr.Markdown(f"**Could not add the server:** {said}" if said else ""),
            gr.Dropdown(choices=_server_names(s), value=None),
            gr.Textbox(value=target_text if problems else ""),
            gr.Textbox(value=header_text if problems else ""),
            *_tool_updates(s),
        ]

    def on_remove(s: PlaygroundSession, server_name: str | None) -> list[Any]:
        said = ""
        if server_name:
            try:
                s.remove_mcp_server(server_name)
            except Exception as exc:  # the session's message names what is wrong
                said = str(exc)
        return [
            gr.Markdown(s.mcp_markdown()),
            gr.Markdown(f"**Could not remove:** {said}" if said else ""),
            gr.Dropdown(choices=_server_names(s), value=None),
            *_tool_updates(s),
        ]

    def on_show(s: PlaygroundSession) -> list[Any]:
        return [gr.Markdown(s.mcp_markdown()), gr.Dropdown(choices=_server_names(s), value=None)]

    add.click(on_add, [session, target, name, prefix, headers],
              [listing, problem, remove_name, target, headers, *extra], api_name="add_mcp_server")
    remove.click(on_remove, [session, remove_name], [listing, problem, remove_name, *extra],
                 api_name="remove_mcp_server")
    refresh.click(on_show, [session], [listing, remove_name], api_visibility="private")
    tab = ui.components.get("tab")
    if tab is not None:  # the agent's own servers, and a server that died since, show when the tab is opened
        tab.select(on_show, [session], [listing, remove_name], api_visibility="private")
