"""Where suspended runs live between processes: a SQLite file in the playground's data directory.

The data directory is `~/.playground/` unless `PLAYGROUND_HOME` names another. Each run is one row holding the JSON
of its `RunState` (messages, steps, pending calls, the serialisable options; never an API key: raw requests are masked
before they reach a step). `update()` runs inside `BEGIN IMMEDIATE`, which takes SQLite's write lock before reading,
so two processes resolving the same run serialise: one claims a tool call, the other sees it claimed and leaves it.

The file is versioned (`PRAGMA user_version`) and upgraded by numbered migrations when a store opens it; it is created
readable by its owner only (0600, its folder 0700 when the store makes it). Finished and expired runs are deleted
after `retention_days` (default 30, or `PLAYGROUND_RUN_RETENTION_DAYS`). Any failure to read or write the file is a
`StorageError` naming the file and what to do.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from .errors import ApprovalError, ConfigurationError, StorageError
from .runs import DEFAULT_LEASE_SECONDS, RunState, reused_run_id

if TYPE_CHECKING:
    from .store.runs_postgres import PostgresRunStore

T = TypeVar("T")

DEFAULT_RETENTION_DAYS = 30.0

MIGRATIONS: list[str] = [
    # 1: the runs table (stores made before versioning have it already, at user_version 0)
    """
    CREATE TABLE IF NOT EXISTS runs (
        run_id      TEXT PRIMARY KEY,
        agent_name  TEXT,
        status      TEXT NOT NULL,
        state       TEXT NOT NULL,
        updated_at  REAL NOT NULL
    )
    """,
    # 2: when a run was first stored, and an index for listing and retention
    """
    ALTER TABLE runs ADD COLUMN created_at REAL;
    UPDATE runs SET created_at = updated_at WHERE created_at IS NULL;
    CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, updated_at);
    """,
]
"""Numbered schema migrations: entry i takes the file from user_version i to i + 1. Only ever append."""

SCHEMA_VERSION = len(MIGRATIONS)


def playground_home() -> Path:
    """The playground's data directory: `$PLAYGROUND_HOME`, else `~/.playground`."""
    env = os.environ.get("PLAYGROUND_HOME")
    return Path(env).expanduser() if env else Path.home() / ".playground"


def _retention_from_env() -> float | None:
    raw = os.environ.get("PLAYGROUND_RUN_RETENTION_DAYS")
    if raw is None or not raw.strip():
        return DEFAULT_RETENTION_DAYS
    if raw.strip().lower() in ("never", "forever", "none"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"PLAYGROUND_RUN_RETENTION_DAYS: expected a number of days (or 'never'), got {raw!r}",
            field="retention_days",
        ) from None
    if not value >= 0 or value == float("inf"):
        raise ConfigurationError(
            f"PLAYGROUND_RUN_RETENTION_DAYS: expected a number of days >= 0 (or 'never'), got {raw!r}",
            field="retention_days",
        )
    return value


def _lease_from(value: Any) -> float:
    field_name = "lease_seconds"
    if value is None:
        raw = os.environ.get("PLAYGROUND_LEASE_SECONDS")
        if raw is None or not raw.strip():
            return DEFAULT_LEASE_SECONDS
        field_name = "PLAYGROUND_LEASE_SECONDS"
        try:
            value = float(raw)
        except ValueError:
            value = raw
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ConfigurationError(
            f"{field_name}: expected a number of seconds > 0, got {value!r}", field="lease_seconds"
        )
    return float(value)


@dataclass
class RunInfo:
    """One stored run as `playground runs` lists it."""

    run_id: str
    agent_name: str | None
    status: str
    """pending, interrupted, running, finished, failed, expired or damaged (see RunState.lifecycle)."""
    created_at: float
    updated_at: float
    calls: list[dict[str, Any]] = field(default_factory=list)
    """The run's pending calls: id, tool, args and state (waiting, approved, declined, running, interrupted, done)."""


def call_state(call: Any, now: float | None = None) -> str:
    if call.done:
        return "done"
    if call.is_interrupted(now):
        return "interrupted"
    if call.claimed_by is not None:
        return "running"
    return call.decision or "waiting"


