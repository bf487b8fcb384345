"""The playground's own traces: finished spans kept in a trace store, so the browser and notebook playgrounds (and
`playground run`) show a run's waterfall with no collector.

Two stores, one interface (`add(rows)`, `spans(trace_id)`, `traces(limit)`, `clear()`, `close()`):

- `TraceStore` (SQLite, the default): `<PLAYGROUND_HOME>/traces.sqlite3`, no server.
- `PostgresTraceStore` (playground/store/traces_postgres.py): chosen by `PLAYGROUND_DATABASE_URL=postgresql://...`, like
  the run store, so several playground servers show the same traces.

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
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .traces_postgres import PostgresTraceStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    span_id     TEXT NOT NULL,
    trace_id    TEXT NOT NULL,
    parent_id   TEXT,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    start_ns    INTEGER NOT NULL,
    end_ns      INTEGER NOT NULL,
    status      TEXT NOT NULL,
    message     TEXT,
    attributes  TEXT NOT NULL,
    events      TEXT NOT NULL,
    links       TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_ns);
"""
DEFAULT_KEEP = 20_000
PRUNE_EVERY = 500  # spans written between two prunes
CHUNK = 32  # spans the writer thread turns into rows before it lets other threads run

log = logging.getLogger("playground.traces")


class SpanStore(Protocol):
    """What both trace stores do (SQLite `TraceStore`, `PostgresTraceStore`)."""

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
    """One span dict as the 12 column values both stores insert (JSON text for attributes, events and links)."""
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
    """Spans in a SQLite file (default `<PLAYGROUND_HOME>/traces.sqlite3`, read when each call runs, so one store
    follows PLAYGROUND_HOME). Thread-safe: one connection, kept open (WAL, synchronous=NORMAL: a batch of spans is one
    commit with no fsync of its own, and the file is not checkpointed after every batch) and used under a lock; a
    forked child opens its own."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, keep: int = DEFAULT_KEEP) -> None:
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            from ..errors import ConfigurationError

            raise ConfigurationError(f"keep: expected a number of spans >= 1, got {keep!r}", field="keep")
        self._path = Path(path) if path is not None else None
        self.keep = keep
        self._lock = threading.Lock()
        self._ready: set[Path] = set()
        self._writes = 0
        self._conn: sqlite3.Connection | None = None
        self._conn_path: Path | None = None
        self._pid = os.getpid()

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else default_path()

    def __repr__(self) -> str:
        return f"TraceStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The open connection (opened, or reopened for another path or in a forked child); commits on success.
        Callers hold `self._lock`."""
        path = self.path
        conn = self._conn
        if conn is None or self._conn_path != path or self._pid != os.getpid():
            if conn is not None and self._pid == os.getpid():
                conn.close()
            self._conn = None
            if path not in self._ready:
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
            try:
                if path not in self._ready:
                    conn.executescript(SCHEMA)
                    self._ready.add(path)
                    os.chmod(path, 0o600)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except BaseException:
                conn.close()
                raise
            self._conn, self._conn_path, self._pid = conn, path, os.getpid()
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write finished spans (dicts as `spans` returns them); a span already stored is replaced."""
        self.add_values([row_values(r) for r in rows])

    def add_values(self, values: Sequence[tuple[Any, ...]]) -> None:
        """Write spans already turned into column values (`row_values`), in one transaction."""
        if not values:
            return
        with self._lock, self._connect() as conn:
            conn.executemany("INSERT OR REPLACE INTO spans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", values)
            self._writes += len(values)
            if self._writes >= PRUNE_EVERY:
                self._writes = 0
                conn.execute(
                    "DELETE FROM spans WHERE start_ns < (SELECT start_ns FROM spans ORDER BY start_ns DESC "
                    "LIMIT 1 OFFSET ?)",
                    (self.keep - 1,),
                )

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        """Every stored span of one trace, oldest first."""
        if not self.path.exists():
            return []
        with self._lock, self._connect() as conn:
            rows = conn.execute(
                "SELECT span_id, trace_id, parent_id, name, kind, start_ns, end_ns, status, message, attributes, "
                "events, links FROM spans WHERE trace_id = ? ORDER BY start_ns, end_ns",
                (trace_id,),
            ).fetchall()
        return [read_row(r) for r in rows]

    def traces(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest traces: trace_id, root span name, start, duration, span count."""
        if not self.path.exists():
            return []
        with self._lock, self._connect() as conn:
            rows = conn.execute(
                "SELECT trace_id, MIN(start_ns), MAX(end_ns), COUNT(*), "
                "(SELECT name FROM spans s2 WHERE s2.trace_id = s.trace_id ORDER BY start_ns LIMIT 1) "
                "FROM spans s GROUP BY trace_id ORDER BY MIN(start_ns) DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return trace_summaries(rows)

    def clear(self) -> None:
        if self.path.exists():
            with self._lock, self._connect() as conn:
                conn.execute("DELETE FROM spans")

    def close(self) -> None:
        """Close the connection (the store opens a new one if used again)."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        with self._lock, self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0])


SqliteTraceStore = TraceStore


# -- choosing the store: SQLite by default, PostgreSQL by URL ----------------------------------------------------------


def _is_postgres(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def open_trace_store(where: str | os.PathLike[str] | None = None, **options: Any) -> TraceStore | PostgresTraceStore:
    """The trace store `where` names: a `postgresql://` URL gives a PostgresTraceStore, `sqlite:///PATH` or a plain path
    a SQLite TraceStore. None reads `PLAYGROUND_DATABASE_URL` (a postgresql:// URL), else SQLite at
    `<PLAYGROUND_HOME>/traces.sqlite3`. `options` (keep, timeout) go to the store."""
    if where is None:
        url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
        where = url if _is_postgres(url) else None  # a sqlite:/// run store: traces stay beside it, in PLAYGROUND_HOME
    if where is None:
        return TraceStore(**options)
    text = os.fspath(where)
    if _is_postgres(text):
        from .traces_postgres import PostgresTraceStore

        return PostgresTraceStore(text, **options)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
        return TraceStore(text or None, **options)
    if "://" in text:
        from ..errors import ConfigurationError

        raise ConfigurationError(
            f"trace store: unsupported URL {text.split('://')[0]}://... (PLAYGROUND_DATABASE_URL); use "
            "postgresql://user@host:port/database, sqlite:///path or a file path",
            field="PLAYGROUND_DATABASE_URL",
        )
    return TraceStore(text, **options)


_stores: dict[str, Any] = {}
_by_env: dict[tuple[str | None, str | None], Any] = {}
_stores_lock = threading.Lock()


def default_trace_store() -> TraceStore | PostgresTraceStore:
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
