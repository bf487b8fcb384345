"""The memory store, one class for SQLite and PostgreSQL on the store/sql.py seam: threads, their messages, the
messages' vectors and working memory. Queries are written once; only the table definitions (MIGRATIONS) differ.

    SqliteMemoryStore()                          # <PLAYGROUND_HOME>/memory.sqlite3, readable by its owner only
    SqliteMemoryStore("memory.sqlite3")          # a file
    PostgresMemoryStore("postgresql://postgres@127.0.0.1:5432/app")   # several servers share threads

`open_memory_store(url)` (memory_base.py) picks one by URL. The schema is versioned per backend (SQLite: the file's
PRAGMA user_version; PostgreSQL: the 'memory' row of `schema_versions`, migrated under the advisory lock); a file made
before the seam kept its version in a `schema_versions` table and is adopted at that version. A database that cannot
be reached, read or written, or a schema written by a newer playground, is a StorageError naming the fix.

Vectors are unit-length float32 bytes in their own narrow table clustered by resource, searched by an exact scan
(memory_base.top_by_cosine): a recall reads the resource's vectors and nothing else.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .memory_base import SCHEMA_VERSION, SearchHit, StoredMessage, ThreadInfo, pack_vector, top_by_cosine

if TYPE_CHECKING:
    from pathlib import Path

    from .sql import PostgresDatabase, Session, SqliteDatabase

MIGRATIONS: dict[str, dict[int, list[str]]] = {
    "sqlite": {
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
    },
    "postgres": {
        1: [
            """CREATE TABLE IF NOT EXISTS memory_threads (
            id TEXT PRIMARY KEY, resource_id TEXT, title TEXT, metadata TEXT NOT NULL DEFAULT '{}',
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)""",
            "CREATE INDEX IF NOT EXISTS memory_threads_resource ON memory_threads (resource_id, updated_at)",
            """CREATE TABLE IF NOT EXISTS memory_messages (
            seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL, resource_id TEXT,
            role TEXT NOT NULL, message TEXT NOT NULL, text TEXT NOT NULL DEFAULT '',
            created_at DOUBLE PRECISION NOT NULL, embedding BYTEA)""",
            "CREATE INDEX IF NOT EXISTS memory_messages_thread ON memory_messages (thread_id, seq)",
            "CREATE INDEX IF NOT EXISTS memory_messages_resource ON memory_messages (resource_id)",
            """CREATE TABLE IF NOT EXISTS memory_working (
            scope TEXT NOT NULL, key TEXT NOT NULL, content TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (scope, key))""",
        ],
        2: [
            """CREATE TABLE IF NOT EXISTS memory_vectors (
            resource_id TEXT NOT NULL, seq BIGINT NOT NULL, thread_id TEXT NOT NULL, id TEXT NOT NULL,
            embedding BYTEA NOT NULL, PRIMARY KEY (resource_id, seq))""",
            "CREATE INDEX IF NOT EXISTS memory_vectors_thread ON memory_vectors (thread_id, seq)",
            "INSERT INTO memory_vectors SELECT coalesce(resource_id, ''), seq, thread_id, id, embedding "
            "FROM memory_messages WHERE embedding IS NOT NULL ON CONFLICT DO NOTHING",
            "UPDATE memory_messages SET embedding = NULL WHERE embedding IS NOT NULL",
        ],
    },
}
"""The memory tables per backend, as shipped (a database records which it has applied): entry N takes the schema
from version N - 1 to N. Only ever add. 1: threads, messages (with their vectors), working memory. 2: vectors in
their own table, clustered by resource."""
assert max(MIGRATIONS["sqlite"]) == max(MIGRATIONS["postgres"]) == SCHEMA_VERSION

_COLUMNS = "id, thread_id, resource_id, role, message, text, created_at, seq"
_THREAD = "SELECT id, resource_id, title, metadata, created_at, updated_at FROM memory_threads"
_CHUNK = 500
"""Ids per `IN (...)` list: well under the bound parameters either backend accepts in one statement."""


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


def _chunks(values: Sequence[Any]) -> Iterator[tuple[str, Sequence[Any]]]:
    """`(marks, chunk)` per chunk of `values`: `marks` is the `?, ?, ...` list of an `IN (...)`."""
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        yield ", ".join("?" * len(chunk)), chunk


def _column_in(db: Session, sql: str, values: Sequence[Any]) -> set[Any]:
    """The first column of `sql` (ending in `IN`) over every chunk of `values`."""
    return {r[0] for marks, chunk in _chunks(values) for r in db.execute(f"{sql} ({marks})", chunk).fetchall()}


class SqlMemoryStore:
    """Memory in a SQL `Database` (store/sql.py); `SqliteMemoryStore` and `PostgresMemoryStore` say where. Safe to
    use from any thread (SQLite: a connection per thread; PostgreSQL: a pool); writes of messages are idempotent by id.
    """

    def __init__(self, db: SqliteDatabase | PostgresDatabase) -> None:
        self.db = db
        self.url = db.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.db.where!r})"

    def schema_version(self) -> int:
        return self.db.schema_version()

    def close(self) -> None:
        """Release the connections (they are opened again if the store is used again)."""
        self.db.close()

    # -- threads ------------------------------------------------------------------------------------------------------
    def save_thread(self, thread: ThreadInfo) -> None:
        now = time.time()
        with self.db.connect("save a thread", write=True) as db:
            db.execute(
                "INSERT INTO memory_threads (id, resource_id, title, metadata, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET resource_id = excluded.resource_id, "
                "title = excluded.title, metadata = excluded.metadata, updated_at = excluded.updated_at",
                (thread.id, thread.resource_id, thread.title, json.dumps(thread.metadata), thread.created_at or now,
                 thread.updated_at or now),
            )

    def get_thread(self, thread_id: str) -> ThreadInfo | None:
        with self.db.connect("read a thread") as db:
            row = db.execute(f"{_THREAD} WHERE id = ?", (thread_id,)).fetchone()
        return _thread(row) if row else None

    def list_threads(self, resource_id: str | None = None) -> list[ThreadInfo]:
        where, args = ("", ()) if resource_id is None else (" WHERE resource_id = ?", (resource_id,))
        with self.db.connect("list threads") as db:
            rows = db.execute(f"{_THREAD}{where} ORDER BY updated_at DESC, id", args).fetchall()
        return [_thread(r) for r in rows]

    def delete_thread(self, thread_id: str) -> None:
        with self.db.connect("delete a thread", write=True) as db:
            db.execute("DELETE FROM memory_messages WHERE thread_id = ?", (thread_id,))
            db.execute("DELETE FROM memory_vectors WHERE thread_id = ?", (thread_id,))
            db.execute("DELETE FROM memory_working WHERE scope = 'thread' AND key = ?", (thread_id,))
            db.execute("DELETE FROM memory_threads WHERE id = ?", (thread_id,))

    # -- messages -----------------------------------------------------------------------------------------------------
    def add_messages(self, messages: Sequence[StoredMessage]) -> int:
        if not messages:
            return 0
        ids = list(dict.fromkeys(m.id for m in messages))
        with self.db.connect("save messages", write=True) as db:
            existing = _column_in(db, "SELECT id FROM memory_messages WHERE id IN", ids)
            db.executemany(
                "INSERT INTO memory_messages (id, thread_id, resource_id, role, message, text, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                [(m.id, m.thread_id, m.resource_id, m.role, m.message, m.text, m.created_at or time.time())
                 for m in messages],
            )
            fresh: dict[str, StoredMessage] = {}
            for m in messages:  # the first of a repeated id is the one stored, with its vector
                if m.id not in existing:
                    fresh.setdefault(m.id, m)
            vectors = {i: m for i, m in fresh.items() if m.embedding is not None}
            if vectors:
                seqs: list[tuple[str, int]] = []
                for marks, chunk in _chunks(list(vectors)):
                    seqs += db.execute(f"SELECT id, seq FROM memory_messages WHERE id IN ({marks})", chunk).fetchall()
                db.executemany(
                    "INSERT INTO memory_vectors (resource_id, seq, thread_id, id, embedding) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(vectors[i].resource_id or "", seq, vectors[i].thread_id, i, vectors[i].embedding)
                     for i, seq in seqs],
                )
        return len(fresh)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        with self.db.connect("read messages") as db:
            return _column_in(db, "SELECT id FROM memory_messages WHERE id IN", list(ids))

    def messages(self, thread_id: str, last: int | None = None) -> list[StoredMessage]:
        with self.db.connect("read messages") as db:
            if last is None:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
                ).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? "
                    "ORDER BY seq DESC LIMIT ?) AS newest ORDER BY seq",
                    (thread_id, max(0, last)),
                ).fetchall()
        return [_stored(r) for r in rows]

    def neighbours(self, thread_id: str, seq: int, before: int, after: int) -> list[StoredMessage]:
        with self.db.connect("read messages") as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?) AS earlier UNION ALL "
                f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = ? AND seq >= ? "
                "ORDER BY seq LIMIT ?) AS later ORDER BY seq",
                (thread_id, seq, max(0, before), thread_id, seq, max(0, after) + 1),
            ).fetchall()
        return [_stored(r) for r in rows]

    def search(
        self, vector: Sequence[float], top_k: int, *, thread_id: str | None = None, resource_id: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[SearchHit]:
        where: list[str] = []
        args: list[Any] = []
        if thread_id is not None:
            where.append("thread_id = ?")
            args.append(thread_id)
        if resource_id is not None:
            where.append("resource_id = ?")
            args.append(resource_id)
        ids = list(set(exclude))
        with self.db.connect("search messages") as db:
            skip = _column_in(db, "SELECT seq FROM memory_messages WHERE id IN", ids) if ids else set()
            rows = db.execute(  # binary: PostgreSQL sends the vectors as raw bytes, not hex text to decode
                "SELECT seq, embedding FROM memory_vectors" + (f" WHERE {' AND '.join(where)}" if where else ""),
                args, binary=True,
            ).fetchall()
        candidates = [r for r in rows if r[0] not in skip] if skip else rows
        best = top_by_cosine(vector, candidates, top_k)
        if not best:
            return []
        with self.db.connect("search messages") as db:
            found = db.execute(
                f"SELECT {_COLUMNS} FROM memory_messages WHERE seq IN ({', '.join('?' * len(best))})",
                [s for s, _ in best],
            ).fetchall()
        by_seq = {m.seq: m for m in map(_stored, found)}
        return [SearchHit(by_seq[s], score) for s, score in best if s in by_seq]

    def set_embedding(self, message_id: str, vector: Sequence[float]) -> None:
        """Store (or replace) the vector of a stored message."""
        with self.db.connect("save a vector", write=True) as db:
            db.execute(
                "INSERT INTO memory_vectors (resource_id, seq, thread_id, id, embedding) "
                "SELECT coalesce(resource_id, ''), seq, thread_id, id, ? FROM memory_messages WHERE id = ? "
                "ON CONFLICT (resource_id, seq) DO UPDATE SET embedding = excluded.embedding",
                (pack_vector(vector), message_id),
            )

    def count_messages(self) -> int:
        with self.db.connect("count messages") as db:
            return int(db.execute("SELECT COUNT(*) FROM memory_messages").fetchone()[0])

    # -- working memory -----------------------------------------------------------------------------------------------
    def get_working_memory(self, scope: str, key: str) -> str | None:
        with self.db.connect("read working memory") as db:
            row = db.execute("SELECT content FROM memory_working WHERE scope = ? AND key = ?", (scope, key)).fetchone()
        return row[0] if row else None

    def set_working_memory(self, scope: str, key: str, content: str) -> None:
        with self.db.connect("save working memory", write=True) as db:
            db.execute(
                "INSERT INTO memory_working (scope, key, content, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (scope, key) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
                (scope, key, content, time.time()),
            )


class SqliteMemoryStore(SqlMemoryStore):
    """Memory in a SQLite file. `SqliteMemoryStore()` uses `<PLAYGROUND_HOME>/memory.sqlite3` (read when made); the
    file is made, readable by its owner only, on first use."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 30.0) -> None:
        from .sql import SqliteDatabase

        if path is None:
            from ..storage import playground_home

            path = playground_home() / "memory.sqlite3"
        db = SqliteDatabase(path, "memory", MIGRATIONS, label="memory store", keeps="memory", timeout=timeout)
        super().__init__(db)
        self.path: Path = db.path


class PostgresMemoryStore(SqlMemoryStore):
    """Memory in PostgreSQL: `PostgresMemoryStore("postgresql://postgres@127.0.0.1:5432/playground")`. Connects and
    migrates when made, so a wrong URL is said at once."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 4) -> None:
        from .sql import PostgresDatabase

        db = PostgresDatabase(url, "memory", MIGRATIONS, label="memory store", keeps="memory", min_size=min_size,
                              max_size=max_size)
        super().__init__(db)
        db.ensure("open the memory store")
