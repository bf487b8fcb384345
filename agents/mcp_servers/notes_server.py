"""A small MCP server (stdio) for the `notes` example agent: notes kept in a JSON file.

Run by `agents/notes.py` through `MCPServerStdio`; also runnable alone: `python agents/mcp_servers/notes_server.py`.
`NOTES_FILE` (environment) says where the notes live (default: notes.json in PLAYGROUND_HOME, or a temp file).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("notes", instructions="Keeps short notes by title.")


def _file() -> Path:
    configured = os.environ.get("NOTES_FILE")
    if configured:
        return Path(configured)
    home = os.environ.get("PLAYGROUND_HOME")
    return Path(home) / "notes.json" if home else Path(tempfile.gettempdir()) / "playground-notes.json"


def _load() -> dict[str, str]:
    try:
        return dict(json.loads(_file().read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _save(notes: dict[str, str]) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notes, indent=2), encoding="utf-8")


@server.tool(annotations=ToolAnnotations(read_only_hint=True, title="List notes"))
def list_notes() -> list[str]:
    """List the titles of all notes."""
    return sorted(_load())


@server.tool(annotations=ToolAnnotations(read_only_hint=True, title="Read a note"))
def read_note(title: str) -> str:
    """Read the note with this title."""
    notes = _load()
    if title not in notes:
        raise ValueError(f"no note titled {title!r}; notes: {', '.join(sorted(notes)) or 'none'}")
    return notes[title]


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, title="Add a note"))
def add_note(title: str, body: str) -> str:
    """Add (or replace) a note."""
    notes = _load()
    notes[title] = body
    _save(notes)
    return f"saved note {title!r}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, title="Delete a note"))
def delete_note(title: str) -> str:
    """Delete the note with this title (needs a person's approval)."""
    notes = _load()
    if title not in notes:
        raise ValueError(f"no note titled {title!r}")
    del notes[title]
    _save(notes)
    return f"deleted note {title!r}"


if __name__ == "__main__":
    server.run()
