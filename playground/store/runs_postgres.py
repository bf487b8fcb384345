"""Suspended runs in PostgreSQL (psycopg 3 with a psycopg_pool connection pool), selected by a postgresql:// URL
(`PLAYGROUND_DATABASE_URL`, or `open_run_store(url)`), so several playground servers and workers share approvals.

The same store as `SqliteRunStore` (playground/storage.py), run for run: each run is one row holding the JSON of its
`RunState`; `update()` reads the row with `SELECT ... FOR UPDATE` inside a transaction, so two processes resolving the
same run serialise on that row (and only that row: other runs stay free); `create()` refuses a stored run's id. The
schema is versioned in the `schema_versions` table (component 'runs', shared with the memory store) and upgraded by
numbered migrations under an advisory lock, so servers starting together migrate once. Finished, failed and expired
runs are deleted after `retention_days`. A database that cannot be reached or written is a `StorageError` naming the
URL (password masked) and what to do. psycopg is imported on first use.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError

from ..errors import ApprovalError, ConfigurationError, StorageError
from ..runs import RunState, reused_run_id
from ..storage import RunInfo, _lease_from, _retention_from_env, close_for_expiry, run_infos

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

T = TypeVar("T")

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY, agent_name TEXT, status TEXT NOT NULL, state TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)""",
    ],
    2: [
        "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, updated_at)",
        "CREATE INDEX IF NOT EXISTS runs_by_updated ON runs (updated_at)",
    ],
}
"""Numbered schema migrations: entry N takes the database from version N - 1 to N. Only ever add."""

