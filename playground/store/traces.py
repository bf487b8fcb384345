"""The playground's own traces: finished spans kept in SQLite under PLAYGROUND_HOME (`traces.sqlite3`), so the browser
and notebook playgrounds show a run's waterfall with no collector.

`StoreSpanProcessor` is an OpenTelemetry SDK span processor (the SDK is the `otel` extra, imported only here and only
when the processor is made). It writes each span as it ends; `TraceStore.spans(trace_id)` reads a trace back as plain
dicts. The newest `keep` spans are kept (older ones are pruned), and nothing here ever holds an API key: spans carry
no request headers, and message content only when content capture was asked for.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

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


def default_path() -> Path:
    from ..storage import playground_home

    return playground_home() / "traces.sqlite3"


class TraceStore:
    """Spans in a SQLite file (default `<PLAYGROUND_HOME>/traces.sqlite3`, read when each call runs, so one store
    follows PLAYGROUND_HOME). Thread-safe; a connection per operation."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, keep: int = DEFAULT_KEEP) -> None:
        self._path = Path(path) if path is not None else None
        self.keep = keep
        self._lock = threading.Lock()
        self._ready: set[Path] = set()
        self._writes = 0

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else default_path()

    def __repr__(self) -> str:
        return f"TraceStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        path = self.path
        if path not in self._ready:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10)
        try:
            if path not in self._ready:
                conn.executescript(SCHEMA)
                conn.execute("PRAGMA journal_mode=WAL")
                self._ready.add(path)
                os.chmod(path, 0o600)
            yield conn
            conn.commit()
        finally:
            conn.close()

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        values = [
            (
                r["span_id"], r["trace_id"], r.get("parent_id"), r["name"], r.get("kind", "INTERNAL"),
                int(r["start_ns"]), int(r["end_ns"]), r.get("status", "UNSET"), r.get("message"),
                json.dumps(r.get("attributes") or {}, default=str), json.dumps(r.get("events") or [], default=str),
                json.dumps(r.get("links") or [], default=str),
            )
            for r in rows
        ]
        with self._lock, self._connect() as conn:
            conn.executemany("INSERT OR REPLACE INTO spans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", values)
            self._writes += len(values)
            if self._writes >= 500:
                self._writes = 0
                conn.execute(
                    "DELETE FROM spans WHERE start_ns < (SELECT start_ns FROM spans ORDER BY start_ns DESC "
                    "LIMIT 1 OFFSET ?)",
                    (self.keep,),
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
        return [_row(r) for r in rows]

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
        return [
            {"trace_id": t, "start_ns": a, "duration_ms": (b - a) / 1e6, "spans": n, "name": name}
            for t, a, b, n, name in rows
        ]

    def clear(self) -> None:
        if self.path.exists():
            with self._lock, self._connect() as conn:
                conn.execute("DELETE FROM spans")


def _row(r: Sequence[Any]) -> dict[str, Any]:
    return {
        "span_id": r[0], "trace_id": r[1], "parent_id": r[2], "name": r[3], "kind": r[4], "start_ns": r[5],
        "end_ns": r[6], "status": r[7], "message": r[8], "attributes": json.loads(r[9]), "events": json.loads(r[10]),
        "links": json.loads(r[11]),
    }


def span_dict(span: Any) -> dict[str, Any]:
    """A finished SDK span (ReadableSpan) as a plain dict (the shape `TraceStore` keeps)."""
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


def make_processor(store: TraceStore | None = None) -> Any:
    """A `StoreSpanProcessor` (needs opentelemetry-sdk): every span that ends is written to `store`."""
    from opentelemetry.sdk.trace import SpanProcessor

    class StoreSpanProcessor(SpanProcessor):
        """Writes each finished span to the playground's trace store (errors are swallowed: tracing never breaks a
        run)."""

        def __init__(self, store: TraceStore) -> None:
            self.store = store

        def on_end(self, span: Any) -> None:
            with suppress(sqlite3.Error, OSError, ValueError, TypeError):
                self.store.add([span_dict(span)])

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    return StoreSpanProcessor(store or TraceStore())
