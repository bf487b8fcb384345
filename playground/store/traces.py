"""The playground's own traces: finished spans kept in a trace store, so the browser and notebook playgrounds (and
`playground run`) show a run's waterfall with no collector.

One store, `TraceStore`, written once for SQLite and PostgreSQL on the store/sql.py seam (`add(rows)`,
`spans(trace_id)`, `traces(limit)`, `clear()`, `close()`); only the table definitions (MIGRATIONS) differ:

- `TraceStore()` (SQLite, the default): `<PLAYGROUND_HOME>/traces.sqlite3`, readable by its owner only, no server.
- `PostgresTraceStore(url)`: chosen by `PLAYGROUND_DATABASE_URL=postgresql://...`, like the run store, so several
  playground servers show the same traces.

Both keep spans in a `trace_spans` table keyed by (trace_id, span_id), attributes, events and links as JSON text (cast
with `attributes::jsonb` to query them on PostgreSQL). The schema is versioned per backend (SQLite: the file's PRAGMA
user_version; PostgreSQL: the 'traces' row of `schema_versions`, migrated under the shared advisory lock). A SQLite
file written before the seam (an unversioned `spans` table) is migrated in place: the table is renamed, nothing is
lost. A database that cannot be reached or written is a StorageError naming it (password masked); psycopg is imported
on first use, and making a store never connects.

`default_trace_store()` picks one from the environment (one object per place, reused); `open_trace_store(where)` opens
the one a URL or path names. Spans reach the store through `SpanWriter`: recording a span only appends it to a buffer;
a background thread turns buffered spans into rows and writes them in batches (a transaction per batch), so a run
never waits for the database. `flush()` (done before every read through `playground.tracing.local_spans`, and at exit)
writes what is buffered. Spans come from the playground's own lean recorder (`playground.tracing.LocalSpan`) or, when
a user has set up the OpenTelemetry SDK, from `StoreSpanProcessor` added to their provider. The newest `keep` spans
are kept (older ones are pruned), and nothing here ever holds an API key: spans carry no request headers, and message
content only when content capture was asked for.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .sql import POSTGRES

if TYPE_CHECKING:
    from .sql import PostgresDatabase, SqliteDatabase

_SPANS = """CREATE TABLE IF NOT EXISTS {table} (
            span_id TEXT NOT NULL, trace_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
            start_ns {integer} NOT NULL, end_ns {integer} NOT NULL, status TEXT NOT NULL, message TEXT,
            attributes TEXT NOT NULL, events TEXT NOT NULL, links TEXT NOT NULL,
            PRIMARY KEY (trace_id, span_id))"""
MIGRATIONS: dict[str, dict[int, list[str]]] = {
    "sqlite": {
        1: [
            # a file made before the seam already has this `spans` table (and user_version 0): it is renamed in place
            _SPANS.format(table="spans", integer="INTEGER"),
            "ALTER TABLE spans RENAME TO trace_spans",
            "DROP INDEX IF EXISTS spans_by_start",
            "CREATE INDEX IF NOT EXISTS trace_spans_by_start ON trace_spans (start_ns)",
        ],
    },
    "postgres": {
        1: [  # as the PostgreSQL store made it before the seam (the 'traces' row of schema_versions at 1)
            """CREATE TABLE IF NOT EXISTS trace_spans (
            trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
            start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, status TEXT NOT NULL, message TEXT,
            attributes TEXT NOT NULL, events TEXT NOT NULL, links TEXT NOT NULL,
            PRIMARY KEY (trace_id, span_id))""",
            "CREATE INDEX IF NOT EXISTS trace_spans_by_start ON trace_spans (start_ns)",
        ],
    },
}
"""The schema per backend; entry N takes it from version N - 1 to N. Only ever add."""
SCHEMA_VERSION = max(MIGRATIONS["sqlite"])
DEFAULT_KEEP = 20_000
PRUNE_EVERY = 500  # spans written between two prunes
CHUNK = 32  # spans the writer thread turns into rows before it lets other threads run
_COLUMNS = "span_id, trace_id, parent_id, name, kind, start_ns, end_ns, status, message, attributes, events, links"

log = logging.getLogger("playground.traces")


class SpanStore(Protocol):
    """What a trace store does (`TraceStore`, and anything standing in for one)."""

    keep: int

    def add(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def add_values(self, values: Sequence[tuple[Any, ...]]) -> None: ...
    def spans(self, trace_id: str) -> list[dict[str, Any]]: ...
    def traces(self, limit: int = 50) -> list[dict[str, Any]]: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


def default_path() -> Path:
    from ..storage import playground_home

    return playground_home() / "traces.sqlite3"


_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode  # made once: json.dumps(default=) makes one a call


def to_json(value: Any, empty: str) -> str:
    """JSON text of an attributes dict or an events/links list (`empty` for none; tuples become lists)."""
    return _encode(value) if value else empty


def row_values(r: dict[str, Any]) -> tuple[Any, ...]:
    """One span dict as the 12 column values the store inserts (JSON text for attributes, events and links)."""
    return (
        r["span_id"], r["trace_id"], r.get("parent_id"), r["name"], r.get("kind", "INTERNAL"),
        int(r["start_ns"]), int(r["end_ns"]), r.get("status", "UNSET"), r.get("message"),
        to_json(r.get("attributes"), "{}"), to_json(r.get("events"), "[]"), to_json(r.get("links"), "[]"),
    )


def read_row(r: Sequence[Any]) -> dict[str, Any]:
    """A stored row (the 12 columns, in order) as the span dict `add` was given."""
    return {
        "span_id": r[0], "trace_id": r[1], "parent_id": r[2], "name": r[3], "kind": r[4], "start_ns": int(r[5]),
        "end_ns": int(r[6]), "status": r[7], "message": r[8], "attributes": json.loads(r[9]),
        "events": json.loads(r[10]), "links": json.loads(r[11]),
    }


def trace_summaries(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [
        {"trace_id": t, "start_ns": int(a), "duration_ms": (int(b) - int(a)) / 1e6, "spans": int(n), "name": name}
        for t, a, b, n, name in rows
    ]


class TraceStore:
    """Spans in SQLite or PostgreSQL: `TraceStore()` (`<PLAYGROUND_HOME>/traces.sqlite3`, read when made),
    `TraceStore("traces.sqlite3")` or `sqlite:///PATH`, `TraceStore("postgresql://...")` (see also
    `PostgresTraceStore`). `keep`: how many of the newest spans are kept. `options` (timeout, min_size, max_size) go to
    a PostgreSQL connection pool, opened on first use. Safe to use from any thread (SQLite: one connection per thread,
    WAL, synchronous=NORMAL, so a batch of spans is one commit with no fsync of its own; a forked child opens its
    own); `close()` releases the connections (they are opened again if the store is used again)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, keep: int = DEFAULT_KEEP, **options: Any) -> None:
        from .sql import SqliteDatabase, open_database

        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            from ..errors import ConfigurationError

            raise ConfigurationError(f"keep: expected a number of spans >= 1, got {keep!r}", field="keep")
        options.setdefault("max_size", 2)
        self.db: SqliteDatabase | PostgresDatabase = open_database(
            path if path is not None else default_path(), component="traces", migrations=MIGRATIONS,
            default_file="traces.sqlite3", label="trace store", keeps="traces", **options,
        )
        self.url = self.db.url
        self.path: Path | str = self.db.path if isinstance(self.db, SqliteDatabase) else self.db.where
        """Where the spans are: the SQLite file, or for messages the PostgreSQL URL with its password masked."""
        self.keep = keep
        self._writes = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.db.where!r})"

    def _absent(self) -> bool:
        """A SQLite file never written: reading it makes no file."""
        return self.db.kind == "sqlite" and not os.path.exists(self.db.where)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write finished spans (dicts as `spans` returns them); a span already stored is replaced."""
        self.add_values([row_values(r) for r in rows])

    def add_values(self, values: Sequence[tuple[Any, ...]]) -> None:
        """Write spans already turned into column values (`row_values`), in one transaction."""
        if not values:
            return
        with self.db.connect("write spans", write=True) as db:
            db.executemany(
                f"INSERT INTO trace_spans ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (trace_id, span_id) DO UPDATE SET parent_id = excluded.parent_id, "
                "name = excluded.name, kind = excluded.kind, start_ns = excluded.start_ns, "
                "end_ns = excluded.end_ns, status = excluded.status, message = excluded.message, "
                "attributes = excluded.attributes, events = excluded.events, links = excluded.links",
                values,
            )
            self._writes += len(values)
            if self._writes >= PRUNE_EVERY:
                self._writes = 0
                db.execute(
                    "DELETE FROM trace_spans WHERE start_ns < (SELECT start_ns FROM trace_spans "
                    "ORDER BY start_ns DESC LIMIT 1 OFFSET ?)",
                    (self.keep - 1,),
                )

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        """Every stored span of one trace, oldest first."""
        if self._absent():
            return []
        with self.db.connect("read a trace") as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM trace_spans WHERE trace_id = ? ORDER BY start_ns, end_ns", (trace_id,)
            ).fetchall()
        return [read_row(r) for r in rows]

    def traces(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest traces: trace_id, root span name, start, duration, span count."""
        if self._absent():
            return []
        with self.db.connect("list traces") as db:
            rows = db.execute(
                "SELECT trace_id, MIN(start_ns), MAX(end_ns), COUNT(*), "
                "(SELECT name FROM trace_spans s2 WHERE s2.trace_id = s.trace_id ORDER BY start_ns LIMIT 1) "
                "FROM trace_spans s GROUP BY trace_id ORDER BY MIN(start_ns) DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return trace_summaries(rows)

    def clear(self) -> None:
        if not self._absent():
            with self.db.connect("clear traces", write=True) as db:
                db.execute("DELETE FROM trace_spans")

    def schema_version(self) -> int:
        return self.db.schema_version()

    def close(self) -> None:
        """Close the connections (the store opens new ones if used again)."""
        self.db.close()

    def __len__(self) -> int:
        if self._absent():
            return 0
        with self.db.connect("count spans") as db:
            row = db.execute("SELECT COUNT(*) FROM trace_spans").fetchone()
        return int(row[0]) if row else 0


SqliteTraceStore = TraceStore


class PostgresTraceStore(TraceStore):
    """Spans in PostgreSQL: `PostgresTraceStore("postgresql://postgres@127.0.0.1:5432/playground")`. The pool
    (`min_size`..`max_size` connections) is opened on first use; `timeout`: seconds to wait for a connection."""

    def __init__(self, url: str, *, keep: int = DEFAULT_KEEP, timeout: float = 10.0, min_size: int = 1,
                 max_size: int = 2) -> None:
        if not isinstance(url, str) or not url.startswith(POSTGRES):
            from ..errors import ConfigurationError

            raise ConfigurationError(
                f"url: expected a postgresql://user@host:port/database URL, got {url!r:.60}", field="url"
            )
        super().__init__(url, keep=keep, timeout=timeout, min_size=min_size, max_size=max_size)


# -- choosing the store: SQLite by default, PostgreSQL by URL ----------------------------------------------------------


def _is_postgres(text: str) -> bool:
    return text.startswith(POSTGRES)


def open_trace_store(where: str | os.PathLike[str] | None = None, **options: Any) -> TraceStore:
    """The trace store `where` names: a `postgresql://` URL gives a PostgresTraceStore, `sqlite:///PATH` or a plain path
    a SQLite TraceStore. None reads `PLAYGROUND_DATABASE_URL` (a postgresql:// URL), else SQLite at
    `<PLAYGROUND_HOME>/traces.sqlite3`. `options` (keep, and for PostgreSQL timeout, min_size, max_size) go to the
    store."""
    if where is None:
        url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
        where = url if _is_postgres(url) else None  # a sqlite:/// run store: traces stay beside it, in PLAYGROUND_HOME
    if where is None:
        return TraceStore(**options)
    text = os.fspath(where)
    if _is_postgres(text):
        return PostgresTraceStore(text, **options)
    if text == "sqlite:///":
        return TraceStore(**options)
    return TraceStore(text, **options)  # sqlite:///PATH, a path, or an unsupported URL (a ConfigurationError)


_stores: dict[str, Any] = {}
_by_env: dict[tuple[str | None, str | None], Any] = {}
_stores_lock = threading.Lock()


def default_trace_store() -> TraceStore:
    """The store the playgrounds record into and the Traces tab reads, from the environment now: PostgreSQL when
    `PLAYGROUND_DATABASE_URL` is a postgresql:// URL, else SQLite under PLAYGROUND_HOME. One object per place in a
    process (a PostgreSQL one keeps its pool; all are closed at exit)."""
    env = os.environ
    seen = (env.get("PLAYGROUND_DATABASE_URL"), env.get("PLAYGROUND_HOME"))
    store = _by_env.get(seen)  # the same environment as last time: no paths worked out again (once per run)
    if store is not None:
        return store  # type: ignore[no-any-return]
    url = (seen[0] or "").strip()
    key = url if _is_postgres(url) else str(default_path())
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = open_trace_store(key)
            if not _stores:
                atexit.register(_close_stores)
            _stores[key] = store
        if len(_by_env) > 64:
            _by_env.clear()
        _by_env[seen] = store
    return store  # type: ignore[no-any-return]


def _close_stores() -> None:
    writer().flush()
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
        _by_env.clear()
    for store in stores:
        with suppress(Exception):  # closing at exit: nothing to tell anyone
            store.close()


# -- the background writer -------------------------------------------------------------------------------------------


class SpanWriter:
    """Buffers finished spans and writes them to their stores in batches on a background thread.

    `put(store, span)` is all a run pays: one append (and, for the first span of a batch, waking the thread). The
    thread waits `delay` seconds for more spans to gather, then writes each store's rows in one transaction. A span
    is turned into column values on that thread too (`span.as_values()` for the playground's own spans, `span_dict`
    for an SDK span). `flush()` writes everything put so far before it returns (readers call it first). Errors are
    logged (once per kind) and dropped: tracing never breaks a run. At most `limit` spans wait; beyond that the
    oldest are dropped."""

    def __init__(self, delay: float = 0.5, limit: int = 100_000) -> None:
        self.delay = delay
        self._buffer: deque[tuple[Any, Any]] = deque(maxlen=limit)
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._warned: set[str] = set()

    def put(self, store: Any, span: Any) -> None:
        self._buffer.append((store, span))
        if not self._wake.is_set():
            if self._thread is None:
                self._start()
            self._wake.set()

    def pending(self) -> int:
        return len(self._buffer)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="playground-trace-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            self._wake.wait()
            waited = 0.0
            while waited < self.delay:  # in steps, so a changed delay counts at once
                time.sleep(0.05)
                waited += 0.05
            self._wake.clear()  # before draining: a span put from now on wakes the thread again
            self.flush(yielding=True)

    def flush(self, *, yielding: bool = False) -> None:
        """Write every buffered span now (on the calling thread). `yielding` (the writer thread): let other threads
        run every `CHUNK` spans, so a run's thread coming back from the network never waits long for the GIL while
        a big batch is turned into rows."""
        with self._flush_lock:
            buffer = self._buffer
            if not buffer:
                return
            batches: dict[int, tuple[Any, list[tuple[Any, ...]]]] = {}
            done = 0
            while buffer:
                done += 1
                if yielding and done % CHUNK == 0:
                    time.sleep(0)
                try:
                    store, span = buffer.popleft()
                except IndexError:  # pragma: no cover - emptied by another flush: nothing left
                    break
                try:
                    as_values = getattr(span, "as_values", None)
                    values = as_values() if as_values is not None else row_values(span_dict(span))
                except Exception as exc:  # a span that cannot be read is dropped, never a run
                    self._warn("read a span", exc)
                    continue
                batches.setdefault(id(store), (store, []))[1].append(values)
            for store, rows in batches.values():
                try:
                    store.add_values(rows)
                except Exception as exc:  # tracing never breaks a run
                    self._warn(f"write {len(rows)} span(s) to {store!r}", exc)

    def _warn(self, doing: str, exc: BaseException) -> None:
        key = f"{doing.split(' ', 1)[0]}:{type(exc).__name__}"
        if key not in self._warned:  # once per kind of failure: a broken store must not flood the log
            self._warned.add(key)
            log.warning("playground traces: could not %s: %s", doing, exc)

    def _after_fork(self) -> None:
        """In a forked child: no thread yet, no buffered spans (the parent writes its own)."""
        self._buffer.clear()
        self._thread = None
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()


_writer: SpanWriter | None = None


def writer() -> SpanWriter:
    """The process's span writer (made on first use; flushed at exit)."""
    global _writer
    if _writer is None:
        with _stores_lock:
            if _writer is None:
                w = SpanWriter()
                atexit.register(w.flush)
                if hasattr(os, "register_at_fork"):
                    os.register_at_fork(after_in_child=w._after_fork)
                _writer = w
    return _writer


# -- spans of a user's OpenTelemetry SDK -----------------------------------------------------------------------------


def span_dict(span: Any) -> dict[str, Any]:
    """A finished SDK span (ReadableSpan) as a plain dict (the shape the trace stores keep)."""
    ctx = span.context
    parent = span.parent
    return {
        "span_id": format(ctx.span_id, "016x"),
        "trace_id": format(ctx.trace_id, "032x"),
        "parent_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_ns": span.start_time or 0,
        "end_ns": span.end_time or span.start_time or 0,
        "status": span.status.status_code.name,
        "message": span.status.description,
        "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()},
        "events": [
            {"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})} for e in span.events
        ],
        "links": [
            {"trace_id": format(link.context.trace_id, "032x"), "span_id": format(link.context.span_id, "016x")}
            for link in span.links
        ],
    }


def make_processor(store: Any = None) -> Any:
    """A `StoreSpanProcessor` (needs opentelemetry-sdk): every span that ends is queued for `store` (default: the
    configured store, `default_trace_store()`, looked up when the span ends) and written by the background writer."""
    from opentelemetry.sdk.trace import SpanProcessor

    class StoreSpanProcessor(SpanProcessor):
        """Queues each finished span for the playground's trace store (the run never waits for the write)."""

        def __init__(self, store: Any) -> None:
            self.store = store
            self._writer = writer()

        def on_end(self, span: Any) -> None:
            try:
                self._writer.put(self.store or default_trace_store(), span)
            except Exception as exc:  # tracing never breaks a run
                self._writer._warn("queue a span", exc)

        def shutdown(self) -> None:
            self._writer.flush()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            self._writer.flush()
            return True

    return StoreSpanProcessor(store)
