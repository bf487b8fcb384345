"""An MCP server for tests/test_mcp.py, written with the official SDK.

    python fixture_server.py stdio                       # JSON-RPC over stdin/stdout
    python fixture_server.py http PORT [REQUIRED_TOKEN]  # streamable HTTP on 127.0.0.1:PORT/mcp

Tools cover every result shape (text, structured, image, embedded resource), an error, a crash and a hang.
Every call is appended to CALLS_FILE (environment) so tests can see what really ran on the server.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import EmbeddedResource, TextResourceContents, ToolAnnotations

server = MCPServer("fixture")
PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _ran(name: str, args: dict[str, Any]) -> None:
    path = os.environ.get("CALLS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": name, "args": args}) + "\n")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Echo the text back."""
    _ran("echo", {"text": text})
    return f"echo: {text}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def weather(city: str) -> dict[str, Any]:
    """Weather for a city, as structured content."""
    _ran("weather", {"city": city})
    return {"city": city, "temp_c": 21, "sky": "clear"}


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def picture() -> Image:
    """A tiny PNG."""
    _ran("picture", {})
    return Image(data=PNG_1x1, format="png")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def readme() -> EmbeddedResource:
    """An embedded text resource."""
    _ran("readme", {})
    return EmbeddedResource(
        type="resource", resource=TextResourceContents(uri="file:///readme.md", mimeType="text/markdown", text="# Hi")
    )


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def delete_file(path: str) -> str:
    """Delete a file (destructive)."""
    _ran("delete_file", {"path": path})
    return f"deleted {path}"


@server.tool()
def write_file(path: str, content: str) -> str:
    """Write a file (no hints: the spec's default is destructive)."""
    _ran("write_file", {"path": path, "content": content})
    return f"wrote {len(content)} chars to {path}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fail(reason: str) -> str:
    """Always fails."""
    _ran("fail", {"reason": reason})
    raise ValueError(f"failed on purpose: {reason}")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    """Kills the server process."""
    _ran("crash", {})
    print("fixture server: crashing on purpose (token=" + os.environ.get("FIXTURE_TOKEN", "") + ")", file=sys.stderr)
    sys.stderr.flush()
    os._exit(3)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def hang(seconds: float) -> str:
    """Sleeps (to test timeouts)."""
    _ran("hang", {"seconds": seconds})
    time.sleep(seconds)
    return "woke up"


def _http(port: int, token: str | None) -> None:
    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

    app = server.streamable_http_app()

    def guarded(inner: ASGIApp) -> ASGIApp:
        async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
            if token and scope["type"] == "http":
                auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode()
                if auth != f"Bearer {token}":
                    await send({"type": "http.response.start", "status": 401, "headers": []})
                    await send({"type": "http.response.body", "body": b"unauthorized"})
                    return
            await inner(scope, receive, send)

        return wrapper

    uvicorn.run(guarded(app), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        if os.environ.get("FIXTURE_FAIL_AT_START"):
            print("fixture server: cannot start, FIXTURE_FAIL_AT_START is set", file=sys.stderr)
            sys.exit(2)
        if os.environ.get("FIXTURE_SILENT"):
            time.sleep(600)  # never answers the handshake
        server.run()
    else:
        _http(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
