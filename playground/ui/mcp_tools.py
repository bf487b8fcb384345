"""MCP servers in the playground (a PlaygroundSession mixin, so the browser and the notebook reach it alike).

A person adds a server by command (`python -m my_server`, run over stdio) or by URL (streamable HTTP), sees its tools
with their origin and hints, and enables or disables them with the same Tools control as the agent's own tools. An
agent's own toolsets (`Agent(toolsets=[...])`) are listed too.

Starting a command is running a program on the machine that serves the playground, so the browser playground allows
it only when bound to loopback or when the operator says so (`PLAYGROUND_MCP_COMMANDS=1`); URLs are always allowed.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, PlaygroundError

if TYPE_CHECKING:
    from ..agent import Agent
    from ..mcp import MCPServer
    from ..tools import Tool

MCP_COMMANDS_ENV = "PLAYGROUND_MCP_COMMANDS"


def commands_allowed_by_env() -> bool | None:
    """PLAYGROUND_MCP_COMMANDS=1 allows starting MCP server commands from the page, =0 forbids; unset: None."""
    value = os.environ.get(MCP_COMMANDS_ENV, "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return None


def commands_allowed_for_host(host: str) -> bool:
    """A playground served beyond loopback lets no visitor start a command, unless the operator said so
    (PLAYGROUND_MCP_COMMANDS=1)."""
    from_env = commands_allowed_by_env()
    if from_env is not None:
        return from_env
    return host in ("127.0.0.1", "localhost", "::1")


def parse_headers(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """Headers typed one per line as `Name: value` (or a mapping)."""
    if text is None:
        return {}
    if isinstance(text, Mapping):
        return {str(k): str(v) for k, v in text.items()}
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ConfigurationError(f"Headers, line {n}: write `Name: value`", field="headers")
        out[name.strip()] = value.strip()
    return out


class MCPMixin:
    """MCP server actions and views of PlaygroundSession."""

    agents: dict[str, Agent]
    agent_name: str
    active_tools: list[str]
    notice: str | None

    def _init_mcp(self, allow_commands: bool = True) -> None:
        from_env = commands_allowed_by_env()
        self.mcp_commands_allowed = allow_commands if from_env is None else from_env
        self.mcp_servers: list[MCPServer] = []
        self.mcp_problems: dict[str, str] = {}  # server name -> why its tools are missing

    # -- tools of the session -------------------------------------------------------------------------------------
    def _agent_toolsets(self) -> list[Any]:
        return list(getattr(self.agents[self.agent_name], "toolsets", []) or [])

    def all_tools(self) -> dict[str, Tool]:
        """The chosen agent's tools, its own toolsets' tools and those of the servers added in this session.

        A server that cannot start is left out, and `mcp_problems` says why (shown beside the Tools control)."""
        tools: dict[str, Tool] = dict(self.agents[self.agent_name].tools)
        for server in [*self._agent_toolsets(), *self.mcp_servers]:
            try:
                listed = server.tools()
            except PlaygroundError as exc:
                self.mcp_problems[server.name] = str(exc)
                continue
            self.mcp_problems.pop(server.name, None)
            for name, t in listed.items():
                if name in tools:
                    self.mcp_problems[server.name] = (
                        f"tool {name!r} clashes with another tool of that name; add the server again with a prefix"
                    )
                    continue
                tools[name] = t
        return tools

    # -- actions --------------------------------------------------------------------------------------------------
    def add_mcp_server(
        self,
        target: str,
        *,
        headers: str | Mapping[str, str] | None = None,
        name: str | None = None,
        prefix: str | None = None,
    ) -> list[str]:
        """Connect an MCP server by command line or URL; its tools join the Tools list, all enabled.

        Returns problems to show (empty when it worked). The server starts now, so a bad command says so at once."""
        from ..mcp import MCPServerHTTP, MCPServerStdio

        target = (target or "").strip()
        if not target:
            return ["MCP server: type a command (python -m my_server) or a URL (http://127.0.0.1:8000/mcp)"]
        try:
            server: MCPServer
            if target.startswith(("http://", "https://")):
                server = MCPServerHTTP(target, headers=parse_headers(headers), name=name or None, prefix=prefix or None)
            else:
                if not self.mcp_commands_allowed:
                    return [
                        "MCP server: starting a command is turned off on this server (it would run on the host); "
                        f"connect by URL, or start the playground on 127.0.0.1 or with {MCP_COMMANDS_ENV}=1"
                    ]
                if headers:
                    return ["MCP server: headers go with a URL; a command gets what it needs from its arguments"]
                try:
                    argv = shlex.split(target)
                except ValueError as exc:
                    return [f"MCP server: the command could not be read ({exc})"]
                server = MCPServerStdio(argv[0], argv[1:], name=name or None, prefix=prefix or None)
            if any(s.name == server.name for s in [*self._agent_toolsets(), *self.mcp_servers]):
                return [f"MCP server: one named {server.name!r} is already connected; give another name"]
            before = set(self.all_tools())
            listed = server.tools()
        except PlaygroundError as exc:
            return [f"MCP server: {exc}"]
        clashes = sorted(set(listed) & before)
        if clashes:
            server.close()
            return [
                f"MCP server {server.name!r}: its tool(s) {', '.join(map(repr, clashes))} clash with tools already "
                "here; add it again with a prefix"
            ]
        self.mcp_servers.append(server)
        self.active_tools = [*self.active_tools, *(n for n in listed if n not in self.active_tools)]
        return []

    def remove_mcp_server(self, name: str) -> None:
        """Disconnect a server added in this session (its process ends); its tools leave the Tools list."""
        for server in list(self.mcp_servers):
            if server.name == name:
                gone = set(server.tools()) if server.is_running else set()
                server.close()
                self.mcp_servers.remove(server)
                self.active_tools = [n for n in self.active_tools if n not in gone]
                self.mcp_problems.pop(name, None)
                return
        raise ConfigurationError(f"MCP server: none named {name!r} was added in this session", field="mcp_server")

    def close_mcp_servers(self) -> None:
        for server in self.mcp_servers:
            server.close()

    # -- view -----------------------------------------------------------------------------------------------------
    def mcp_view(self) -> list[dict[str, Any]]:
        """Every connected server with its tools: name, origin, hints, whether it needs approval, whether enabled."""
        tools = self.all_tools()
        out: list[dict[str, Any]] = []
        own = self._agent_toolsets()
        for server in [*own, *self.mcp_servers]:
            entry: dict[str, Any] = {
                "name": server.name,
                "target": server.target,
                "added_by": "agent" if server in own else "session",
                "running": server.is_running,
                "problem": self.mcp_problems.get(server.name),
                "tools": [],
            }
            for tname, t in tools.items():
                if getattr(t, "toolset", None) is not server:
                    continue
                annotations = dict(getattr(t, "annotations", {}) or {})
                entry["tools"].append({
                    "name": tname,
                    "description": t.description,
                    "read_only": annotations.get("readOnlyHint") is True,
                    "destructive": bool(getattr(t, "destructive", False)),
                    "requires_approval": t.requires_approval is not False,
                    "enabled": tname in self.active_tools,
                    "annotations": annotations,
                })
            out.append(entry)
        return out

    def mcp_markdown(self) -> str:
        """The servers and their tools as Markdown (the Tools section of both front ends)."""
        view = self.mcp_view()
        if not view:
            return "_No MCP servers. Add one by command or URL._"
        lines: list[str] = []
        for s in view:
            state = "running" if s["running"] else "stopped"
            lines.append(f"**{s['name']}** ({'agent' if s['added_by'] == 'agent' else 'added here'}, {state}) "
                         f"`{s['target']}`")
            if s["problem"]:
                lines.append(f"- problem: {s['problem']}")
            for t in s["tools"]:
                hints = ["read-only" if t["read_only"] else "destructive" if t["destructive"] else "writes"]
                if t["requires_approval"]:
                    hints.append("needs approval")
                if not t["enabled"]:
                    hints.append("disabled")
                lines.append(f"- `{t['name']}` ({', '.join(hints)}): {t['description'] or '(no description)'}")
        return "\n".join(lines)
