"""Memory in PostgreSQL (psycopg 3 with a psycopg_pool connection pool), selected by a postgresql:// URL, so several
playground servers and workers share threads, messages and working memory.

Vectors are float32 bytes in a BYTEA column searched by an exact scan (the same code as SQLite); the PostgreSQL here
has no pgvector extension. Migrations run under an advisory lock, so servers starting together migrate once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .memory_base import SCHEMA_VERSION, SearchHit, StoredMessage, ThreadInfo, pack_vector, top_by_cosine

MIGRATIONS: dict[int, list[str]] = {
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
}
_COLUMNS = "id, thread_id, resource_id, role, message, text, created_at, seq"
_LOCK_KEY = 0x706C6D656D  # advisory lock id for migrations ("plmem")


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, for reprs, logs and errors."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


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


class PostgresMemoryStore:
    """Memory in PostgreSQL. `PostgresMemoryStore("postgresql://postgres@127.0.0.1:5432/playground")`."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        self._pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=True, kwargs={"autocommit": True})
        self._migrate()

    def __repr__(self) -> str:
        return f"PostgresMemoryStore({masked_url(self.url)!r})"

    def _migrate(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'memory'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"memory schema version {current} in the database is newer than this playground's "
                    f"({SCHEMA_VERSION}); upgrade playground"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS[version]:
                    conn.execute(sql)  # type: ignore[arg-type]
            conn.execute(
                "INSERT INTO schema_versions (component, version) VALUES ('memory', %s) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (SCHEMA_VERSION,),
            )

    def schema_version(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'memory'").fetchone()
        return int(row[0]) if row else 0

    # -- threads ------------------------------------------------------------------------------------------------------
    def save_thread(self, thread: ThreadInfo) -> None:
        now = time.time()
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO memory_threads (id, resource_id, title, metadata, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET resource_id = excluded.resource_id, "
                "title = excluded.title, metadata = excluded.metadata, updated_at = excluded.updated_at",
                (thread.id, thread.resource_id, thread.title, json.dumps(thread.metadata), thread.created_at or now,
                 thread.updated_at or now),
            )

    def get_thread(self, thread_id: str) -> ThreadInfo | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT id, resource_id, title, metadata, created_at, updated_at FROM memory_threads WHERE id = %s",
                (thread_id,),
            ).fetchone()
        return _thread(row) if row else None

    def list_threads(self, resource_id: str | None = None) -> list[ThreadInfo]:
        with self._pool.connection() as conn:
            if resource_id is None:
                rows = conn.execute(
                    "SELECT id, resource_id, title, metadata, created_at, updated_at FROM memory_threads "
                    "ORDER BY updated_at DESC, id"
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, resource_id, title, metadata, created_at, updated_at FROM memory_threads "
                    "WHERE resource_id = %s ORDER BY updated_at DESC, id",
                    (resource_id,),
                ).fetchall()
        return [_thread(r) for r in rows]

    def delete_thread(self, thread_id: str) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM memory_messages WHERE thread_id = %s", (thread_id,))
            conn.execute("DELETE FROM memory_vectors WHERE thread_id = %s", (thread_id,))
            conn.execute("DELETE FROM memory_working WHERE scope = 'thread' AND key = %s", (thread_id,))
            conn.execute("DELETE FROM memory_threads WHERE id = %s", (thread_id,))

    # -- messages -----------------------------------------------------------------------------------------------------
    def add_messages(self, messages: Sequence[StoredMessage]) -> int:
        if not messages:
            return 0
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            ids = [m.id for m in messages]
            existing = {r[0] for r in cur.execute("SELECT id FROM memory_messages WHERE id = ANY(%s)", (ids,))}
            cur.executemany(
                "INSERT INTO memory_messages (id, thread_id, resource_id, role, message, text, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                [(m.id, m.thread_id, m.resource_id, m.role, m.message, m.text, m.created_at or time.time())
                 for m in messages],
            )
            fresh = {m.id: m for m in messages if m.id not in existing and m.embedding is not None}
            if fresh:
                seqs = cur.execute("SELECT id, seq FROM memory_messages WHERE id = ANY(%s)", (list(fresh),))
                cur.executemany(
                    "INSERT INTO memory_vectors VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(fresh[i].resource_id or "", seq, fresh[i].thread_id, i, fresh[i].embedding)
                     for i, seq in seqs.fetchall()],
                )
        return len({m.id for m in messages} - existing)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT id FROM memory_messages WHERE id = ANY(%s)", (list(ids),)).fetchall()
        return {r[0] for r in rows}

    def messages(self, thread_id: str, last: int | None = None) -> list[StoredMessage]:
        with self._pool.connection() as conn:
            if last is None:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = %s ORDER BY seq", (thread_id,)
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = %s "
                    "ORDER BY seq DESC LIMIT %s) t ORDER BY seq",
                    (thread_id, max(0, last)),
                ).fetchall()
        return [_stored(r) for r in rows]

    def neighbours(self, thread_id: str, seq: int, before: int, after: int) -> list[StoredMessage]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"(SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = %s AND seq < %s ORDER BY seq DESC "
                f"LIMIT %s) UNION ALL (SELECT {_COLUMNS} FROM memory_messages WHERE thread_id = %s AND seq >= %s "
                "ORDER BY seq LIMIT %s) ORDER BY seq",
                (thread_id, seq, max(0, before), thread_id, seq, max(0, after) + 1),
            ).fetchall()
        return [_stored(r) for r in rows]

    def search(
        self, vector: Sequence[float], top_k: int, *, thread_id: str | None = None, resource_id: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[SearchHit]:
        where, args = ["TRUE"], []
        if thread_id is not None:
            where.append("thread_id = %s")
            args.append(thread_id)
        if resource_id is not None:
            where.append("resource_id = %s")
            args.append(resource_id)
        ids = list(set(exclude))
        with self._pool.connection() as conn:
            skip = {r[0] for r in conn.execute("SELECT seq FROM memory_messages WHERE id = ANY(%s)", (ids,))} \
                if ids else set()
            rows = conn.execute(  # binary: the vectors arrive as raw bytes, not hex text to decode
                f"SELECT seq, embedding FROM memory_vectors WHERE {' AND '.join(where)}",  # type: ignore[arg-type]
                args, binary=True,
            ).fetchall()
        candidates = [r for r in rows if r[0] not in skip] if skip else rows
        best = top_by_cosine(vector, candidates, top_k)
        if not best:
            return []
        with self._pool.connection() as conn:
            found = conn.execute(
                f"SELECT {_COLUMNS} FROM memory_messages WHERE seq = ANY(%s)",  # type: ignore[arg-type]
                ([s for s, _ in best],),
            ).fetchall()
        by_seq = {m.seq: m for m in map(_stored, found)}
        return [SearchHit(by_seq[s], score) for s, score in best if s in by_seq]

    def set_embedding(self, message_id: str, vector: Sequence[float]) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO memory_vectors SELECT coalesce(resource_id, ''), seq, thread_id, id, %s "
                "FROM memory_messages WHERE id = %s "
                "ON CONFLICT (resource_id, seq) DO UPDATE SET embedding = excluded.embedding",
                (pack_vector(vector), message_id),
            )

    def count_messages(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM memory_messages").fetchone()
        return int(row[0]) if row else 0

    # -- working memory -----------------------------------------------------------------------------------------------
    def get_working_memory(self, scope: str, key: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT content FROM memory_working WHERE scope = %s AND key = %s", (scope, key)
            ).fetchone()
        return row[0] if row else None

    def set_working_memory(self, scope: str, key: str, content: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO memory_working (scope, key, content, updated_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (scope, key) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
                (scope, key, content, time.time()),
            )

    def close(self) -> None:
        self._pool.close()
