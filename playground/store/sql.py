"""One database seam for the stores written once for both backends: memory, scores, prompt versions and job records.

A store is one class that speaks SQL through a `Database`; the two implementations differ in how they connect,
lock and migrate, and each store gives its schema (DDL) per backend. Queries are written once, with `?` placeholders
(translated to `%s` for PostgreSQL) and SQL both speak (`INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x`):

    db = open_database(where, component="scores", migrations={"sqlite": {...}, "postgres": {...}},
                       default_file="scores.sqlite3", label="score store", keeps="scores")

- `SqliteDatabase`: a file under PLAYGROUND_HOME by default, made readable by its owner only; WAL; one connection per
  thread; a write is one `BEGIN IMMEDIATE` transaction; the schema version is the file's PRAGMA user_version.
- `PostgresDatabase`: psycopg 3 with a psycopg_pool pool opened on first use (a forked child makes its own); a write is
  one transaction, `for_update` locks the rows it reads; the version is the component's row of `schema_versions`
  (shared with the run and memory stores) and migrations run under the run store's advisory lock, so servers starting
  together migrate once.

`where`: None reads PLAYGROUND_DATABASE_URL (used when it is a postgresql:// URL), else the SQLite default file; a
postgresql:// URL; `sqlite:///PATH` or a path. A database that cannot be reached, read or written is a StorageError
naming where (password masked) and what to do; a schema written by a newer playground is refused the same way.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..errors import StorageError

if TYPE_CHECKING:  # drivers load on first use: importing a store never imports them
    import sqlite3

    from psycopg_pool import ConnectionPool

Migrations = Mapping[int, Sequence[str]]
"""Numbered schema migrations of one backend: entry N takes the schema from version N - 1 to N. Only ever add."""

POSTGRES = ("postgresql://", "postgres://")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Session:
    """One connection for the length of a `Database.connect()` block: `execute(sql, params)` with `?` placeholders."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self._conn = conn
        self._postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self._postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> Cursor:
        """`binary=True`: PostgreSQL sends the results in its binary format (BYTEA as raw bytes, not hex text)."""
        if binary and self._postgres:
            cur: Cursor = self._conn.execute(self._sql(sql), tuple(params), binary=True)
        else:
            cur = self._conn.execute(self._sql(sql), tuple(params))
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._postgres:
            with self._conn.cursor() as cur:
                cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        else:
            self._conn.executemany(sql, [tuple(r) for r in rows])


class Database(Protocol):
    """Where a store's tables live (see the module docstring)."""

    kind: Literal["sqlite", "postgres"]
    url: str
    where: str
    """For messages: the file path, or the URL with its password masked."""
    for_update: str
    """Appended to a SELECT inside a write to lock the rows it reads (' FOR UPDATE' on PostgreSQL; SQLite's write
    transaction already holds the file)."""

    def connect(self, doing: str, *, write: bool = False) -> Any:
        """A context manager giving a `Session`; `write=True`: one transaction, committed at the end of the block and
        rolled back if it raises. `doing` says what for, in errors ("save scores")."""
        ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...