def run_infos(
    rows: Any, parse: Callable[[str, str], RunState], status: str | None = None
) -> list[RunInfo]:
    """Rows of (run_id, agent_name, state, created_at, updated_at) as what `playground runs` shows (every store);
    a row that cannot be read is listed as damaged. `status` keeps only runs in that state."""
    now = time.time()
    infos: list[RunInfo] = []
    for run_id, agent_name, raw, created, updated in rows:
        try:
            infos.append(run_info(parse(raw, run_id), created, updated, now))
        except StorageError:
            infos.append(RunInfo(run_id, agent_name, "damaged", created, updated))
    return [i for i in infos if status is None or i.status == status]


def close_for_expiry(state: RunState) -> None:
    """The change `expire` makes to a run (every store): suspended or abandoned-running runs only, and never while a
    live process runs one of its calls."""
    if state.status not in ("suspended", "running"):
        raise ApprovalError(
            f"run {state.run_id!r} is {state.lifecycle()}, not waiting for approval: nothing to expire"
        )
    running = [p.tool_call_id for p in state.pending if p.claimed_by and not p.done and not p.is_interrupted()]
    if running:
        raise ApprovalError(
            f"run {state.run_id!r}: tool call(s) {', '.join(running)} are running now in another process; expire the "
            "run once they are done or interrupted"
        )
    state.status = "expired"


def run_info(state: RunState, created_at: float, updated_at: float, now: float | None = None) -> RunInfo:
    return RunInfo(
        run_id=state.run_id,
        agent_name=state.agent_name,
        status=state.lifecycle(now),
        created_at=created_at,
        updated_at=updated_at,
        calls=[
            {"id": p.tool_call_id, "tool": p.tool_name, "args": p.edited_args or p.args, "state": call_state(p, now)}
            for p in state.pending
        ],
    )


