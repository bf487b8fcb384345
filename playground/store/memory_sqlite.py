"""The default memory store: a SQLite file (`<PLAYGROUND_HOME>/memory.sqlite3`) shared by every process opening it.

Connections are opened per operation (WAL journal), so one store may be used from any thread and a crashed process
leaves nothing locked. Migrations are numbered; the applied version is kept in `schema_versions`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .memory_base import SCHEMA_VERSION, SearchHit, StoredMessage, ThreadInfo, pack_vector, top_by_cosine

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS memory_threads (
            id TEXT PRIMARY KEY, resource_id TEXT, title TEXT, metadata TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL, updated_at REAL NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS memory_threads_resource ON memory_threads (resource_id, updated_at)",
        """CREATE TABLE IF NOT EXISTS memory_messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL,
            resource_id TEXT, role TEXT NOT NULL, message TEXT NOT NULL, text TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL, embedding BLOB)""",
        "CREATE INDEX IF NOT EXISTS memory_messages_thread ON memory_messages (thread_id, seq)",
        "CREATE INDEX IF NOT EXISTS memory_messages_resource ON memory_messages (resource_id)",
        """CREATE TABLE IF NOT EXISTS memory_working (
            scope TEXT NOT NULL, key TEXT NOT NULL, content TEXT NOT NULL, updated_at REAL NOT NULL,
            PRIMARY KEY (scope, key))""",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS memory_vectors (
            resource_id TEXT NOT NULL, seq INTEGER NOT NULL, thread_id TEXT NOT NULL, id TEXT NOT NULL,
            embedding BLOB NOT NULL, PRIMARY KEY (resource_id, seq)) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS memory_vectors_thread ON memory_vectors (thread_id, seq)",
        "INSERT OR IGNORE INTO memory_vectors SELECT coalesce(resource_id, ''), seq, thread_id, id, embedding "
        "FROM memory_messages WHERE embedding IS NOT NULL",
        "UPDATE memory_messages SET embedding = NULL WHERE embedding IS NOT NULL",
    ],
}
_COLUMNS = "id, thread_id, resource_id, role, message, text, created_at, seq"


def _stored(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(
        id=row[0], thread_id=row[1], resource_id=row[2], role=row[3], message=row[4], text=row[5],
        created_at=row[6], seq=row[7],
    )


def _thread(row: Sequence[Any]) -> ThreadInfo:
    return ThreadInfo(
        id=row[0], resource_id=row[1], title=row[2], metadata=json.loads(row[3] or "{}"), created_at=row[4],
        updated_at=row[5],
    )


class SqliteMemoryStore:
    """Memory in a SQLite file. `SqliteMemoryStore()` uses `<PLAYGROUND_HOME>/memory.sqlite3` (read when made)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 30.0) -> None:
        if path is None:
            from ..storage import playground_home

            path = playground_home() / "memory.sqlite3"
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.timeout = timeout
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteMemoryStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._prepare_file()
                    self._migrate()
                    self._ready = True
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def _prepare_file(self) -> None:
        """The folder and file, readable by their owner only: threads hold conversations."""
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        if stat.S_IMODE(os.stat(self.path).st_mode) & 0o077:
            os.chmod(self.path, 0o600)

    def _migrate(self) -> None:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
                row = conn.execute("SELECT version FROM schema_versions WHERE component = 'memory'").fetchone()
                current = int(row[0]) if row else 0
                if current > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"{self.path}: memory schema version {current} is newer than this playground's "
                        f"({SCHEMA_VERSION}); upgrade playground"
                    )
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    for sql in MIGRATIONS[version]:
                        conn.execute(sql)
                conn.execute(
                    "INSERT INTO schema_versions (component, version) VALUES ('memory', ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (SCHEMA_VERSION,),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def schema_version(self) -> int:
        with self._connect() as conn:
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'memory'").fetchone()
        return int(row[0]) if row else 0

    # -- threads ------------------------------------------------------------------------------------------------------
    def save_thread(self, thread: ThreadInfo) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO memory_threads (id, resource_id, title, metadata, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET resource_id = excluded.resource_id, "
                "title = excluded.title, metadata = excluded.metadata, updated_at = excluded.updated_at",
                (thread.id, thread.resource_id, thread.title, json.dumps(thread.metadata), thread.created_at or now,
                 thread.updated_at or now),
            )

    def get_thread(self, thread_id: str) -> ThreadInfo | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, resource_id, title, metadata, created_at, updated_at FROM memory_threads WHERE id = ?",
                (thread_id,),
            ).fetchone()
        return _thread(row) if row else None

    def list_threads(self, resource_id: str | None = None) -> list[ThreadInfo]:
        sql = "SELECT id, resource_id, title, metadata, created_at, updated_at FROM memory_threads"
        args: tuple[Any, ...] = ()
        if resource_id is not None:
            sql += " WHERE resource_id = ?"
            args = (resource_id,)
        with self._connect() as conn:
            rows = conn.execute(sql + " ORDER BY updated_at DESC, id", args).fetchall()
        return [_thread(r) for r in rows]

    def delete_thread(self, thread_id: str) -> None:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM memory_messages WHERE thread_id = ?", (thread_id,))
            conn.execute("DELETE FROM memory_vectors WHERE thread_id = ?", (thread_id,))
            conn.execute("DELETE FROM memory_working WHERE scope = 'thread' AND key = ?", (thread_id,))
            conn.execute("DELETE FROM memory_threads WHERE id = ?", (thread_id,))
            conn.execute("COMMIT")

    # -- messages -----------------------------------------------------------------------------------------------------
    def add_messages(self, messages: Sequence[StoredMessage]) -> int:
        if not messages:
            return 0
        inserted = 0
        vectors: list[tuple[Any, ...]] = []
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for m in messages:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO memory_messages (id, thread_id, resource_id, role, message, text, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (m.id, m.thread_id, m.resource_id, m.role, m.message, m.text, m.created_at or time.time()),
                    )
                    if cur.rowcount == 1:
                        inserted += 1
                        if m.embedding is not None:
                            vectors.append((m.resource_id or "", cur.lastrowid, m.thread_id, m.id, m.embedding))
                conn.executemany("INSERT OR IGNORE INTO memory_vectors VALUES (?, ?, ?, ?, ?)", vectors)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return inserted

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        with self._connect() as conn:
            rows = conn.execute(f"SELECT id FROM memory_messages WHERE id IN ({marks})", list(ids)).fetchall()
        return {r[0] for r in rows}

    def messages(self, thread_id: str, last: int | None = None) -> list[StoredMessage]:
        with self._connect() as conn:
            if last is None:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? "
                    "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                    (thread_id, max(0, last)),
                ).fetchall()
        return [_stored(r) for r in rows]

    def neighbours(self, thread_id: str, seq: int, before: int, after: int) -> list[StoredMessage]:
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?) UNION ALL "
                f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? AND seq >= ? "
                "ORDER BY seq LIMIT ?) ORDER BY seq",
                (thread_id, seq, max(0, before), thread_id, seq, max(0, after) + 1),
            ).fetchall()
        return [_stored(r) for r in rows]

    def search(
        self, vector: Sequence[float], top_k: int, *, thread_id: str | None = None, resource_id: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[SearchHit]:
        where, args = ["1"], []
        if thread_id is not None:
            where.append("thread_id = ?")
            args.append(thread_id)
        if resource_id is not None:
            where.append("resource_id = ?")
            args.append(resource_id)
        ids = list(set(exclude))
        with self._connect() as conn:
            skip = {r[0] for r in conn.execute(
                f"SELECT seq FROM memory_messages WHERE id IN ({','.join('?' * len(ids))})", ids)} if ids else set()
            rows = conn.execute(f"SELECT seq, embedding FROM memory_vectors WHERE {' AND '.join(where)}", args)
            candidates = [r for r in rows.fetchall() if r[0] not in skip] if skip else rows.fetchall()
        best = top_by_cosine(vector, candidates, top_k)
        if not best:
            return []
        scores = dict(best)
        marks = ",".join("?" * len(scores))
        with self._connect() as conn:
            found = conn.execute(f"SELECT {_COLUMNS} FROM memory_messages WHERE seq IN ({marks})", list(scores))
            by_seq = {m.seq: m for m in map(_stored, found.fetchall())}
        return [SearchHit(by_seq[s], score) for s, score in best if s in by_seq]

    def set_embedding(self, message_id: str, vector: Sequence[float]) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO memory_vectors SELECT coalesce(resource_id, ''), seq, thread_id, id, ? "
                "FROM memory_messages WHERE id = ?",
                (pack_vector(vector), message_id),
            )

    def count_messages(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM memory_messages").fetchone()[0])

    # -- working memory -----------------------------------------------------------------------------------------------
    def get_working_memory(self, scope: str, key: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT content FROM memory_working WHERE scope = ? AND key = ?", (scope, key)
            ).fetchone()
        return row[0] if row else None

    def set_working_memory(self, scope: str, key: str, content: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO memory_working (scope, key, content, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(scope, key) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
                (scope, key, content, time.time()),
            )

    def close(self) -> None:
        return None
