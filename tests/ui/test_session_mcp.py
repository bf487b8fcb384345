"""MCP servers in the playground: PlaygroundSession's actions and views (no browser), then the MCP tab in Chromium."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from playground.ui.session import PlaygroundSession, load_agents
from tests.ui.conftest import AGENTS

SERVER = Path(__file__).resolve().parents[1] / "mcp_servers" / "fixture_server.py"
COMMAND = f"{sys.executable} {SERVER} stdio"


async def _drain(events: Any) -> None:
    async for _ in events:
        pass


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("NOTES_FILE", str(tmp_path / "notes.json"))
    monkeypatch.delenv("PLAYGROUND_MCP_COMMANDS", raising=False)
    s = PlaygroundSession(load_agents(AGENTS), agent="notes")
    yield s
    s.close_mcp_servers()
    s.template.close()


def test_agent_servers_tools_are_listed_with_origin_and_hints(session: PlaygroundSession) -> None:
    names = [t["name"] for t in session.tool_schemas()]
    assert names == ["list_notes", "read_note", "add_note", "delete_note"]
    assert session.active_tools == names  # all enabled, as the agent's own tools are
    delete = next(t for t in session.tool_schemas() if t["name"] == "delete_note")
    assert delete["origin"] == "mcp:notes" and delete["requires_approval"] is True
    (server,) = session.mcp_view()
    assert server["added_by"] == "agent" and server["running"]
    hints = {t["name"]: (t["read_only"], t["destructive"]) for t in server["tools"]}
    assert hints["list_notes"] == (True, False) and hints["delete_note"] == (False, True)
    assert "delete_note` (destructive, needs approval)" in session.mcp_markdown()


def test_add_a_server_by_command_run_its_tool_and_see_the_exchange(session: PlaygroundSession) -> None:
    assert session.add_mcp_server(COMMAND, name="fixture") == []
    assert "echo" in session.active_tools and "weather" in session.active_tools
    asyncio.run(_drain(session.send("echo hello")))
    ex = session.exchanges[-1]
    assert ex.result is not None
    (res,) = [r for s in ex.result.steps for r in s.tool_results]
    assert res.tool_name == "echo" and not res.is_error
    from playground.ui.render import exchange_panels

    panels = exchange_panels(ex)
    requests = json.loads(panels.raw_request)
    key = next(k for k in requests if "MCP fixture" in k)
    assert requests[key]["method"] == "tools/call" and requests[key]["params"]["name"] == "echo"
    assert "structuredContent" in json.loads(panels.raw_response)[key]["result"]


def test_destructive_mcp_tool_waits_and_the_card_names_the_server(session: PlaygroundSession) -> None:
    asyncio.run(_drain(session.send("delete note groceries")))
    assert session.pending is not None
    assert session.pending.tool_name == "delete_note"
    assert session.pending.schema["origin"] == "mcp:notes"


def test_disabled_mcp_tool_is_not_offered(session: PlaygroundSession) -> None:
    session.add_mcp_server(COMMAND, name="fixture")
    session.set_active_tools([n for n in session.active_tools if n != "echo"])
    preview = session.inspect("echo hello")
    offered = json.dumps(preview)
    assert '"weather"' in offered and '"echo"' not in offered
    view = next(s for s in session.mcp_view() if s["name"] == "fixture")
    assert next(t for t in view["tools"] if t["name"] == "echo")["enabled"] is False


def test_remove_and_clashes_and_bad_input(session: PlaygroundSession) -> None:
    assert session.add_mcp_server(COMMAND, name="fixture") == []
    problems = session.add_mcp_server(COMMAND, name="second")
    assert problems and "clash" in problems[0] and "prefix" in problems[0]
    assert session.add_mcp_server(COMMAND, name="second", prefix="b") == []
    assert "b_echo" in session.active_tools
    session.remove_mcp_server("second")
    assert "b_echo" not in session.active_tools and "b_echo" not in [t["name"] for t in session.tool_schemas()]
    assert "type a command" in session.add_mcp_server("   ")[0]
    assert "could not be started" in session.add_mcp_server(f"{sys.executable} -c 'import sys; sys.exit(4)'")[0]


def test_commands_are_refused_when_the_operator_forbids_them(session: PlaygroundSession,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MCP_COMMANDS", "0")
    s = PlaygroundSession(load_agents(AGENTS), agent="notes")
    problems = s.add_mcp_server(COMMAND)
    assert problems and "turned off" in problems[0]


def test_header_credentials_never_show(session: PlaygroundSession) -> None:
    secret = "sk-header-canary-5151"
    problems = session.add_mcp_server("http://127.0.0.1:9/mcp", headers=f"Authorization: Bearer {secret}",
                                      name="nowhere")
    assert problems  # nothing listens on port 9
    assert secret not in " ".join(problems)
    assert secret not in session.mcp_markdown()


@pytest.mark.browser
def test_mcp_tab_adds_a_server_and_its_tools_join_the_tools_list(browser: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        page.goto(app_url)
        page.get_by_role("button", name="Send", exact=True).wait_for(timeout=60_000)
        page.get_by_role("tab", name="MCP").click()
        page.locator("#pg-mcp-target textarea, #pg-mcp-target input").first.fill(COMMAND)
        page.locator("#pg-mcp-name textarea, #pg-mcp-name input").first.fill("fixture")
        page.locator("#pg-mcp-add").click()
        listing = page.locator("#pg-mcp-servers")
        problem = page.locator("#pg-mcp-problem")
        page.wait_for_function(
            "() => /fixture|Could not/.test((document.querySelector('#pg-mcp-servers')?.innerText || '') + "
            "(document.querySelector('#pg-mcp-problem')?.innerText || ''))", timeout=90_000)
        assert "Could not" not in problem.inner_text(), problem.inner_text()
        expect(listing).to_contain_text("fixture", timeout=10_000)
        expect(listing).to_contain_text("delete_file", timeout=5_000)
        expect(listing).to_contain_text("needs approval")
        # the settings column's Tools list now offers them
        expect(page.get_by_role("checkbox", name="weather", exact=True)).to_be_visible(timeout=10_000)
        page.get_by_label("Server added here", exact=True).click()
        page.get_by_role("option", name="fixture").click()
        page.locator("#pg-mcp-remove").click()
        expect(listing).not_to_contain_text("fixture", timeout=10_000)
    finally:
        page.close()


def test_only_a_loopback_playground_starts_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    from playground.ui.mcp_tools import commands_allowed_for_host

    monkeypatch.delenv("PLAYGROUND_MCP_COMMANDS", raising=False)
    assert commands_allowed_for_host("127.0.0.1") and not commands_allowed_for_host("0.0.0.0")
    import os

    assert "PLAYGROUND_MCP_COMMANDS" not in os.environ  # asking changes nothing for other apps in the process
    monkeypatch.setenv("PLAYGROUND_MCP_COMMANDS", "1")
    assert commands_allowed_for_host("0.0.0.0")
    monkeypatch.setenv("PLAYGROUND_MCP_COMMANDS", "0")
    assert not commands_allowed_for_host("127.0.0.1")