class SqliteRunStore:
    """Suspended runs in a SQLite file, shared by every process that opens the same path.

    `SqliteRunStore()` uses `<data dir>/runs.sqlite3`; the directory is read when the store is made, so set
    `PLAYGROUND_HOME` before creating agents. Connections are opened per operation, so one store may be used from any
    thread, and a process that crashed leaves nothing locked.

    `retention_days`: finished, failed and expired runs older than this are deleted when the store opens the file and by
    `prune()` (None keeps them; default `PLAYGROUND_RUN_RETENTION_DAYS` or 30). `lease_seconds`: how long a claim on a
    tool call holds without renewal before the call shows as interrupted (default `PLAYGROUND_LEASE_SECONDS` or 60;
    the process running the tool renews it every third of that).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 30.0,
        retention_days: float | str | None = "env",
        lease_seconds: float | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else playground_home() / "runs.sqlite3"
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
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteRunStore({str(self.path)!r})"

    # -- opening ------------------------------------------------------------------------------------------------------
    def _fail(self, doing: str, exc: BaseException) -> StorageError:
        hint = (
            "make the folder writable, set PLAYGROUND_HOME to one that is, or pass storage=InMemoryRunStore() to the "
            "Agent"
        )
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            hint = "the file is not a SQLite database (damaged or replaced): move it away and a new one is made"
        return StorageError(f"run store {self.path}: could not {doing}: {exc}; {hint}", path=str(self.path))

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(doing, exc) from exc

    def _parse(self, raw: str, run_id: str | None = None) -> RunState:
        try:
            return RunState.model_validate_json(raw)
        except ValidationError as exc:
            which = f"run {run_id!r}" if run_id else "a run"
            raise StorageError(
                f"run store {self.path}: {which} is damaged and cannot be read ({exc.error_count()} problem(s), first: "
                f"{exc.errors()[0]['msg']}); delete it with `playground runs delete RUN_ID`",
                path=str(self.path),
            ) from None

    def _prepare_file(self) -> None:
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # made here: only its owner may list it
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        mode = stat.S_IMODE(os.stat(self.path).st_mode)
        if mode & 0o077:
            os.chmod(self.path, 0o600)  # runs hold conversations: the owner's only

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"run store {self.path}: schema version {version} was written by a newer playground (this one knows "
                f"up to {SCHEMA_VERSION}); upgrade playground or point PLAYGROUND_HOME elsewhere",
                path=str(self.path),
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have migrated
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _connect(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._guard(doing):
            if not self._ready:
                with self._lock:
                    if not self._ready:
                        self._prepare_file()
                        with self._open() as conn:
                            conn.execute("PRAGMA journal_mode=WAL")  # kept in the file (see _open)
                            self._migrate(conn)
                            self._prune(conn)
                        self._keep_open = sqlite3.connect(self.path, check_same_thread=False)  # see _open
                        self._keep_open.execute("PRAGMA user_version").fetchone()
                        self._ready = True
            with self._open() as conn:
                yield conn

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        """One connection. The file is in WAL mode (set once, when the store first opens it) with synchronous=NORMAL:
        a commit appends to the write-ahead log without waiting for the disk, and the log is synced at checkpoints.
        A committed decision (an approval, a claim) survives the crash or kill of any process, which is what runs
        waiting for approval need; only an OS crash or power cut may lose the last commits (never corrupt the file).
        Readers do not block the writer. Each commit waiting on the disk made Send + Approve ~100 ms slower.
        The store keeps one idle connection open (`_keep_open`, never used): the last connection to close would
        checkpoint the log and wait on the disk, so each per-operation connection closing would again."""
        # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE) where they matter
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield conn
        finally:
            conn.close()

    # -- the RunStore protocol ----------------------------------------------------------------------------------------
    def save(self, state: RunState) -> None:
        data = state.dump()
        now = time.time()
        with self._connect("save the run") as conn:
            conn.execute(
                "INSERT INTO runs (run_id, agent_name, status, state, updated_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET agent_name=excluded.agent_name, "
                "status=excluded.status, state=excluded.state, updated_at=excluded.updated_at",
                (state.run_id, state.agent_name, state.status, data, now, now),
            )

    def create(self, state: RunState) -> None:
        """Save a new run; OptionsError (and nothing written) when a run with its id is stored already."""
        data = state.dump()
        now = time.time()
        with self._connect("save the run") as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, agent_name, status, state, updated_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (state.run_id, state.agent_name, state.status, data, now, now),
                )
            except sqlite3.IntegrityError:
                row = conn.execute("SELECT state FROM runs WHERE run_id = ?", (state.run_id,)).fetchone()
                existing = self._parse(row[0]).lifecycle() if row else "stored"
                raise reused_run_id(state.run_id, existing) from None

    def load(self, run_id: str) -> RunState | None:
        with self._connect("read the run") as conn:
            row = conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return self._parse(row[0], run_id) if row else None

    def delete(self, run_id: str) -> None:
        with self._connect("delete the run") as conn:
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

    def update(self, run_id: str, mutate: Callable[[RunState], T]) -> tuple[RunState, T]:
        """Load, change and save one run in a single write transaction; if `mutate` raises nothing is written."""
        with self._connect("update the run") as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                if row is None:
                    raise ApprovalError(
                        f"no suspended run {run_id!r} in {self.path}: it was never suspended here, or it was stored "
                        "elsewhere (pass the same storage= or PLAYGROUND_HOME to the Agent)"
                    )
                state = self._parse(row[0], run_id)
                value = mutate(state)
                conn.execute(
                    "UPDATE runs SET status = ?, state = ?, updated_at = ? WHERE run_id = ?",
                    (state.status, state.dump(), time.time(), run_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return state, value

    # -- listing and housekeeping (`playground runs`) -----------------------------------------------------------------
    def suspended(self) -> list[str]:
        """Ids of the runs waiting for approval, newest first."""
        with self._connect("list runs") as conn:
            rows = conn.execute(
                "SELECT run_id FROM runs WHERE status = 'suspended' ORDER BY updated_at DESC"
            ).fetchall()
        return [r[0] for r in rows]

    def runs(self) -> list[RunState]:
        """Every stored run, newest first."""
        with self._connect("list runs") as conn:
            rows = conn.execute("SELECT state FROM runs ORDER BY updated_at DESC").fetchall()
        return [self._parse(r[0]) for r in rows]

    def list_runs(self, status: str | None = None) -> list[RunInfo]:
        """What `playground runs` shows: each run's status (pending, interrupted, running, finished, expired, or
        damaged for a row that cannot be read) and calls, newest first; `status` keeps only runs in that state."""
        with self._connect("list runs") as conn:
            rows = conn.execute(
                "SELECT run_id, agent_name, state, COALESCE(created_at, updated_at), updated_at FROM runs "
                "ORDER BY updated_at DESC"
            ).fetchall()
        return run_infos(rows, self._parse, status)

    def expire(self, run_id: str) -> RunState:
        """Close a suspended run without resuming it: its calls can no longer be approved. A call that a live process
        is running right now cannot be expired (wait for it, or for its lease to run out). A run left `running` (its
        process died after its tools ran, while the model was asked again) can be expired too."""

        state, _ = self.update(run_id, close_for_expiry)
        return state

    def prune(self, older_than_days: float | None = None) -> int:
        """Delete finished, failed and expired runs last changed more than `older_than_days` (default:
        `retention_days`) ago. Returns how many were deleted; with no retention (None) and no argument, nothing is."""
        with self._connect("prune runs") as conn:
            return self._prune(conn, older_than_days)

    def _prune(self, conn: sqlite3.Connection, older_than_days: float | None = None) -> int:
        days = older_than_days if older_than_days is not None else self.retention_days
        if days is None:
            return 0
        cutoff = time.time() - days * 86400
        cur = conn.execute(
            "DELETE FROM runs WHERE status IN ('finished', 'failed', 'expired') AND updated_at < ?", (cutoff,)
        )
        return int(cur.rowcount or 0)

    def schema_version(self) -> int:
        with self._connect("read the schema version") as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def __len__(self) -> int:
        with self._connect("count runs") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


# -- choosing the store: SQLite by default, PostgreSQL by URL ---------------------------------------------------------


def open_run_store(where: str | os.PathLike[str] | None = None, **options: Any) -> SqliteRunStore | PostgresRunStore:
    """The run store `where` names: a `postgresql://` URL gives a PostgresRunStore (psycopg 3, pooled), `sqlite:///PATH`
    or a plain path a SqliteRunStore. None reads `PLAYGROUND_DATABASE_URL`, else SQLite at
    `<PLAYGROUND_HOME>/runs.sqlite3`. `options` (retention_days, lease_seconds, timeout) go to the store."""
    if where is None:
        where = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip() or None
    if where is None:
        return SqliteRunStore(**options)
    text = os.fspath(where)
    if text.startswith(("postgresql://", "postgres://")):
        from .store.runs_postgres import PostgresRunStore

        return PostgresRunStore(text, **options)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
        return SqliteRunStore(text or None, **options)
    if "://" in text:
        raise ConfigurationError(
            f"run store: unsupported URL {text.split('://')[0]}://... (PLAYGROUND_DATABASE_URL or --store); use "
            "postgresql://user@host:port/database, sqlite:///path or a file path",
            field="PLAYGROUND_DATABASE_URL",
        )
    return SqliteRunStore(text, **options)


_shared_stores: dict[str, PostgresRunStore] = {}
_shared_lock = threading.Lock()


def default_run_store() -> SqliteRunStore | PostgresRunStore:
    """The store an Agent given no `storage=` uses, read from the environment now: PostgreSQL when
    `PLAYGROUND_DATABASE_URL` is a postgresql:// URL (one pool per URL in a process, shared by its agents), else SQLite
    under PLAYGROUND_HOME."""
    url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
    if not url.startswith(("postgresql://", "postgres://")):
        return open_run_store(url or None)
    with _shared_lock:
        store = _shared_stores.get(url)
        if store is None:
            from .store.runs_postgres import PostgresRunStore

            store = _shared_stores[url] = PostgresRunStore(url)
            if len(_shared_stores) == 1:
                import atexit

                atexit.register(_close_shared_stores)
        return store


def _close_shared_stores() -> None:
    with _shared_lock:
        stores = list(_shared_stores.values())
    for store in stores:
        store.close()