def owner_only_file(path: Path) -> None:
    """Make the file (and its folder, when missing) readable by its owner only: stores hold conversations, prompts and
    answers. A file another tool made readable by others is made the owner's again."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
        os.chmod(path, 0o600)


class _Base:
    def __init__(self, component: str, migrations: Mapping[str, Migrations], label: str, keeps: str,
                 setting: str) -> None:
        self.component = component
        self.migrations = migrations
        self.label = label
        self.keeps = keeps
        self.setting = setting
        self.where = ""
        self._ready = False
        self._lock = threading.Lock()

    def _newer(self, found: int, latest: int) -> StorageError:
        return StorageError(
            f"{self.label} {self.where}: schema version {found} was written by a newer playground (this one knows up "
            f"to {latest}); upgrade playground, or point {self.setting} / PLAYGROUND_HOME elsewhere",
            path=self.where,
        )


class SqliteDatabase(_Base):
    """A SQLite file (see the module docstring). `migrations`: the SQLite ones."""

    kind: Literal["sqlite", "postgres"] = "sqlite"
    for_update = ""

    def __init__(self, path: str | os.PathLike[str], component: str, migrations: Mapping[str, Migrations], *,
                 label: str, keeps: str, setting: str = "PLAYGROUND_DATABASE_URL", timeout: float = 30.0) -> None:
        super().__init__(component, migrations, label, keeps, setting)
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.where = str(self.path)
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []

    def __repr__(self) -> str:
        return f"SqliteDatabase({self.where!r})"

    def _fail(self, doing: str, exc: BaseException) -> StorageError:
        hint = "make the folder writable, or set PLAYGROUND_HOME to one that is"
        if "not a database" in str(exc) or "malformed" in str(exc):
            hint = "the file is not a SQLite database (damaged or replaced): move it away and a new one is made"
        return StorageError(f"{self.label} {self.where}: could not {doing}: {exc}; {hint}", path=self.where)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            import sqlite3

            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._all.append(conn)
        return conn

    def _version(self, conn: sqlite3.Connection) -> int:
        """The file's schema version. A file made before this seam (the memory store's) kept it in a
        `schema_versions` table, as PostgreSQL does: that version is adopted (and then written as user_version)."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == 0 and conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'"
        ).fetchone():
            row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (self.component,)).fetchone()
            version = int(row[0]) if row else 0
        return version

    def _migrate(self, conn: sqlite3.Connection) -> None:
        steps = self.migrations["sqlite"]
        latest = max(steps)
        version = self._version(conn)
        if version > latest:
            raise self._newer(version, latest)
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) == latest:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._version(conn)  # another process may have migrated
            if version > latest:
                raise self._newer(version, latest)
            for n in range(version + 1, latest + 1):
                for sql in steps[n]:
                    conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {latest}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def ensure(self, doing: str = "open the database") -> None:
        """Make the file and its tables now (the first `connect()` does it otherwise)."""
        import sqlite3

        if self._ready:
            return
        try:
            with self._lock:
                if not self._ready:
                    owner_only_file(self.path)
            conn = self._conn()
            with self._lock:
                if not self._ready:
                    self._migrate(conn)
                    self._ready = True
        except StorageError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(doing, exc) from None

    @contextmanager
    def connect(self, doing: str, *, write: bool = False) -> Iterator[Session]:
        import sqlite3

        self.ensure(doing)
        try:
            conn = self._conn()
            if not write:
                yield Session(conn, False)
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Session(conn, False)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(doing, exc) from None

    def schema_version(self) -> int:
        with self.connect("read the schema version") as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
            self._local = threading.local()
        for conn in conns:
            with suppress(Exception):  # a connection another thread is using now: it closes with that thread
                conn.close()


