"""The notebook playground's MCP servers box: add a server by command, its tools join the Tools checkboxes, the
approval card names the server, headers are not kept in widget state, remove."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from playground.ui.session import PlaygroundSession, load_agents
from playground.ui.widgets import PlaygroundWidget

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "tests" / "mcp_servers" / "fixture_server.py"


@pytest.fixture
def pg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("NOTES_FILE", str(tmp_path / "notes.json"))
    monkeypatch.delenv("PLAYGROUND_MCP_COMMANDS", raising=False)
    session = PlaygroundSession(load_agents(REPO / "agents"), agent="notes")
    widget = PlaygroundWidget(session)
    yield widget
    session.close_mcp_servers()
    session.template.close()


def test_agent_servers_show_with_their_tools(pg: PlaygroundWidget) -> None:
    assert list(pg.tool_boxes) == ["list_notes", "read_note", "add_note", "delete_note"]
    html = pg.mcp_ui.listing.value
    assert "<b>notes</b> (agent, running)" in html
    assert "<code>delete_note</code> (destructive, needs approval)" in html


def test_add_and_remove_a_server_from_the_box(pg: PlaygroundWidget) -> None:
    ui = pg.mcp_ui
    ui.target_box.value = f"{sys.executable} {SERVER} stdio"
    ui.name_box.value = "fixture"
    ui.headers_box.value = ""
    assert ui.add() == []
    assert {"echo", "weather", "delete_file"} <= set(pg.tool_boxes)
    assert pg.tool_boxes["echo"].value is True  # enabled like the agent's own tools
    assert ui.remove_menu.options == ("fixture",)
    assert "<b>fixture</b> (added here, running)" in ui.listing.value
    pg.tool_boxes["echo"].value = False  # disable one: the session's active tools follow
    assert "echo" not in pg.session.active_tools
    ui.remove()
    assert "echo" not in pg.tool_boxes and ui.remove_menu.options == ()


def test_a_bad_server_says_why_and_headers_are_not_kept(pg: PlaygroundWidget) -> None:
    ui = pg.mcp_ui
    ui.target_box.value = "http://127.0.0.1:9/mcp"
    ui.headers_box.value = "Authorization: Bearer sk-widget-canary-9191"
    problems = ui.add()
    assert problems
    assert "Could not add the server" in ui.message.value
    assert ui.headers_box.value == ""  # never kept in widget state
    assert "sk-widget-canary-9191" not in ui.message.value + ui.listing.value


def test_approval_card_names_the_mcp_server(pg: PlaygroundWidget) -> None:
    async def go() -> None:
        async for _ in pg.session.send("delete note groceries"):
            pass

    asyncio.run(go())
    pg.refresh()
    assert pg.session.pending is not None
    assert "from MCP server <b>notes</b>" in pg.approval_text.value
