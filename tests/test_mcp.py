"""MCP servers as toolsets: real servers written with the official SDK (a stdio subprocess and a streamable-HTTP
server on 127.0.0.1), driven through the agent with a scripted OpenAI-compatible model on MockTransport."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, ConfigurationError, InMemoryRunStore
from playground.mcp import MCPServerError, MCPServerHTTP, MCPServerStdio, MCPTool
from tests.scripted import Scripted, completion

SERVER = str(Path(__file__).parent / "mcp_servers" / "fixture_server.py")
TOKEN = "sk-mcp-canary-7f3a9c2e1d"


def stdio_server(tmp_path: Path, **options: Any) -> MCPServerStdio:
    env = {"CALLS_FILE": str(tmp_path / "calls.jsonl"), "FIXTURE_TOKEN": TOKEN, **options.pop("env", {})}
    return MCPServerStdio(sys.executable, [SERVER, "stdio"], env=env, **options)


def calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def scripted_agent(script: Scripted, server: Any, **kwargs: Any) -> Agent:
    return Agent(
        name="mcp-test",
        model="openai-chat:gpt-test",
        api_key="sk-test-key-0000",
        http_client=script.client(),
        async_http_client=script.async_client(),
        storage=InMemoryRunStore(),
        toolsets=[server] if not isinstance(server, list) else server,
        **kwargs,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MCPServerStdio]:
    s = stdio_server(tmp_path, name="fixture")
    yield s
    s.close()


# -- listing -----------------------------------------------------------------------------------------------------------
def test_tools_are_listed_with_schema_origin_and_hints(server: MCPServerStdio) -> None:
    tools = server.tools()
    assert {"echo", "weather", "picture", "readme", "delete_file", "write_file", "fail", "crash", "hang"} <= set(tools)
    echo = tools["echo"]
    assert isinstance(echo, MCPTool)
    assert echo.parameters["properties"]["text"]["type"] == "string"
    assert echo.parameters["required"] == ["text"]
    assert echo.description == "Echo the text back."
    schema = echo.schema()
    assert schema["origin"] == "mcp:fixture"
    assert schema["annotations"]["readOnlyHint"] is True
    assert tools["delete_file"].schema()["annotations"]["destructiveHint"] is True


def test_server_starts_on_first_use_and_closes(server: MCPServerStdio) -> None:
    assert not server.is_running
    server.tools()
    assert server.is_running
    server.close()
    assert not server.is_running
    assert server.call_tool("echo", {"text": "again"}) == {"result": "echo: again"}  # starts again on use


# -- approval ----------------------------------------------------------------------------------------------------------
def test_default_approval_follows_the_hints(server: MCPServerStdio) -> None:
    tools = server.tools()
    assert tools["echo"].requires_approval is False  # read-only
    assert tools["delete_file"].requires_approval is True  # destructive
    assert tools["write_file"].requires_approval is True  # no hints: the spec's default is destructive


def test_destructive_tool_needs_approval_even_when_server_says_no(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, requires_approval=False)
    try:
        tools = s.tools()
        assert tools["delete_file"].requires_approval is True
        assert tools["write_file"].requires_approval is False
    finally:
        s.close()


def test_per_tool_policy_overrides(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, requires_approval=True, tool_approval={"delete_file": False, "echo": True})
    try:
        tools = s.tools()
        assert tools["delete_file"].requires_approval is False
        assert tools["weather"].requires_approval is True
    finally:
        s.close()


def test_destructive_call_suspends_and_runs_only_after_approval(server: MCPServerStdio, tmp_path: Path) -> None:
    script = Scripted(
        completion(tool_calls=[("c1", "delete_file", {"path": "/tmp/x"})]),
        completion("Deleted."),
    )
    agent = scripted_agent(script, server)
    r = agent.generate("delete /tmp/x")
    assert r.finish_reason == "suspended"
    assert r.suspend_payload is not None and r.suspend_payload.tool_name == "delete_file"
    assert calls(tmp_path) == []  # nothing ran on the server
    done = agent.approve_tool_call(run_id=r.run_id, tool_call_id=r.suspend_payload.tool_call_id)
    assert done.text == "Deleted."
    assert calls(tmp_path) == [{"tool": "delete_file", "args": {"path": "/tmp/x"}}]


def test_declined_call_never_reaches_the_server(server: MCPServerStdio, tmp_path: Path) -> None:
    script = Scripted(completion(tool_calls=[("c1", "delete_file", {"path": "/etc"})]), completion("OK, not deleted."))
    agent = scripted_agent(script, server)
    r = agent.generate("delete /etc")
    assert r.suspend_payload is not None
    done = agent.decline_tool_call(run_id=r.run_id, tool_call_id=r.suspend_payload.tool_call_id, reason="no")
    assert done.text == "OK, not deleted."
    assert calls(tmp_path) == []


def test_call_level_require_tool_approval_applies_to_mcp_tools(server: MCPServerStdio, tmp_path: Path) -> None:
    script = Scripted(completion(tool_calls=[("c1", "echo", {"text": "hi"})]), completion("done"))
    agent = scripted_agent(script, server)
    r = agent.generate("echo hi", require_tool_approval=True)
    assert r.finish_reason == "suspended"
    assert calls(tmp_path) == []


# -- calling and results -------------------------------------------------------------------------------------------
def test_results_are_mapped(server: MCPServerStdio) -> None:
    assert server.call_tool("echo", {"text": "hi"}) == {"result": "echo: hi"}
    assert server.call_tool("weather", {"city": "Oslo"}) == {"city": "Oslo", "temp_c": 21, "sky": "clear"}
    picture = server.call_tool("picture")
    assert picture[0]["type"] == "image" and picture[0]["mime_type"] == "image/png" and picture[0]["data"]
    readme = server.call_tool("readme")
    assert readme == [{"type": "resource", "uri": "file:///readme.md", "mime_type": "text/markdown", "text": "# Hi"}]


def test_tool_run_through_the_agent_and_its_raw_exchange(server: MCPServerStdio, tmp_path: Path) -> None:
    script = Scripted(completion(tool_calls=[("c1", "weather", {"city": "Paris"})]), completion("21C and clear."))
    agent = scripted_agent(script, server)
    r = agent.generate("weather in Paris?")
    assert r.text == "21C and clear."
    (res,) = r.tool_results
    assert res.result == {"city": "Paris", "temp_c": 21, "sky": "clear"} and not res.is_error
    # the model saw the result on the wire
    tool_msg = script.bodies[1]["messages"][-1]
    assert tool_msg["role"] == "tool" and "Paris" in tool_msg["content"]
    exchange = server.tools()["weather"].exchange_for("c1")
    assert exchange is not None
    assert exchange["request"] == {
        "jsonrpc": "2.0",
        "method": "tools/call",
        "params": {"name": "weather", "arguments": {"city": "Paris"}},
    }
    assert exchange["response"]["result"]["structuredContent"]["city"] == "Paris"


def test_is_error_becomes_a_tool_error_the_model_sees(server: MCPServerStdio) -> None:
    script = Scripted(completion(tool_calls=[("c1", "fail", {"reason": "boom"})]), completion("It failed."))
    agent = scripted_agent(script, server)
    r = agent.generate("try it")
    (res,) = r.tool_results
    assert res.is_error
    assert "fail" in str(res.result)
    assert script.bodies[1]["messages"][-1]["role"] == "tool"


def test_invalid_arguments_are_refused_before_the_server(server: MCPServerStdio, tmp_path: Path) -> None:
    script = Scripted(completion(tool_calls=[("c1", "echo", {"text": 5})]), completion("sorry"))
    agent = scripted_agent(script, server)
    r = agent.generate("echo")
    (res,) = r.tool_results
    assert res.is_error and "text" in str(res.result)
    assert calls(tmp_path) == []


def test_stream_and_async(server: MCPServerStdio, tmp_path: Path) -> None:
    script = Scripted(
        completion(tool_calls=[("c1", "echo", {"text": "one"})]),
        completion("one"),
        completion(tool_calls=[("c2", "echo", {"text": "two"})]),
        completion("two"),
    )
    agent = scripted_agent(script, server)
    run = agent.stream("echo one")
    kinds = [e.type for e in run]
    assert "tool-result" in kinds
    assert run.final_result().text.strip() == "one"

    async def go() -> Any:
        return await agent.generate_async("echo two")

    r = asyncio.run(go())
    assert r.text == "two"
    assert [c["args"]["text"] for c in calls(tmp_path)] == ["one", "two"]


# -- names -------------------------------------------------------------------------------------------------------------
def test_name_clash_between_servers_is_an_error_unless_prefixed(tmp_path: Path) -> None:
    a = stdio_server(tmp_path, name="a")
    b = stdio_server(tmp_path, name="b")
    try:
        agent = Agent(model="demo", toolsets=[a, b], storage=InMemoryRunStore())
        with pytest.raises(ConfigurationError, match="clashes") as err:
            agent.prompt("hi").tools  # noqa: B018
        assert "prefix=" in str(err.value)
        b2 = stdio_server(tmp_path, name="b2", prefix="b")
        try:
            agent = Agent(model="demo", toolsets=[a, b2], storage=InMemoryRunStore())
            names = {t["name"] for t in agent.prompt("hi").tools}
            assert {"echo", "b_echo"} <= names
        finally:
            b2.close()
    finally:
        a.close()
        b.close()


def test_allowed_tools_and_unknown_names(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, allowed_tools=["echo"])
    try:
        assert list(s.tools()) == ["echo"]
    finally:
        s.close()
    bad = stdio_server(tmp_path, allowed_tools=["nope"])
    try:
        with pytest.raises(ConfigurationError, match="nope"):
            bad.tools()
    finally:
        bad.close()


def test_bad_configuration_names_the_field() -> None:
    with pytest.raises(ConfigurationError, match="command"):
        MCPServerStdio("")
    with pytest.raises(ConfigurationError, match="args"):
        MCPServerStdio("python", "-m server")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="url"):
        MCPServerHTTP("localhost:8000")
    with pytest.raises(ConfigurationError, match="timeout"):
        MCPServerHTTP("http://127.0.0.1:1/mcp", timeout=0)
    with pytest.raises(ConfigurationError, match="toolsets"):
        Agent(model="demo", toolsets=[object()])


# -- failures ------------------------------------------------------------------------------------------------------
def test_server_that_fails_to_start_is_a_clear_error_with_its_stderr(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, env={"FIXTURE_FAIL_AT_START": "1"}, connect_timeout=20)
    with pytest.raises(MCPServerError) as err:
        s.tools()
    assert "could not be started" in str(err.value) or "did not answer" in str(err.value)
    assert "FIXTURE_FAIL_AT_START is set" in err.value.stderr_tail
    s.close()


def test_silent_server_times_out_at_start(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, env={"FIXTURE_SILENT": "1"}, connect_timeout=2)
    t0 = time.monotonic()
    with pytest.raises(MCPServerError, match="did not answer within 2 s"):
        s.tools()
    assert time.monotonic() - t0 < 30
    s.close()


def test_hanging_tool_is_a_tool_error_not_a_hung_call(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, timeout=1.5)
    try:
        script = Scripted(completion(tool_calls=[("c1", "hang", {"seconds": 30})]), completion("timed out"))
        agent = scripted_agent(script, s)
        t0 = time.monotonic()
        r = agent.generate("hang")
        assert time.monotonic() - t0 < 20
        (res,) = r.tool_results
        assert res.is_error and "did not answer within 1.5 s" in str(res.result)
    finally:
        s.close()


def test_crashing_server_is_a_tool_error_with_stderr_tail_and_masked_env(tmp_path: Path) -> None:
    s = stdio_server(tmp_path, env={"FIXTURE_API_KEY": TOKEN})
    try:
        script = Scripted(completion(tool_calls=[("c1", "crash", {})]), completion("it crashed"))
        agent = scripted_agent(script, s)
        r = agent.generate("crash")
        (res,) = r.tool_results
        assert res.is_error
        assert "exited" in str(res.result) or "failed" in str(res.result)
        assert "crashing on purpose" in str(res.result)
        assert TOKEN not in str(res.result)  # FIXTURE_TOKEN is printed; its value is a credential-named env var
        assert TOKEN not in r.model_dump_json()
        # the next use starts the server afresh
        assert s.call_tool("echo", {"text": "back"}) == {"result": "echo: back"}
    finally:
        s.close()


# -- streamable HTTP -------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port), TOKEN], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"MCP HTTP fixture server exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


def test_http_server_with_credential_header(http_server: str) -> None:
    remote = MCPServerHTTP(http_server, headers={"Authorization": f"Bearer {TOKEN}"}, name="remote")
    try:
        assert remote.call_tool("echo", {"text": "over http"}) == {"result": "echo: over http"}
        script = Scripted(completion(tool_calls=[("c1", "weather", {"city": "Rome"})]), completion("Rome is clear."))
        agent = scripted_agent(script, remote)
        r = agent.generate("weather in Rome")
        assert r.tool_results[0].result["city"] == "Rome"
        assert TOKEN not in repr(remote)
        assert TOKEN not in r.model_dump_json()
        assert TOKEN not in json.dumps(remote.exchange("c1"))
    finally:
        remote.close()


def test_http_server_refusing_our_credentials_is_a_clear_error(http_server: str) -> None:
    remote = MCPServerHTTP(http_server, headers={"Authorization": "Bearer wrong-token-123456"}, connect_timeout=10)
    with pytest.raises(MCPServerError) as err:
        remote.tools()
    assert "could not be started" in str(err.value) or "did not answer" in str(err.value)
    assert "wrong-token-123456" not in str(err.value)
    remote.close()


def test_agent_context_manager_closes_its_servers(tmp_path: Path) -> None:
    s = stdio_server(tmp_path)
    with Agent(model="demo", toolsets=[s], storage=InMemoryRunStore()) as agent:
        assert "echo" in {t["name"] for t in agent.prompt("hi").tools}
        assert s.is_running
    assert not s.is_running


def test_example_notes_agent_runs_offline_on_the_demo_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_FILE", str(tmp_path / "notes.json"))
    import importlib.util

    spec = importlib.util.spec_from_file_location("notes_example", Path(__file__).parent.parent / "agents" / "notes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent: Agent = module.agent
    agent.storage = InMemoryRunStore()
    try:
        r = agent.generate("list notes")
        assert [t.tool_name for t in r.tool_results] == ["list_notes"]
        r = agent.generate("delete note groceries")
        assert r.finish_reason == "suspended" and r.suspend_payload is not None
        assert r.suspend_payload.tool_name == "delete_note"
    finally:
        agent.close()
