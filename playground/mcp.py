"""Tools from Model Context Protocol servers, approved and inspected like any other tool.

    from playground import Agent
    from playground.mcp import MCPServerStdio, MCPServerHTTP
    files = MCPServerStdio("python", ["-m", "my_server"])
    remote = MCPServerHTTP("http://127.0.0.1:8000/mcp", headers={"Authorization": "Bearer ..."}, requires_approval=True)
    with Agent(model="demo", toolsets=[files, remote]) as agent:
        agent.generate("...")

Built on the official `mcp` SDK (stdio and streamable HTTP). Each server's client session lives on one event loop in a
daemon thread of its own, so the same server serves sync and async runs alike, and a call from either side is bounded by
a timeout: a server that dies or hangs is a clear error carrying the tail of its stderr, never a hung call.

Approval: a tool's policy is, in order, `tool_approval[name]` if given, else the server's `requires_approval` if it is a
bool or a policy, else the tool's annotations: a tool needs approval unless its server marks it read-only
(`readOnlyHint`) or non-destructive (`destructiveHint: false`), as the MCP spec's defaults say. A tool hinted
destructive needs approval even on a server with `requires_approval=False`, unless `tool_approval` names it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import tempfile
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from typing import IO, Any, TextIO, TypeVar, cast

from .errors import ConfigurationError, PlaygroundError, ToolError
from .tools import ApprovalPolicy, Tool, ToolContext

T = TypeVar("T")

DEFAULT_CALL_TIMEOUT_SECONDS = 60.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 30.0
_STDERR_TAIL_CHARS = 2000
_NO_CONTEXT = ToolContext(run_id="", tool_call_id="", tool_name="")
_CREDENTIAL_NAME = re.compile(r"auth|key|token|secret|password|passwd|cookie|credential", re.I)


class MCPServerError(PlaygroundError):
    """An MCP server could not be started, answered wrongly, died or did not answer in time.

    `stderr_tail` holds the last lines the server wrote to stderr (secrets masked), which is usually the reason."""

    def __init__(self, message: str, *, server: str, stderr_tail: str = "") -> None:
        if stderr_tail:
            message = f"{message}\n--- last lines of its stderr ---\n{stderr_tail}"
        super().__init__(message)
        self.server = server
        self.stderr_tail = stderr_tail


class MCPTool(Tool):
    """A tool listed by an MCP server. `server` names where it comes from; `annotations` are the server's hints
    (`readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`, `title`), shown to the person."""

    server: str
    mcp_name: str
    annotations: dict[str, Any]
    toolset: MCPServer

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "origin": f"mcp:{self.server}", "annotations": dict(self.annotations)}

    def exchange_for(self, tool_call_id: str) -> dict[str, Any] | None:
        """The JSON-RPC request and response of this tool's call with that id (for the raw views)."""
        return self.toolset.exchange(tool_call_id)

    @property
    def read_only(self) -> bool:
        return self.annotations.get("readOnlyHint") is True

    @property
    def destructive(self) -> bool:
        """True when the server says so, or says nothing (the MCP spec's default for a tool that is not read-only)."""
        return not self.read_only and self.annotations.get("destructiveHint") is not False


