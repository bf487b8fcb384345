"""Traces in PostgreSQL (psycopg 3 with a psycopg_pool connection pool), chosen by
`PLAYGROUND_DATABASE_URL=postgresql://...` like the run store, so every playground server sharing the database shows the
same traces in its Traces tab.

The same store as the SQLite `TraceStore` (playground/store/traces.py), span for span: a `trace_spans` table keyed by
(trace_id, span_id), attributes, events and links as JSON text (cast with `attributes::jsonb` to query them). The
schema is versioned in the `schema_versions` table (component 'traces', shared with the run and memory stores) and
upgraded by numbered migrations under an advisory lock, so servers starting together migrate once. The newest `keep`
spans are kept. A database that cannot be reached or written is a `StorageError` naming the URL (password masked).
psycopg is imported on first use; making the store never connects.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError, StorageError
from .runs_postgres import masked_url
from .traces import DEFAULT_KEEP, PRUNE_EVERY, read_row, row_values, trace_summaries

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS trace_spans (
            trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
            start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, status TEXT NOT NULL, message TEXT,
            attributes TEXT NOT NULL, events TEXT NOT NULL, links TEXT NOT NULL,
            PRIMARY KEY (trace_id, span_id))""",
        "CREATE INDEX IF NOT EXISTS trace_spans_by_start ON trace_spans (start_ns)",
    ],
}
"""Numbered schema migrations: entry N takes the database from version N - 1 to N. Only ever add."""

SCHEMA_VERSION = max(MIGRATIONS)
_LOCK_KEY = 0x706C747263  # advisory lock id for migrations ("pltrc")
_COLUMNS = "span_id, trace_id, parent_id, name, kind, start_ns, end_ns, status, message, attributes, events, links"


class PostgresTraceStore:
    """Spans in PostgreSQL: `PostgresTraceStore("postgresql://postgres@127.0.0.1:5432/playground")`.

    The pool (`min_size`..`max_size` connections) is opened on first use; `close()` closes it. `keep`: how many of the
    newest spans are kept. `timeout`: seconds to wait for a connection."""

    def __init__(
        self, url: str, *, keep: int = DEFAULT_KEEP, timeout: float = 10.0, min_size: int = 1, max_size: int = 2
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                f"url: expected a postgresql://user@host:port/database URL, got {url!r:.60}", field="url"
            )
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise ConfigurationError(f"keep: expected a number of spans >= 1, got {keep!r}", field="keep")
        self.url = url
        self.path = masked_url(url)
        """Where the traces are, for messages: the URL with its password masked."""
        self.keep = keep
        self.timeout = timeout
        self._min_size = min_size
        self._max_size = max_size
        self._pool: ConnectionPool[Any] | None = None
        self._ready = False
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._writes = 0

    def __repr__(self) -> str:
        return f"PostgresTraceStore({self.path!r})"

    def close(self) -> None:
        """Close the connection pool (the store opens a new one if used again)."""
        with self._lock:
            pool, self._pool, self._ready = self._pool, None, False
        if pool is not None:
            pool.close()

    def _fail(self, doing: str, exc: BaseException) -> StorageError:
        text = " ".join(str(exc).split()) or type(exc).__name__
        password = urlsplit(self.url).password
        if password:
            text = text.replace(password, "***")
        return StorageError(
            f"trace store {self.path}: could not {doing}: {text}; check that PostgreSQL is running and the URL in "
            "PLAYGROUND_DATABASE_URL names a database you may write, or unset PLAYGROUND_DATABASE_URL to keep traces "
            "in SQLite under PLAYGROUND_HOME",
            path=self.path,
        )

    def _open_pool(self) -> ConnectionPool[Any]:
        if self._pool is not None and self._pid != os.getpid():  # a forked child: never share the parent's sockets
            self._pool, self._ready = None, False
        if self._pool is None:
            import psycopg
            from psycopg_pool import ConnectionPool

            # one direct connection first: an unreachable database fails now, with PostgreSQL's reason
            psycopg.connect(self.url, connect_timeout=max(1, round(self.timeout))).close()
            self._pid = os.getpid()
            self._pool = ConnectionPool(
                self.url, min_size=self._min_size, max_size=self._max_size, open=True, timeout=self.timeout,
                kwargs={"autocommit": True}, name="playground-traces",
            )
        return self._pool

    def _migrate(self, conn: Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'traces'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"trace store {self.path}: schema version {current} was written by a newer playground (this one "
                    f"knows up to {SCHEMA_VERSION}); upgrade playground or point PLAYGROUND_DATABASE_URL elsewhere",
                    path=self.path,
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS[version]:
                    conn.execute(sql)  # type: ignore[arg-type]
            if current != SCHEMA_VERSION:
                conn.execute(
                    "INSERT INTO schema_versions (component, version) VALUES ('traces', %s) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (SCHEMA_VERSION,),
                )

    @contextmanager
    def _connect(self, doing: str) -> Iterator[Connection[Any]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._lock:
                pool = self._open_pool()
                if not self._ready:
                    with pool.connection() as conn:
                        self._migrate(conn)
                    self._ready = True
            with pool.connection() as conn:
                yield conn
        except StorageError:
            raise
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise self._fail(doing, exc) from None

    # -- the trace store interface ------------------------------------------------------------------------------------
    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write finished spans (dicts as `spans` returns them) in one transaction; a span already stored is
        replaced."""
        self.add_values([row_values(r) for r in rows])

    def add_values(self, values: Sequence[tuple[Any, ...]]) -> None:
        """Write spans already turned into column values (`traces.row_values`), in one transaction."""
        if not values:
            return
        with self._connect("write spans") as conn, conn.transaction():
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO trace_spans ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT (trace_id, span_id) DO UPDATE SET parent_id = excluded.parent_id, "
                    "name = excluded.name, kind = excluded.kind, start_ns = excluded.start_ns, "
                    "end_ns = excluded.end_ns, status = excluded.status, message = excluded.message, "
                    "attributes = excluded.attributes, events = excluded.events, links = excluded.links",
                    values,
                )
            self._writes += len(values)
            if self._writes >= PRUNE_EVERY:
                self._writes = 0
                conn.execute(
                    "DELETE FROM trace_spans WHERE start_ns < (SELECT start_ns FROM trace_spans "
                    "ORDER BY start_ns DESC LIMIT 1 OFFSET %s)",
                    (self.keep - 1,),
                )

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        """Every stored span of one trace, oldest first."""
        with self._connect("read a trace") as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM trace_spans WHERE trace_id = %s ORDER BY start_ns, end_ns", (trace_id,)
            ).fetchall()
        return [read_row(r) for r in rows]

    def traces(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest traces: trace_id, root span name, start, duration, span count."""
        with self._connect("list traces") as conn:
            rows = conn.execute(
                "SELECT trace_id, MIN(start_ns), MAX(end_ns), COUNT(*), "
                "(SELECT name FROM trace_spans s2 WHERE s2.trace_id = s.trace_id ORDER BY start_ns LIMIT 1) "
                "FROM trace_spans s GROUP BY trace_id ORDER BY MIN(start_ns) DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return trace_summaries(rows)

    def clear(self) -> None:
        with self._connect("clear traces") as conn:
            conn.execute("DELETE FROM trace_spans")

    def schema_version(self) -> int:
        with self._connect("read the schema version") as conn:
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'traces'").fetchone()
        return int(row[0]) if row else 0

    def __len__(self) -> int:
        with self._connect("count spans") as conn:
            row = conn.execute("SELECT COUNT(*) FROM trace_spans").fetchone()
        return int(row[0]) if row else 0
