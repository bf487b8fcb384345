"""Where suspended runs live between processes: a SQLite file in the playground's data directory.

The data directory is `~/.playground/` unless `PLAYGROUND_HOME` names another. Each run is one row holding the JSON
of its `RunState` (messages, steps, pending calls, the serialisable options; never an API key: raw requests are masked
before they reach a step). `update()` runs inside `BEGIN IMMEDIATE`, which takes SQLite's write lock before reading,
so two processes resolving the same run serialise: one claims a tool call, the other sees it claimed and leaves it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from .errors import ApprovalError
from .runs import RunState

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    agent_name  TEXT,
    status      TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_at  REAL NOT NULL
)
"""


def playground_home() -> Path:
    """The playground's data directory: `$PLAYGROUND_HOME`, else `~/.playground`."""
    env = os.environ.get("PLAYGROUND_HOME")
    return Path(env).expanduser() if env else Path.home() / ".playground"


class SqliteRunStore:
    """Suspended runs in a SQLite file, shared by every process that opens the same path.

    `SqliteRunStore()` uses `<data dir>/runs.sqlite3`; the directory is read when the store is made, so set
    `PLAYGROUND_HOME` before creating agents. Connections are opened per operation, so one store may be used from any
    thread, and a process that crashed leaves nothing locked.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 30.0) -> None:
        self.path = Path(path) if path is not None else playground_home() / "runs.sqlite3"
        self.timeout = timeout
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteRunStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with self._open() as conn:
                        conn.execute(_SCHEMA)
                    self._ready = True
        with self._open() as conn:
            yield conn

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE) where they matter
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def save(self, state: RunState) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, agent_name, status, state, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(run_id) DO UPDATE SET agent_name=excluded.agent_name, status=excluded.status, "
                "state=excluded.state, updated_at=excluded.updated_at",
                (state.run_id, state.agent_name, state.status, state.model_dump_json(), time.time()),
            )

    def load(self, run_id: str) -> RunState | None:
        with self._connect() as conn:
            row = conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return RunState.model_validate_json(row[0]) if row else None

    def delete(self, run_id: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

    def update(self, run_id: str, mutate: Callable[[RunState], T]) -> tuple[RunState, T]:
        """Load, change and save one run in a single write transaction; if `mutate` raises nothing is written."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                if row is None:
                    raise ApprovalError(
                        f"no suspended run {run_id!r} in {self.path}: it was never suspended here, or it was stored "
                        "elsewhere (pass the same storage= or PLAYGROUND_HOME to the Agent)"
                    )
                state = RunState.model_validate_json(row[0])
                value = mutate(state)
                conn.execute(
                    "UPDATE runs SET status = ?, state = ?, updated_at = ? WHERE run_id = ?",
                    (state.status, state.model_dump_json(), time.time(), run_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return state, value

    def suspended(self) -> list[str]:
        """Ids of the runs waiting for approval, newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT run_id FROM runs WHERE status = 'suspended' ORDER BY updated_at DESC"
            ).fetchall()
        return [r[0] for r in rows]

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