SCHEMA_VERSION = max(MIGRATIONS)
_LOCK_KEY = 0x706C72756E  # advisory lock id for migrations ("plrun")


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, for reprs, logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class PostgresRunStore:
    """Suspended runs in PostgreSQL: `PostgresRunStore("postgresql://postgres@127.0.0.1:5432/playground")`.

    Every process (playground server, worker, `playground approve`) that opens the same database sees the same runs.
    The pool (`min_size`..`max_size` connections) is opened on first use, so making the store never connects; `close()`
    closes it. `retention_days` and `lease_seconds` are as for `SqliteRunStore` (defaults from
    `PLAYGROUND_RUN_RETENTION_DAYS` / `PLAYGROUND_LEASE_SECONDS`). `timeout`: seconds to wait for a connection.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retention_days: float | str | None = "env",
        lease_seconds: float | None = None,
        min_size: int = 1,
        max_size: int = 4,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                f"url: expected a postgresql://user@host:port/database URL, got {url!r:.60}", field="url"
            )
        self.url = url
        self.path = masked_url(url)
        """Where the runs are, for messages (`playground runs` prints it): the URL with its password masked."""
        self.timeout = timeout
        if retention_days == "env":
            self.retention_days: float | None = _retention_from_env()
        elif retention_days is None or (
            isinstance(retention_days, int | float) and not isinstance(retention_days, bool) and retention_days >= 0
        ):
            self.retention_days = None if retention_days is None else float(retention_days)
        else:
            raise ConfigurationError(
                f"retention_days: expected a number of days >= 0 or None (keep forever), got {retention_days!r}",
                field="retention_days",
            )
        self.lease_seconds = _lease_from(lease_seconds)
        self._min_size = min_size
        self._max_size = max_size
        self._pool: ConnectionPool[Any] | None = None
        self._ready = False
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"PostgresRunStore({self.path!r})"

    def close(self) -> None:
        """Close the connection pool (the store opens a new one if used again)."""
        with self._lock:
            pool, self._pool, self._ready = self._pool, None, False
        if pool is not None:
            pool.close()

    # -- opening ------------------------------------------------------------------------------------------------------
    def _fail(self, doing: str, exc: BaseException) -> StorageError:
        text = " ".join(str(exc).split()) or type(exc).__name__
        password = urlsplit(self.url).password
        if password:
            text = text.replace(password, "***")
        return StorageError(
            f"run store {self.path}: could not {doing}: {text}; check that PostgreSQL is running and the URL in "
            "PLAYGROUND_DATABASE_URL (or --store) names a database you may write, or unset PLAYGROUND_DATABASE_URL "
            "to keep runs in SQLite under PLAYGROUND_HOME",
            path=self.path,
        )

    def _parse(self, raw: str, run_id: str | None = None) -> RunState:
        try:
            return RunState.model_validate_json(raw)
        except ValidationError as exc:
            which = f"run {run_id!r}" if run_id else "a run"
            raise StorageError(
                f"run store {self.path}: {which} is damaged and cannot be read ({exc.error_count()} problem(s), first: "
                f"{exc.errors()[0]['msg']}); delete it with `playground runs delete RUN_ID`",
                path=self.path,
            ) from None

    def _open_pool(self) -> ConnectionPool[Any]:
        if self._pool is not None and self._pid != os.getpid():  # a forked child: never share the parent's sockets
            self._pool, self._ready = None, False
        if self._pool is None:
            import psycopg
            from psycopg_pool import ConnectionPool

            # one direct connection first: an unreachable or misnamed database fails now, with PostgreSQL's reason,
            # instead of a pool retrying in the background and a bare "couldn't get a connection"
            psycopg.connect(self.url, connect_timeout=max(1, round(self.timeout))).close()
            self._pid = os.getpid()
            self._pool = ConnectionPool(
                self.url, min_size=self._min_size, max_size=self._max_size, open=True, timeout=self.timeout,
                kwargs={"autocommit": True}, name="playground-runs",
            )
        return self._pool

    def _migrate(self, conn: Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'runs'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"run store {self.path}: schema version {current} was written by a newer playground (this one "
                    f"knows up to {SCHEMA_VERSION}); upgrade playground or point PLAYGROUND_DATABASE_URL elsewhere",
                    path=self.path,
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS[version]:
                    conn.execute(sql)  # type: ignore[arg-type]
            if current != SCHEMA_VERSION:
                conn.execute(
                    "INSERT INTO schema_versions (component, version) VALUES ('runs', %s) "
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
                        self._prune(conn)
                    self._ready = True
            with pool.connection() as conn:
                yield conn
        except (StorageError, ApprovalError):
            raise
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise self._fail(doing, exc) from None

    # -- the RunStore protocol ----------------------------------------------------------------------------------------
    def save(self, state: RunState) -> None:
        data = state.dump()
        now = time.time()
        with self._connect("save the run") as conn:
            conn.execute(
                "INSERT INTO runs (run_id, agent_name, status, state, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET agent_name = excluded.agent_name, "
                "status = excluded.status, state = excluded.state, updated_at = excluded.updated_at",
                (state.run_id, state.agent_name, state.status, data, now, now),
            )

    def create(self, state: RunState) -> None:
        """Save a new run; OptionsError (and nothing written) when a run with its id is stored already."""
        data = state.dump()
        now = time.time()
        with self._connect("save the run") as conn:
            row = conn.execute(
                "INSERT INTO runs (run_id, agent_name, status, state, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
                (state.run_id, state.agent_name, state.status, data, now, now),
            ).fetchone()
            if row is None:
                existing = conn.execute("SELECT state FROM runs WHERE run_id = %s", (state.run_id,)).fetchone()
                status = self._parse(existing[0]).lifecycle() if existing else "stored"
                raise reused_run_id(state.run_id, status)

    def load(self, run_id: str) -> RunState | None:
        with self._connect("read the run") as conn:
            row = conn.execute("SELECT state FROM runs WHERE run_id = %s", (run_id,)).fetchone()
        return self._parse(row[0], run_id) if row else None

    def delete(self, run_id: str) -> None:
        with self._connect("delete the run") as conn:
            conn.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))

    def update(self, run_id: str, mutate: Callable[[RunState], T]) -> tuple[RunState, T]:
        """Load, change and save one run in a single transaction holding its row lock (`SELECT ... FOR UPDATE`);
        if `mutate` raises nothing is written."""
        with self._connect("update the run") as conn, conn.transaction():
            row = conn.execute("SELECT state FROM runs WHERE run_id = %s FOR UPDATE", (run_id,)).fetchone()
            if row is None:
                raise ApprovalError(
                    f"no suspended run {run_id!r} in {self.path}: it was never suspended here, or it was stored "
                    "elsewhere (point PLAYGROUND_DATABASE_URL, or the Agent's storage=, at the same database)"
                )
            state = self._parse(row[0], run_id)
            value = mutate(state)
            conn.execute(
                "UPDATE runs SET status = %s, state = %s, updated_at = %s WHERE run_id = %s",
                (state.status, state.dump(), time.time(), run_id),
            )
        return state, value

    # -- listing and housekeeping (`playground runs`) -----------------------------------------------------------------
    def suspended(self) -> list[str]:
        """Ids of the runs waiting for approval, newest first."""
        with self._connect("list runs") as conn:
            rows = conn.execute(
                "SELECT run_id FROM runs WHERE status = 'suspended' ORDER BY updated_at DESC, run_id"
            ).fetchall()
        return [r[0] for r in rows]

    def runs(self) -> list[RunState]:
        """Every stored run, newest first."""
        with self._connect("list runs") as conn:
            rows = conn.execute("SELECT run_id, state FROM runs ORDER BY updated_at DESC, run_id").fetchall()
        return [self._parse(raw, run_id) for run_id, raw in rows]

    def list_runs(self, status: str | None = None) -> list[RunInfo]:
        """What `playground runs` shows (see `SqliteRunStore.list_runs`), newest first."""
        with self._connect("list runs") as conn:
            rows = conn.execute(
                "SELECT run_id, agent_name, state, created_at, updated_at FROM runs ORDER BY updated_at DESC, run_id"
            ).fetchall()
        return run_infos(rows, self._parse, status)

    def expire(self, run_id: str) -> RunState:
        """Close a suspended (or abandoned running) run without resuming it; see `SqliteRunStore.expire`."""

        state, _ = self.update(run_id, close_for_expiry)
        return state

    def prune(self, older_than_days: float | None = None) -> int:
        """Delete finished, failed and expired runs last changed more than `older_than_days` (default:
        `retention_days`) ago. Returns how many were deleted; with no retention (None) and no argument, nothing is."""
        with self._connect("prune runs") as conn:
            return self._prune(conn, older_than_days)

    def _prune(self, conn: Connection[Any], older_than_days: float | None = None) -> int:
        days = older_than_days if older_than_days is not None else self.retention_days
        if days is None:
            return 0
        cutoff = time.time() - days * 86400
        cur = conn.execute(
            "DELETE FROM runs WHERE status IN ('finished', 'failed', 'expired') AND updated_at < %s", (cutoff,)
        )
        return int(cur.rowcount or 0)

    def schema_version(self) -> int:
        with self._connect("read the schema version") as conn:
            row = conn.execute("SELECT version FROM schema_versions WHERE component = 'runs'").fetchone()
        return int(row[0]) if row else 0

    def __len__(self) -> int:
        with self._connect("count runs") as conn:
            row = conn.execute("SELECT COUNT(*) FROM runs").fetchone()
        return int(row[0]) if row else 0
