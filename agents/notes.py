"""A notes agent whose tools come from an MCP server (agents/mcp_servers/notes_server.py, run over stdio).

`list_notes` and `read_note` are read-only; `add_note` is marked non-destructive; `delete_note` is hinted destructive,
so it waits for a person's approval. Try: "add a note titled groceries: milk", "list notes", "delete note groceries".
"""

import os
import sys
from pathlib import Path

from playground import Agent, playground_home
from playground.mcp import MCPServerStdio

# An MCP server gets only a few safe environment variables from us (never our API keys): pass what it needs.
notes_file = os.environ.get("NOTES_FILE") or str(playground_home() / "notes.json")
notes_server = MCPServerStdio(
    sys.executable,
    [str(Path(__file__).parent / "mcp_servers" / "notes_server.py")],
    env={"NOTES_FILE": notes_file},
    name="notes",
)

agent = Agent(
    name="notes",
    instructions="You keep the user's notes with the notes tools. Confirm what you changed.",
    model="demo",
    toolsets=[notes_server],
)