class _Portal:
    """An event loop on a daemon thread: the server's session lives here; sync and async callers submit to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"mcp-{name}", daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class MCPServer:
    """A toolset served by an MCP server. Use `MCPServerStdio` or `MCPServerHTTP`.

    Options common to both:
    - `name`: how the server is named in tool origins, approval cards and errors (default: from the command or URL).
    - `requires_approval`: None (by the tools' hints, see the module doc), True, False, or a policy callable.
    - `tool_approval`: per-tool policies that override everything else, `{"delete_note": True}`.
    - `prefix`: prepended to every tool name (`prefix_toolname`), to keep two servers' tools apart.
    - `allowed_tools`: only these of the server's tools are offered.
    - `timeout`: seconds a tool call may take; `connect_timeout`: seconds to start and list the tools.
    """

    def __init__(
        self,
        *,
        name: str,
        requires_approval: ApprovalPolicy | None = None,
        tool_approval: Mapping[str, ApprovalPolicy] | None = None,
        prefix: str | None = None,
        allowed_tools: Sequence[str] | None = None,
        timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("MCP server name: give a non-empty string", field="name")
        for label, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigurationError(f"{label}: give a positive number of seconds, not {value!r}", field=label)
        if not (requires_approval is None or isinstance(requires_approval, bool) or callable(requires_approval)):
            raise ConfigurationError(
                "requires_approval: give True, False, None (by the tools' hints) or a policy callable",
                field="requires_approval",
            )
        if prefix is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", prefix):
            raise ConfigurationError(f"prefix {prefix!r}: use 1-32 letters, digits, '_' or '-'", field="prefix")
        self.name = name.strip()
        self.requires_approval = requires_approval
        self.tool_approval: dict[str, ApprovalPolicy] = dict(tool_approval or {})
        self.prefix = prefix
        self.allowed_tools = None if allowed_tools is None else list(allowed_tools)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self._lock = threading.Lock()
        self._portal: _Portal | None = None
        self._client: Any = None
        self._owner: asyncio.Task[None] | None = None
        self._closing: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._tools: dict[str, MCPTool] | None = None
        self._listing: list[dict[str, Any]] = []
        self._exchanges: dict[str, dict[str, Any]] = {}
        self._errlog: IO[str] | None = None

    # -- what subclasses provide ----------------------------------------------------------------------------------
    def _transport(self, errlog: IO[str]) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError

    def _secrets(self) -> list[str]:
        """Values that must never show (credential headers, credential-looking environment values)."""
        return []

    def _describe(self) -> str:
        return self.name

    # -- lifecycle ------------------------------------------------------------------------------------------------
    @property
    def target(self) -> str:
        """The command or URL, credentials masked (what views show)."""
        return self._describe()

    @property
    def is_running(self) -> bool:
        return self._client is not None and self._failure is None

    def start(self) -> None:
        """Start the server and list its tools (done on first use; calling it again does nothing)."""
        with self._lock:
            if self.is_running:
                return
            if self._portal is not None:
                self._shutdown()  # a server that died is started afresh
            self._portal = _Portal(self.name)
            self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (kept open)
            started: concurrent.futures.Future[None] = concurrent.futures.Future()
            self._portal.submit(self._serve(started))
            try:
                started.result(timeout=self.connect_timeout)
                listing = self._portal.submit(self._list()).result(timeout=self.connect_timeout)
            except concurrent.futures.TimeoutError:
                tail = self.stderr_tail()
                self._shutdown()
                raise MCPServerError(
                    f"MCP server {self.name!r} ({self._describe()}) did not answer within {self.connect_timeout:g} s",
                    server=self.name,
                    stderr_tail=tail,
                ) from None
            except Exception as exc:
                tail = self.stderr_tail()
                self._shutdown()
                raise MCPServerError(
                    f"MCP server {self.name!r} ({self._describe()}) could not be started: {self._mask(_reason(exc))}",
                    server=self.name,
                    stderr_tail=tail,
                ) from None
            self._listing = listing
            self._tools = self._make_tools(listing)

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    def close(self) -> None:
        """Stop the server (a stdio server's process ends). It starts again on next use."""
        with self._lock:
            self._shutdown()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def __enter__(self) -> MCPServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> MCPServer:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        with suppress(Exception):
            self._shutdown()

    def _shutdown(self) -> None:
        portal, self._portal = self._portal, None
        if portal is not None:
            closing, owner = self._closing, self._owner
            if closing is not None and owner is not None and not owner.done():
                portal.loop.call_soon_threadsafe(closing.set)
                done = asyncio.run_coroutine_threadsafe(_wait(owner), portal.loop)
                try:
                    done.result(timeout=5)
                except Exception:
                    portal.loop.call_soon_threadsafe(owner.cancel)
            portal.stop()
        self._client = None
        self._owner = None
        self._closing = None
        self._failure = None
        self._tools = None
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    async def _serve(self, started: concurrent.futures.Future[None]) -> None:
        """Own the client session for the server's whole life (anyio's scopes must exit in the task that entered)."""
        from mcp import Client

        self._owner = asyncio.current_task()
        self._closing = asyncio.Event()
        try:
            assert self._errlog is not None
            async with Client(self._transport(self._errlog), read_timeout_seconds=self.timeout) as client:
                self._client = client
                started.set_result(None)
                await self._closing.wait()
        except BaseException as exc:
            self._failure = exc
            if not started.done():
                started.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._client = None

    async def _list(self) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self._client.list_tools(cursor=cursor)
            tools += [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in page.tools]
            cursor = getattr(page, "next_cursor", None) or getattr(page, "nextCursor", None)
            if not cursor:
                return tools

    # -- tools ----------------------------------------------------------------------------------------------------
    def list_tools(self) -> list[dict[str, Any]]:
        """The server's tools as it lists them (name, description, inputSchema, annotations), starting it if needed."""
        self.start()
        return [dict(t) for t in self._listing]

    def tools(self) -> dict[str, MCPTool]:
        """The server's tools as playground Tools, by the name the model sees, starting the server if needed."""
        self.start()
        assert self._tools is not None
        return dict(self._tools)

    def _make_tools(self, listing: list[dict[str, Any]]) -> dict[str, MCPTool]:
        out: dict[str, MCPTool] = {}
        for entry in listing:
            mcp_name = str(entry.get("name", ""))
            if self.allowed_tools is not None and mcp_name not in self.allowed_tools:
                continue
            local = re.sub(r"[^A-Za-z0-9_-]", "_", mcp_name)
            if self.prefix:
                local = f"{self.prefix}_{local}"
            local = local[:64]
            if local in out:
                raise ConfigurationError(
                    f"MCP server {self.name!r} lists two tools that both become {local!r}; pass allowed_tools=",
                    field="toolsets",
                )
            schema = _clean_schema(entry.get("inputSchema") or {"type": "object", "properties": {}})
            t = MCPTool(local, str(entry.get("description") or ""), schema, self._executor(mcp_name))
            t.server = self.name
            t.mcp_name = mcp_name
            t.toolset = self
            t.annotations = dict(entry.get("annotations") or {})
            if entry.get("title") and "title" not in t.annotations:
                t.annotations["title"] = entry["title"]
            t.requires_approval = self._policy_for(t)
            out[local] = t
        if self.allowed_tools is not None:
            missing = sorted(set(self.allowed_tools) - {t.mcp_name for t in out.values()})
            if missing:
                raise ConfigurationError(
                    f"allowed_tools: MCP server {self.name!r} has no tool named {', '.join(map(repr, missing))}; "
                    f"it lists {', '.join(repr(e.get('name')) for e in listing) or 'none'}",
                    field="allowed_tools",
                )
        return out

    def _policy_for(self, t: MCPTool) -> ApprovalPolicy:
        for key in (t.name, t.mcp_name):
            if key in self.tool_approval:
                return self.tool_approval[key]
        if self.requires_approval is None:
            return t.destructive
        if self.requires_approval is False:
            return t.annotations.get("destructiveHint") is True and not t.read_only
        return self.requires_approval

    def _executor(self, mcp_name: str) -> Any:
        server = self

        def call_mcp_tool(_playground_context: ToolContext = _NO_CONTEXT, **arguments: Any) -> Any:
            call_id = _playground_context.tool_call_id if _playground_context is not _NO_CONTEXT else None
            return server.call_tool(mcp_name, arguments, tool_call_id=call_id)

        return call_mcp_tool

    # -- calls ----------------------------------------------------------------------------------------------------
    def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None = None, *, tool_call_id: str | None = None
    ) -> Any:
        """Call one of the server's tools by its MCP name; returns the mapped result, raises ToolError for isError."""
        self.start()
        portal = self._portal
        assert portal is not None
        future = portal.submit(self._call(name, dict(arguments or {}), tool_call_id))
        try:
            return future.result(timeout=self.timeout + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolError(
                f"MCP server {self.name!r}: tool {name!r} did not answer within {self.timeout:g} s", tool_name=name
            ) from None

    async def acall_tool(
        self, name: str, arguments: Mapping[str, Any] | None = None, *, tool_call_id: str | None = None
    ) -> Any:
        return await asyncio.to_thread(self.call_tool, name, arguments, tool_call_id=tool_call_id)

    async def _call(self, name: str, arguments: dict[str, Any], tool_call_id: str | None) -> Any:
        from mcp.types import CallToolResult

        request = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        record: dict[str, Any] = {"server": self.name, "request": self._mask_value(request), "response": None}
        if tool_call_id:
            self._exchanges[tool_call_id] = record
        owner = self._owner
        t0 = time.perf_counter()
        call = asyncio.ensure_future(self._client.call_tool(name, arguments, read_timeout_seconds=self.timeout))
        waiting: set[asyncio.Future[Any]] = {call}
        if owner is not None:
            waiting.add(owner)
        done, _ = await asyncio.wait(waiting, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        record["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        if call not in done:
            call.cancel()
            if owner is not None and owner in done:
                record["response"] = {"error": "server exited"}
                raise ToolError(
                    self._dead_message(f"tool {name!r} could not run: the MCP server exited"), tool_name=name
                )
            record["response"] = {"error": f"no answer within {self.timeout:g} s"}
            raise ToolError(
                f"MCP server {self.name!r}: tool {name!r} did not answer within {self.timeout:g} s", tool_name=name
            )
        try:
            result: CallToolResult = call.result()
        except Exception as exc:
            record["response"] = {"error": self._mask(_reason(exc))}
            # A protocol-level failure (not an isError result): the connection is not to be trusted any more, so the
            # next use starts the server afresh; its stderr usually says why.
            self._failure = exc
            raise ToolError(self._dead_message(f"tool {name!r} failed: {_reason(exc)}"), tool_name=name) from None
        dumped = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        record["response"] = {"jsonrpc": "2.0", "result": self._mask_value(_elide_blobs(dumped))}
        if result.is_error:
            text = _content_text(dumped.get("content") or []) or "the tool reported an error"
            raise ToolError(self._mask(text), tool_name=name)
        return self._mask_value(_map_result(dumped))

    def exchange(self, tool_call_id: str) -> dict[str, Any] | None:
        """The JSON-RPC request and response of the call made for that tool call id, secrets masked."""
        return self._exchanges.get(tool_call_id)

    # -- errors and masking ---------------------------------------------------------------------------------------
    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (stdio servers), secrets masked."""
        log = self._errlog
        if log is None:
            return ""
        try:
            log.flush()
            log.seek(0)
            text = log.read()
        except (OSError, ValueError):
            return ""
        return self._mask(text[-_STDERR_TAIL_CHARS:].strip())

    def _dead_message(self, what: str) -> str:
        tail = self.stderr_tail()
        msg = f"MCP server {self.name!r}: {what}"
        return f"{msg}\n--- last lines of its stderr ---\n{tail}" if tail else msg

    def _mask(self, text: str) -> str:
        from .providers.transport import mask_text

        return mask_text(text, self._secrets())

    def _mask_value(self, value: Any) -> Any:
        secrets = self._secrets()
        if not secrets:
            return value
        from .providers.transport import mask_value

        return mask_value(value, secrets)

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"{type(self).__name__}({self.name!r}, {self._describe()}, {state})"


class MCPServerStdio(MCPServer):
    """An MCP server run as a subprocess speaking JSON-RPC over stdin/stdout.

    `env` adds variables to the few safe ones the SDK passes on (the parent's API keys are not passed on); values of
    credential-looking names (`*KEY*`, `*TOKEN*`, `*SECRET*`, ...) are masked in errors and raw views."""

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(command, str) or not command.strip():
            raise ConfigurationError("command: give the program that starts the MCP server", field="command")
        if isinstance(args, str):
            raise ConfigurationError("args: give a list of arguments, not one string", field="args")
        for k, v in (env or {}).items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ConfigurationError(f"env: {k!r} must map a string to a string", field="env")
        self.command = command
        self.args = [str(a) for a in args]
        self.env = dict(env or {})
        self.cwd = cwd
        super().__init__(name=name or _name_from_command(command, self.args), **options)

    def _transport(self, errlog: IO[str]) -> AbstractAsyncContextManager[Any]:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=self.command, args=self.args, env=self.env or None, cwd=self.cwd)
        return stdio_client(params, errlog=cast(TextIO, errlog))

    def _secrets(self) -> list[str]:
        return [v for k, v in self.env.items() if _CREDENTIAL_NAME.search(k) and v]

    def _describe(self) -> str:
        return " ".join([self.command, *self.args])


class MCPServerHTTP(MCPServer):
    """An MCP server reached over streamable HTTP at `url`. Credential headers are masked everywhere."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
            raise ConfigurationError(f"url: give the server's http(s) URL, not {url!r}", field="url")
        for k, v in (headers or {}).items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ConfigurationError(f"headers: {k!r} must map a string to a string", field="headers")
        self.url = url
        self.headers = dict(headers or {})
        host = re.sub(r"^https?://", "", url).split("/", 1)[0].split("@")[-1]
        super().__init__(name=name or host, **options)

    def _transport(self, errlog: IO[str]) -> AbstractAsyncContextManager[Any]:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        client = httpx2.AsyncClient(
            headers=self.headers, timeout=httpx2.Timeout(self.timeout, connect=min(self.connect_timeout, 10.0))
        )
        return _owning(client, streamable_http_client(self.url, http_client=client))

    def _secrets(self) -> list[str]:
        out: list[str] = []
        for k, v in self.headers.items():
            if _CREDENTIAL_NAME.search(k) and v:
                out.append(v)
                scheme, _, token = v.partition(" ")
                if token and scheme.lower() in ("bearer", "basic", "token"):
                    out.append(token)
        userinfo = re.match(r"https?://([^@/]+)@", self.url)
        if userinfo and ":" in userinfo.group(1):
            out.append(userinfo.group(1).split(":", 1)[1])
        return out

    def _describe(self) -> str:
        from .providers.transport import mask_text

        return mask_text(re.sub(r"//([^:/@]+):[^@/]+@", r"//\1:***@", self.url), self._secrets())

    def __repr__(self) -> str:
        return f"MCPServerHTTP({self.name!r}, {self._describe()}, headers={sorted(self.headers)})"


class _owning(AbstractAsyncContextManager[Any]):
    """Enter `inner`; close the httpx2 client we made for it when done."""

    def __init__(self, client: Any, inner: AbstractAsyncContextManager[Any]) -> None:
        self._client = client
        self._inner = inner

    async def __aenter__(self) -> Any:
        return await self._inner.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._inner.__aexit__(*exc)
        finally:
            await self._client.aclose()


# -- helpers ---------------------------------------------------------------------------------------------------------
def _name_from_command(command: str, args: list[str]) -> str:
    """`python -m my_server` -> my_server; `python path/notes_server.py` -> notes_server; `npx pkg` -> npx."""
    if "-m" in args[:-1]:
        return args[args.index("-m") + 1]
    script = next((a for a in args if a.endswith(".py")), None)
    if script:
        return script.replace("\\", "/").rsplit("/", 1)[-1][:-3]
    return command.replace("\\", "/").rsplit("/", 1)[-1]


def is_toolset(value: Any) -> bool:
    return isinstance(value, MCPServer)


def toolset_tools(toolsets: Sequence[Any], taken: Mapping[str, Any], field: str = "toolsets") -> dict[str, Tool]:
    """The tools of several toolsets by name; a name two of them (or `taken`) share is an error naming both."""
    out: dict[str, Tool] = {}
    origin: dict[str, str] = {}
    for ts in toolsets:
        for name, t in ts.tools().items():
            if name in taken or name in out:
                where = origin.get(name, "the agent's own tools")
                raise ConfigurationError(
                    f"{field}: tool {name!r} of MCP server {ts.name!r} clashes with {where}; "
                    f"give one of the servers prefix= (e.g. prefix={ts.name!r})",
                    field=field,
                )
            out[name] = t
            origin[name] = f"MCP server {ts.name!r}"
    return out


async def _wait(task: asyncio.Task[None]) -> None:
    with suppress(BaseException):
        await asyncio.wait_for(asyncio.shield(task), timeout=4)


def _reason(exc: BaseException) -> str:
    """The innermost useful message of an exception (anyio wraps failures in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in schema.items() if k != "title"}
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    return out


def _content_text(content: list[dict[str, Any]]) -> str:
    return "\n".join(str(c.get("text", "")) for c in content if c.get("type") == "text").strip()


def _map_part(part: dict[str, Any]) -> Any:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": part.get("text", "")}
    if kind in ("image", "audio"):
        return {"type": kind, "mime_type": part.get("mimeType"), "data": part.get("data")}
    if kind == "resource":
        res = part.get("resource") or {}
        out = {"type": "resource", "uri": res.get("uri"), "mime_type": res.get("mimeType")}
        if "text" in res:
            out["text"] = res["text"]
        if "blob" in res:
            out["blob"] = res["blob"]
        return out
    if kind == "resource_link":
        return {k: part.get(k) for k in ("type", "uri", "name", "description", "mimeType") if part.get(k) is not None}
    return part


def _map_result(dumped: dict[str, Any]) -> Any:
    """What the model sees: the structured content when the server gives it, else the text, else the parts."""
    structured = dumped.get("structuredContent")
    if structured is not None:
        return structured
    content: list[dict[str, Any]] = dumped.get("content") or []
    if content and all(c.get("type") == "text" for c in content):
        return _content_text(content)
    return [_map_part(c) for c in content]


def _elide_blobs(value: Any) -> Any:
    """Raw views show base64 payloads by size, not in full."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in ("data", "blob") and isinstance(v, str) and len(v) > 64:
                out[k] = f"<{len(v) * 3 // 4} bytes elided>"
            else:
                out[k] = _elide_blobs(v)
        return out
    if isinstance(value, list):
        return [_elide_blobs(v) for v in value]
    return value


__all__ = ["MCPServer", "MCPServerError", "MCPServerHTTP", "MCPServerStdio", "MCPTool"]
