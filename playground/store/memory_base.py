"""The memory store seam: threads, their messages (with optional embedding vectors) and working-memory documents.

`MemoryStore` is the protocol; one class written on the store/sql.py seam implements it for both backends
(memory_sql.py): `SqliteMemoryStore` (the default, a file under PLAYGROUND_HOME) and `PostgresMemoryStore` (psycopg 3)
say where. `open_memory_store(url)` picks one by URL:

    open_memory_store(None)            # $PLAYGROUND_DATABASE_URL, else <PLAYGROUND_HOME>/memory.sqlite3
    open_memory_store("sqlite:///tmp/mem.sqlite3")            # or a plain path
    open_memory_store("postgresql://postgres@127.0.0.1/app")  # several playground servers share threads

Vectors are stored as float32 bytes, normalised to unit length when written, so cosine similarity is a dot product.
Search is an exact scan (numpy when importable, else the array module): this Python's sqlite3 cannot load sqlite-vec
and the PostgreSQL here has no pgvector; benchmarks/memory_recall.py measures the scan at 1k, 10k and 100k messages.
"""

from __future__ import annotations

import heapq
import math
import os
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

SCHEMA_VERSION = 2
"""The memory tables' schema version; each backend applies its numbered migrations up to it and records it.
1: threads, messages (with their vectors), working memory. 2: vectors in their own narrow table, clustered by
resource, so a recall scan reads only vectors."""


@dataclass
class ThreadInfo:
    """A conversation thread: its id, owner (resource), title and metadata."""

    id: str
    resource_id: str | None = None
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass
class StoredMessage:
    """One message of a thread as stored: `message` is the JSON of a playground Message."""

    id: str
    thread_id: str
    resource_id: str | None
    role: str
    message: str
    text: str = ""
    created_at: float = 0.0
    seq: int = 0
    embedding: bytes | None = None


@dataclass
class SearchHit:
    message: StoredMessage
    score: float


@runtime_checkable
class MemoryStore(Protocol):
    """Where memory lives. Every method is safe to call from any thread; writes of messages are idempotent by id."""

    url: str

    def save_thread(self, thread: ThreadInfo) -> None: ...

    def get_thread(self, thread_id: str) -> ThreadInfo | None: ...

    def list_threads(self, resource_id: str | None = None) -> list[ThreadInfo]: ...

    def delete_thread(self, thread_id: str) -> None: ...

    def add_messages(self, messages: Sequence[StoredMessage]) -> int:
        """Insert messages whose id is new (others are left alone); returns how many were inserted."""
        ...

    def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    def messages(self, thread_id: str, last: int | None = None) -> list[StoredMessage]:
        """The thread's messages oldest first; `last=N` keeps the newest N."""
        ...

    def neighbours(self, thread_id: str, seq: int, before: int, after: int) -> list[StoredMessage]:
        """Up to `before` messages before `seq` and `after` after it in the same thread, and the message itself."""
        ...

    def search(
        self, vector: Sequence[float], top_k: int, *, thread_id: str | None = None, resource_id: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[SearchHit]:
        """The `top_k` stored messages most similar to `vector` (cosine), in a thread or across a resource."""
        ...

    def get_working_memory(self, scope: str, key: str) -> str | None: ...

    def set_working_memory(self, scope: str, key: str, content: str) -> None: ...

    def count_messages(self) -> int: ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...


def open_memory_store(url: str | os.PathLike[str] | None = None) -> MemoryStore:
    """A memory store from a URL or path; None reads PLAYGROUND_DATABASE_URL, else SQLite under PLAYGROUND_HOME."""
    if url is None:
        url = os.environ.get("PLAYGROUND_DATABASE_URL") or None
    text = os.fspath(url) if url is not None else None
    if text is not None and text.startswith(("postgresql://", "postgres://")):
        from .memory_sql import PostgresMemoryStore

        return PostgresMemoryStore(text)
    from .memory_sql import SqliteMemoryStore

    if text is None:
        return SqliteMemoryStore()
    if text.startswith("sqlite:///"):
        return SqliteMemoryStore(text.removeprefix("sqlite:///") if text != "sqlite:///" else None)
    if "://" in text:
        raise ValueError(
            f"storage: unsupported memory store URL {text.split('://')[0]}://...; use a path, sqlite:///path "
            "or postgresql://user@host/db"
        )
    return SqliteMemoryStore(text)


# -- vectors -------------------------------------------------------------------------------------------------


def pack_vector(vector: Sequence[float]) -> bytes:
    """A vector as unit-length float32 bytes (cosine similarity of two packed vectors is their dot product)."""
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return array("f", [v / norm for v in vector]).tobytes()


def unpack_vector(data: bytes) -> list[float]:
    return array("f", data).tolist()


def top_by_cosine(
    query: Sequence[float], rows: Sequence[tuple[Any, bytes]], top_k: int
) -> list[tuple[Any, float]]:
    """The `top_k` (key, score) pairs of `rows` (key, packed vector) by cosine similarity to `query`, best first.

    An exact scan: numpy's matrix product when numpy is importable, else a pure-Python dot product per row.
    Rows whose dimension differs from the query's (another embedder) are skipped.
    """
    if not rows or top_k <= 0:
        return []
    q = array("f", pack_vector(query)) if query else array("f")
    width = len(q) * 4
    rows = [r for r in rows if len(r[1]) == width]
    if not rows:
        return []
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with gradio; the fallback is measured in the benchmark
        return scan_python(q, rows, top_k)
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), len(q))
    scores = matrix @ np.frombuffer(q.tobytes(), dtype=np.float32)
    k = min(top_k, len(rows))
    idx = np.argpartition(-scores, k - 1)[:k]
    best = sorted(((float(scores[i]), int(i)) for i in idx), key=lambda t: (-t[0], t[1]))
    return [(rows[i][0], s) for s, i in best]


def scan_python(q: array[float], rows: Sequence[tuple[Any, bytes]], top_k: int) -> list[tuple[Any, float]]:
    """The pure-Python exact scan (used without numpy; measured in benchmarks/memory_recall.py)."""
    scored = []
    for i, (_, blob) in enumerate(rows):
        v = array("f", blob)
        scored.append((sum(a * b for a, b in zip(v, q, strict=False)), i))
    best = heapq.nlargest(top_k, scored, key=lambda t: (t[0], -t[1]))
    return [(rows[i][0], float(s)) for s, i in best]
