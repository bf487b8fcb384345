"""Prompt versions: every distinct prompt of an agent that was sent (instructions, settings, template), numbered.

SQLite under PLAYGROUND_HOME (`prompts.sqlite3`), owner-only, schema versioned. Recording the same prompt twice in a
row returns the existing number, so a version is a change, not a send.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
MIGRATIONS = {
    1: """
CREATE TABLE IF NOT EXISTS prompt_versions (
    agent        TEXT NOT NULL,
    number       INTEGER NOT NULL,
    instructions TEXT NOT NULL,
    settings     TEXT NOT NULL,
    template     TEXT,
    digest       TEXT NOT NULL,
    created_at   REAL NOT NULL,
    PRIMARY KEY (agent, number)
);
""",
}
_LOCK = threading.Lock()


@dataclass
class PromptVersion:
    agent: str
    number: int
    instructions: str
    settings: dict[str, Any] = field(default_factory=dict)
    template: str | None = None
    created_at: float = 0.0

    def text(self) -> str:
        """The version as the text a diff compares."""
        settings = json.dumps(self.settings, indent=2, sort_keys=True)
        out = f"# instructions\n{self.instructions}\n\n# settings\n{settings}\n"
        if self.template:
            out += f"\n# template\n{self.template}\n"
        return out


class PromptVersions:
    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            from ..storage import playground_home

            path = playground_home() / "prompts.sqlite3"
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for n in range(version + 1, SCHEMA_VERSION + 1):
                conn.executescript(MIGRATIONS[n])
                conn.execute(f"PRAGMA user_version = {n}")
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def record(self, agent: str, instructions: str, settings: Mapping[str, Any] | None = None,
               template: str | None = None) -> PromptVersion:
        """The version for this prompt: the latest one when nothing changed, else a new number."""
        settings = dict(settings or {})
        digest = hashlib.sha256(json.dumps([instructions, settings, template], sort_keys=True, default=str)
                                .encode()).hexdigest()
        with _LOCK, self._connect() as conn:
            row = conn.execute("SELECT number, digest FROM prompt_versions WHERE agent = ? ORDER BY number DESC "
                               "LIMIT 1", (agent,)).fetchone()
            if row is not None and row[1] == digest:
                number = int(row[0])
            else:
                number = (int(row[0]) if row else 0) + 1
                conn.execute("INSERT INTO prompt_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (agent, number, instructions, json.dumps(settings, default=str), template, digest,
                              time.time()))
        found = self.get(agent, number)
        assert found is not None
        return found

    def list(self, agent: str) -> list[PromptVersion]:
        with self._connect() as conn:
            rows = conn.execute("SELECT number, instructions, settings, template, created_at FROM prompt_versions "
                                "WHERE agent = ? ORDER BY number", (agent,)).fetchall()
        return [PromptVersion(agent, r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def get(self, agent: str, number: int) -> PromptVersion | None:
        with self._connect() as conn:
            r = conn.execute("SELECT number, instructions, settings, template, created_at FROM prompt_versions "
                             "WHERE agent = ? AND number = ?", (agent, number)).fetchone()
        return PromptVersion(agent, r[0], r[1], json.loads(r[2]), r[3], r[4]) if r else None

    def diff(self, agent: str, a: int, b: int) -> str:
        """A unified diff of version a to version b."""
        va, vb = self.get(agent, a), self.get(agent, b)
        if va is None or vb is None:
            from ..errors import ConfigurationError

            missing = a if va is None else b
            raise ConfigurationError(f"Versions: {agent!r} has no version {missing}", field="version")
        lines = difflib.unified_diff(va.text().splitlines(keepends=True), vb.text().splitlines(keepends=True),
                                     fromfile=f"v{a}", tofile=f"v{b}")
        return "".join(lines) or f"v{a} and v{b} are the same"
