"""Scores kept with their runs: SQLite under PLAYGROUND_HOME (`scores.sqlite3`), one row per scorer and run.

`save_scores(scores)` is called by a run's background scorers; `scores_for(run_id)` reads them back, from any
process. The file is created readable by its owner only; its schema carries a version (PRAGMA user_version).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..scorers import Score

SCHEMA_VERSION = 1
MIGRATIONS = {
    1: """
CREATE TABLE IF NOT EXISTS scores (
    run_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       REAL NOT NULL,
    passed      INTEGER NOT NULL,
    reason      TEXT,
    scorer      TEXT NOT NULL,
    trace_id    TEXT,
    error       TEXT,
    duration_ms REAL NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (run_id, name)
);
""",
}
_LOCK = threading.Lock()


def scores_path() -> Path:
    from ..storage import playground_home

    return playground_home() / "scores.sqlite3"


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    path = path or scores_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        path.touch(mode=0o600)
    conn = sqlite3.connect(path, timeout=30)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for n in range(version + 1, SCHEMA_VERSION + 1):
            conn.executescript(MIGRATIONS[n])
            conn.execute(f"PRAGMA user_version = {n}")
        yield conn
        conn.commit()
    finally:
        conn.close()


def save_scores(scores: Sequence[Score], path: Path | None = None) -> None:
    rows = [
        (s.run_id or "", s.name, s.value, int(s.passed), s.reason, s.scorer, s.trace_id, s.error, s.duration_ms,
         time.time())
        for s in scores
        if s.run_id
    ]
    if not rows:
        return
    with _LOCK, _connect(path) as conn:
        conn.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def scores_for(run_id: str, path: Path | None = None) -> dict[str, Score]:
    """The scores stored for a run (name -> Score)."""
    from ..scorers import Score

    path = path or scores_path()
    if not os.path.exists(path):
        return {}
    with _connect(path) as conn:
        rows = conn.execute(
            "SELECT name, value, passed, reason, scorer, trace_id, error, duration_ms FROM scores WHERE run_id = ?",
            (run_id,),
        ).fetchall()
    return {
        r[0]: Score(name=r[0], value=r[1], passed=bool(r[2]), reason=r[3], scorer=r[4], run_id=run_id,
                    trace_id=r[5], error=r[6], duration_ms=r[7])
        for r in rows
    }
