"""Prompt versions: every distinct prompt of an agent that was sent (instructions, settings, template), numbered.

SQLite under PLAYGROUND_HOME (`prompts.sqlite3`, owner-only) by default; PostgreSQL when PLAYGROUND_DATABASE_URL is a
postgresql:// URL, so the Prompt tabs of every playground server sharing that database list the same versions.
`PromptVersions(where)` is one class for both backends (store/sql.py); `where` is a postgresql:// URL, `sqlite:///PATH`
or a path. The schema is versioned (PRAGMA user_version / the 'prompt_versions' row of `schema_versions`). Recording
the same prompt twice in a row returns the existing number, so a version is a change, not a send; two servers
recording at once get distinct numbers.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sql import PostgresDatabase, SqliteDatabase

MIGRATIONS: dict[str, dict[int, list[str]]] = {
    "sqlite": {
        1: ["""CREATE TABLE IF NOT EXISTS prompt_versions (
            agent TEXT NOT NULL, number INTEGER NOT NULL, instructions TEXT NOT NULL, settings TEXT NOT NULL,
            template TEXT, digest TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (agent, number))"""],
    },
    "postgres": {
        1: ["""CREATE TABLE IF NOT EXISTS prompt_versions (
            agent TEXT NOT NULL, number INTEGER NOT NULL, instructions TEXT NOT NULL, settings TEXT NOT NULL,
            template TEXT, digest TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (agent, number))"""],
    },
}
"""The schema per backend (only the DDL differs); entry N takes it from version N - 1 to N. Only ever add."""
SCHEMA_VERSION = max(MIGRATIONS["sqlite"])
_COLUMNS = "number, instructions, settings, template, created_at"

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
    """The numbered prompt versions of each agent: `PromptVersions()` (the default store),
    `PromptVersions("postgresql://...")`, `PromptVersions("prompts.sqlite3")`. Safe to use from any thread."""

    def __init__(self, where: str | os.PathLike[str] | None = None) -> None:
        from .sql import open_database

        self.db: SqliteDatabase | PostgresDatabase = open_database(
            where, component="prompt_versions", migrations=MIGRATIONS, default_file="prompts.sqlite3",
            label="prompt versions", keeps="prompt versions",
        )
        self.url = self.db.url

    def __repr__(self) -> str:
        return f"PromptVersions({self.db.where!r})"

    def record(self, agent: str, instructions: str, settings: Mapping[str, Any] | None = None,
               template: str | None = None) -> PromptVersion:
        """The version for this prompt: the latest one when nothing changed, else a new number."""
        settings = dict(settings or {})
        digest = hashlib.sha256(json.dumps([instructions, settings, template], sort_keys=True, default=str)
                                .encode()).hexdigest()
        for _ in range(20):  # another server took the next number between our read and our insert: read again
            with self.db.connect("record a prompt version", write=True) as db:
                row = db.execute("SELECT number, digest FROM prompt_versions WHERE agent = ? ORDER BY number DESC "
                                 "LIMIT 1", (agent,)).fetchone()
                if row is not None and row[1] == digest:
                    number = int(row[0])
                    break
                number = (int(row[0]) if row else 0) + 1
                cur = db.execute(
                    "INSERT INTO prompt_versions (agent, number, instructions, settings, template, digest, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent, number) DO NOTHING",
                    (agent, number, instructions, json.dumps(settings, default=str), template, digest, time.time()),
                )
                if cur.rowcount == 1:
                    break
        else:  # pragma: no cover - twenty servers recording the same agent at the same instant
            from ..errors import StorageError

            raise StorageError(f"prompt versions {self.db.where}: could not number a version of {agent!r} (too many "
                               "at once); send again", path=self.db.where)
        found = self.get(agent, number)
        assert found is not None
        return found

    def list(self, agent: str) -> list[PromptVersion]:
        with self.db.connect("list prompt versions") as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM prompt_versions WHERE agent = ? ORDER BY number",
                              (agent,)).fetchall()
        return [PromptVersion(agent, r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def get(self, agent: str, number: int) -> PromptVersion | None:
        with self.db.connect("read a prompt version") as db:
            r = db.execute(f"SELECT {_COLUMNS} FROM prompt_versions WHERE agent = ? AND number = ?",
                           (agent, number)).fetchone()
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

    def schema_version(self) -> int:
        return self.db.schema_version()

    def close(self) -> None:
        self.db.close()


_shared: dict[str, PromptVersions] = {}
_shared_lock = threading.Lock()


def default_prompt_versions() -> PromptVersions:
    """The store the playgrounds' Prompt tab uses, read from the environment now: PostgreSQL when
    PLAYGROUND_DATABASE_URL is a postgresql:// URL (one pool per URL in a process, shared by every session), else
    `<PLAYGROUND_HOME>/prompts.sqlite3`."""
    from .sql import POSTGRES

    url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
    if not url.startswith(POSTGRES):
        return PromptVersions()
    with _shared_lock:
        store = _shared.get(url)
        if store is None:
            store = _shared[url] = PromptVersions(url)
        return store