class PostgresDatabase(_Base):
    """A PostgreSQL database (see the module docstring). `migrations`: the PostgreSQL ones."""

    kind: Literal["sqlite", "postgres"] = "postgres"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, component: str, migrations: Mapping[str, Migrations], *, label: str, keeps: str,
                 setting: str = "PLAYGROUND_DATABASE_URL", timeout: float = 10.0, min_size: int = 1,
                 max_size: int = 4) -> None:
        from .runs_postgres import masked_url

        super().__init__(component, migrations, label, keeps, setting)
        self.url = url
        self.where = masked_url(url)
        self.timeout = timeout
        self._min_size, self._max_size = min_size, max_size
        self._pool: ConnectionPool[Any] | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.where!r})"

    def _fail(self, doing: str, exc: BaseException) -> StorageError:
        from urllib.parse import urlsplit

        text = " ".join(str(exc).split()) or type(exc).__name__
        password = urlsplit(self.url).password
        if password:
            text = text.replace(password, "***")
        return StorageError(
            f"{self.label} {self.where}: could not {doing}: {text}; check that PostgreSQL is running and that "
            f"{self.setting} names a database you may write, or unset it to keep {self.keeps} in SQLite under "
            "PLAYGROUND_HOME",
            path=self.where,
        )

    def _open_pool(self) -> ConnectionPool[Any]:
        if self._pool is not None and self._pid != os.getpid():  # a forked child: never share the parent's sockets
            self._pool, self._ready = None, False
        if self._pool is None:
            import psycopg
            from psycopg_pool import ConnectionPool

            # one direct connection first: an unreachable or misnamed database fails now with PostgreSQL's reason
            psycopg.connect(self.url, connect_timeout=max(1, round(self.timeout))).close()
            self._pid = os.getpid()
            self._pool = ConnectionPool(
                self.url, min_size=self._min_size, max_size=self._max_size, open=True, timeout=self.timeout,
                kwargs={"autocommit": True}, name=f"playground-{self.component}",
            )
        return self._pool

    def _migrate(self, conn: Any) -> None:
        from .runs_postgres import _LOCK_KEY  # one lock for every component of schema_versions: migrate one at a time

        steps = self.migrations["postgres"]
        latest = max(steps)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT version FROM schema_versions WHERE component = %s",
                               (self.component,)).fetchone()
            current = int(row[0]) if row else 0
            if current > latest:
                raise self._newer(current, latest)
            for n in range(current + 1, latest + 1):
                for sql in steps[n]:
                    conn.execute(sql)
            if current != latest:
                conn.execute(
                    "INSERT INTO schema_versions (component, version) VALUES (%s, %s) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (self.component, latest),
                )

    def _ensure(self) -> ConnectionPool[Any]:
        with self._lock:
            pool = self._open_pool()
            if not self._ready:
                with pool.connection() as conn:
                    self._migrate(conn)
                self._ready = True
        return pool

    def ensure(self, doing: str = "open the database") -> None:
        """Connect and migrate now (the first `connect()` does it otherwise)."""
        with self.connect(doing):
            pass

    @contextmanager
    def connect(self, doing: str, *, write: bool = False) -> Iterator[Session]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            pool = self._ensure()
            with pool.connection() as conn:
                if not write:
                    yield Session(conn, True)
                    return
                with conn.transaction():
                    yield Session(conn, True)
        except StorageError:
            raise
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise self._fail(doing, exc) from None

    def schema_version(self) -> int:
        with self.connect("read the schema version") as db:
            row = db.execute("SELECT version FROM schema_versions WHERE component = ?", (self.component,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the pool (a new one is opened if the database is used again)."""
        with self._lock:
            pool, self._pool, self._ready = self._pool, None, False
        if pool is not None:
            pool.close()


def open_database(where: str | os.PathLike[str] | None, *, component: str, migrations: Mapping[str, Migrations],
                  default_file: str, label: str, keeps: str, setting: str = "PLAYGROUND_DATABASE_URL",
                  **options: Any) -> SqliteDatabase | PostgresDatabase:
    """The database `where` names (see the module docstring); `default_file`: the SQLite file under PLAYGROUND_HOME;
    `setting`: the environment variable errors tell the person to change; `options` go to a PostgresDatabase."""
    from ..errors import ConfigurationError

    if where is None:
        env = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
        where = env if env.startswith(POSTGRES) else None
    if where is None:
        from ..storage import playground_home

        return SqliteDatabase(playground_home() / default_file, component, migrations, label=label, keeps=keeps,
                              setting=setting)
    text = os.fspath(where)
    if text.startswith(POSTGRES):
        return PostgresDatabase(text, component, migrations, label=label, keeps=keeps, setting=setting, **options)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        raise ConfigurationError(
            f"{label}: unsupported URL {text.split('://')[0]}://...; use postgresql://user@host:port/database, "
            "sqlite:///path or a file path",
            field="PLAYGROUND_DATABASE_URL",
        )
    return SqliteDatabase(text, component, migrations, label=label, keeps=keeps, setting=setting)
