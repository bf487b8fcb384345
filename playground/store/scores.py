"""Scores kept with their runs, one row per scorer and run: SQLite under PLAYGROUND_HOME (`scores.sqlite3`) by default,
PostgreSQL when PLAYGROUND_DATABASE_URL is a postgresql:// URL, so every playground server sharing that database sees
the scores the others' scorers wrote.

`save_scores(scores)` is called by a run's background scorers; `scores_for(run_id)` reads them back, from any process
or machine sharing the store. `ScoreStore(where)` is the store itself (one class for both backends, store/sql.py);
`where` is a postgresql:// URL, `sqlite:///PATH` or a path (None: the default above). The SQLite file is created
readable by its owner only; the schema carries a version (PRAGMA user_version / the 'scores' row of
`schema_versions`, migrated under an advisory lock).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from ..scorers import Score
    from .sql import PostgresDatabase, SqliteDatabase

MIGRATIONS: dict[str, dict[int, list[str]]] = {
    "sqlite": {
        1: ["""CREATE TABLE IF NOT EXISTS scores (
            run_id TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, passed INTEGER NOT NULL, reason TEXT,
            scorer TEXT NOT NULL, trace_id TEXT, error TEXT, duration_ms REAL NOT NULL, created_at REAL NOT NULL,
            PRIMARY KEY (run_id, name))"""],
    },
    "postgres": {
        1: ["""CREATE TABLE IF NOT EXISTS scores (
            run_id TEXT NOT NULL, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, passed INTEGER NOT NULL,
            reason TEXT, scorer TEXT NOT NULL, trace_id TEXT, error TEXT, duration_ms DOUBLE PRECISION NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, name))"""],
    },
}
"""The schema per backend (only the DDL differs); entry N takes it from version N - 1 to N. Only ever add."""
SCHEMA_VERSION = max(MIGRATIONS["sqlite"])

_COLUMNS = "run_id, name, value, passed, reason, scorer, trace_id, error, duration_ms, created_at"


class ScoreStore:
    """Scores in SQLite or PostgreSQL: `ScoreStore()` (the default store), `ScoreStore("postgresql://...")`,
    `ScoreStore("scores.sqlite3")`. Safe to use from any thread; `close()` releases its connections."""

    def __init__(self, where: str | os.PathLike[str] | None = None) -> None:
        from .sql import open_database

        self.db: SqliteDatabase | PostgresDatabase = open_database(
            where, component="scores", migrations=MIGRATIONS, default_file="scores.sqlite3", label="score store",
            keeps="scores",
        )
        self.url = self.db.url

    def __repr__(self) -> str:
        return f"ScoreStore({self.db.where!r})"

    def save(self, scores: Sequence[Score]) -> int:
        """Keep the scores that name their run (a scorer's newer score replaces its older one); returns how many."""
        now = time.time()
        rows = [(s.run_id, s.name, s.value, int(s.passed), s.reason, s.scorer, s.trace_id, s.error, s.duration_ms,
                 now) for s in scores if s.run_id]
        if not rows:
            return 0
        with self.db.connect("save scores", write=True) as db:
            db.executemany(
                f"INSERT INTO scores ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) "
                "DO UPDATE SET value = excluded.value, passed = excluded.passed, reason = excluded.reason, "
                "scorer = excluded.scorer, trace_id = excluded.trace_id, error = excluded.error, "
                "duration_ms = excluded.duration_ms, created_at = excluded.created_at",
                rows,
            )
        return len(rows)

    def for_run(self, run_id: str) -> dict[str, Score]:
        """The scores stored for a run (name -> Score), in the order they were written."""
        from ..scorers import Score

        if self.db.kind == "sqlite" and not os.path.exists(self.db.where):
            return {}  # nothing was ever scored here: reading makes no file
        with self.db.connect("read scores") as db:
            rows = db.execute(
                "SELECT name, value, passed, reason, scorer, trace_id, error, duration_ms FROM scores "
                "WHERE run_id = ? ORDER BY created_at, name",
                (run_id,),
            ).fetchall()
        return {
            r[0]: Score(name=r[0], value=r[1], passed=bool(r[2]), reason=r[3], scorer=r[4], run_id=run_id,
                        trace_id=r[5], error=r[6], duration_ms=r[7])
            for r in rows
        }

    def schema_version(self) -> int:
        return self.db.schema_version()

    def close(self) -> None:
        self.db.close()


_shared: dict[str, ScoreStore] = {}
_shared_lock = threading.Lock()


def default_score_store() -> ScoreStore:
    """The store `save_scores` / `scores_for` use, read from the environment now: PostgreSQL when
    PLAYGROUND_DATABASE_URL is a postgresql:// URL (one pool per URL in a process), else
    `<PLAYGROUND_HOME>/scores.sqlite3`."""
    from .sql import POSTGRES

    url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
    if not url.startswith(POSTGRES):
        return ScoreStore()
    with _shared_lock:
        store = _shared.get(url)
        if store is None:
            store = _shared[url] = ScoreStore(url)
        return store


def scores_path() -> Path:
    """The default SQLite file (used unless PLAYGROUND_DATABASE_URL names PostgreSQL)."""
    from ..storage import playground_home

    return playground_home() / "scores.sqlite3"


@contextmanager
def _store(path: str | os.PathLike[str] | None) -> Iterator[ScoreStore]:
    """The store `path` names (None: the default one); closed afterwards unless it is the process's shared pool."""
    store = ScoreStore(path) if path is not None else default_score_store()
    try:
        yield store
    finally:
        if path is not None or store.db.kind == "sqlite":
            store.close()


def save_scores(scores: Sequence[Score], path: str | os.PathLike[str] | None = None) -> None:
    """Keep scores with their runs in the store `path` names (None: the default store)."""
    with _store(path) as store:
        store.save(scores)


def scores_for(run_id: str, path: str | os.PathLike[str] | None = None) -> dict[str, Score]:
    """The scores stored for a run (name -> Score), from the store `path` names (None: the default store)."""
    with _store(path) as store:
        return store.for_run(run_id)
