"""Background runs on a real queue: `generate_later()` / `embed_later()` put a job on Huey and return a `Job`.

Where jobs wait: `SqliteHuey` in PLAYGROUND_HOME (`jobs-queue.sqlite3`, embedded, no server) by default, Redis when
`PLAYGROUND_QUEUE_URL=redis://host:6379/0` (`PriorityRedisHuey`; `PLAYGROUND_QUEUE_PREFIX` names its keys), or
PostgreSQL (`PostgresHuey` and a `<prefix>_jobs` table) when PLAYGROUND_QUEUE_URL, or else PLAYGROUND_DATABASE_URL, is a
postgresql:// URL. Each
`queue=` is its own Huey queue. What a job is — its agent, messages, options, status, attempts, result and error — is
one record in the job store beside the queue (`jobs.sqlite3`, the `<prefix>_jobs` table, or Redis keys under the
prefix; the SQL ones are one class over store/sql.py, their schema versioned), which is what
`Job.get(job_id)` reads from any process.

A job survives the process that queued it, so what it needs is stored as data:
- the agent, by where it is defined: a module-level name in an importable module or an agent file
  (`agents/support.py:agent`, also an `ActionAgent` class), found automatically; or, for an agent made only of data
  (model string, instructions text, settings, default options — no tools, processors, memory, client or key), its
  settings themselves;
- the messages and the call's options as JSON.
What cannot be stored — an agent defined in a notebook cell or a script's `__main__`, tools or processors that are
not importable, an injected http client, an `api_key=` (keys are read from the worker's environment, never written
to the queue), callbacks (`on_finish=`, `on_chunk=`, `prepare_step=` ...), an abort signal, a callable approval
policy — makes the job run in this process instead (`job.durable is False`, `job.not_durable_because` says why, and a
`JobNotDurableWarning` is issued); `durable=True` raises a ConfigurationError naming the field instead, and
`durable=False` asks for the in-process run without a warning.

Workers: `playground worker` (cli_worker.py), or the in-process consumer that starts in any process that queues a
job (the playground server and the notebook among them) unless `PLAYGROUND_INPROCESS_WORKER=0`. A worker claims a
job in the store before running it (a job is never run by two workers at once) and renews a lease while it runs
(`PLAYGROUND_JOB_LEASE_SECONDS`, default 30); a worker that dies (`kill -9`) stops renewing, and another worker puts
the job back on its queue. A ProviderError that may be retried (`retryable`: 408, 409, 429, 5xx) is retried with
exponential backoff (`PLAYGROUND_JOB_RETRY_DELAY`, default 1 s, doubled each time, `Retry-After` honoured) up to
`max_attempts` (default 3, `PLAYGROUND_JOB_MAX_ATTEMPTS`); other errors fail the job at once. Finished records are
deleted after `PLAYGROUND_JOB_RETENTION_DAYS` (default 7), so the store does not grow without bound.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import sys
import threading
import time
import uuid
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from .errors import ConfigurationError, PlaygroundError

if TYPE_CHECKING:  # sqlite3, socket and concurrent.futures load where used: `import playground` stays light
    from concurrent.futures import Future, ThreadPoolExecutor

    from .agent import Agent, EmbedGeneration
    from .generation import Generation
    from .store.sql import PostgresDatabase, Session, SqliteDatabase

T = TypeVar("T")
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED = ("succeeded", "failed", "cancelled")
TASK_NAME = "playground_job"
LOCAL_JOBS_KEPT = 1000
"""In-process jobs remembered for `Job.get` (oldest forgotten first)."""


class JobError(PlaygroundError):
    """A job failed (its error's type, message and status are kept as data), was cancelled, or is unknown."""

    def __init__(self, message: str, *, job_id: str | None = None, error: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.error = dict(error or {})
        self.type: str = str(self.error.get("type", ""))
        self.status: int | None = self.error.get("status")
        self.retryable: bool = bool(self.error.get("retryable", False))


class JobNotDurableWarning(UserWarning):
    """A job will run in this process only (lost if it exits); the message says what could not be stored."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: expected a number, got {raw!r}", field=name) from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name}: expected a positive number, got {raw!r}", field=name)
    return value


def lease_seconds() -> float:
    return _env_float("PLAYGROUND_JOB_LEASE_SECONDS", 30.0)


def retry_delay() -> float:
    return _env_float("PLAYGROUND_JOB_RETRY_DELAY", 1.0)


def default_max_attempts() -> int:
    return int(_env_float("PLAYGROUND_JOB_MAX_ATTEMPTS", 3))


def retention_seconds() -> float:
    return _env_float("PLAYGROUND_JOB_RETENTION_DAYS", 7.0) * 86400


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


# -- where jobs live ---------------------------------------------------------------------------------------------------


POSTGRES = ("postgresql://", "postgres://")


def queue_location() -> str:
    """`redis://...` or `postgresql://...` from PLAYGROUND_QUEUE_URL; else PostgreSQL when PLAYGROUND_DATABASE_URL is
    a postgresql:// URL (the shared store: job records and queue beside the runs); else `sqlite:<PLAYGROUND_HOME>`."""
    url = (os.environ.get("PLAYGROUND_QUEUE_URL") or "").strip()
    prefix = os.environ.get("PLAYGROUND_QUEUE_PREFIX") or "playground"
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://", *POSTGRES)):
            raise ConfigurationError(
                f"PLAYGROUND_QUEUE_URL: {url.split('@')[-1]!r} is not a Redis or PostgreSQL URL; give "
                "redis://HOST:6379/0 or postgresql://USER@HOST/DB, or unset it for the embedded SQLite queue in "
                "PLAYGROUND_HOME",
                field="PLAYGROUND_QUEUE_URL",
            )
        return f"{url}#{prefix}"
    db = (os.environ.get("PLAYGROUND_DATABASE_URL") or "").strip()
    if db.startswith(POSTGRES):
        return f"{db}#{prefix}"
    from .storage import playground_home

    return f"sqlite:{playground_home()}"


def _check_queue_name(queue: Any) -> str:
    if not isinstance(queue, str) or not queue.strip() or not all(c.isalnum() or c in "-_." for c in queue):
        raise ConfigurationError(
            f"queue: expected a name of letters, digits, '-', '_' or '.', got {queue!r:.40}", field="queue"
        )
    return queue


def _records_migrations(table: str) -> dict[str, dict[int, list[str]]]:
    """The job records' schema per backend (store/sql.py); entry N takes it from version N - 1 to N. Only ever add.
    1: the jobs table, by status and lease, and by age."""
    columns = ("id TEXT PRIMARY KEY, queue TEXT NOT NULL, status TEXT NOT NULL, created_at {t} NOT NULL, "
               "updated_at {t} NOT NULL, lease_until {t}, data TEXT NOT NULL")
    indexes = [f"CREATE INDEX IF NOT EXISTS {table}_status ON {table} (status, lease_until)",
               f"CREATE INDEX IF NOT EXISTS {table}_created ON {table} (created_at)"]
    return {
        "sqlite": {1: [f"CREATE TABLE IF NOT EXISTS {table} ({columns.format(t='REAL')})", *indexes]},
        "postgres": {1: [f"CREATE TABLE IF NOT EXISTS {table} ({columns.format(t='DOUBLE PRECISION')})", *indexes]},
    }


JOB_RECORDS_SCHEMA = max(_records_migrations("jobs")["sqlite"])
"""The job records' schema version: PRAGMA user_version of jobs.sqlite3, or the `<prefix>_jobs` row of PostgreSQL's
`schema_versions` (migrated under an advisory lock, so workers starting together migrate once)."""


class _SqlRecords:
    """Job records in a SQL database (store/sql.py): one class for SQLite and PostgreSQL, only the schema apart.
    A change runs in one write transaction: SQLite's BEGIN IMMEDIATE (one writer at a time), PostgreSQL's
    SELECT ... FOR UPDATE (only that job's row is locked). The tables are made, or migrated, when the store is opened;
    a schema written by a newer playground is a StorageError naming the fix."""

    def __init__(self, db: SqliteDatabase | PostgresDatabase, table: str) -> None:
        self.db = db
        self.table = table
        db.ensure("open the job records")

    def _write(self, conn: Session, rec: dict[str, Any]) -> None:
        conn.execute(
            f"INSERT INTO {self.table} (id, queue, status, created_at, updated_at, lease_until, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
            "updated_at = excluded.updated_at, lease_until = excluded.lease_until, data = excluded.data",
            (rec["id"], rec["queue"], rec["status"], rec["created_at"], time.time(),
             rec.get("lease_until") if rec["status"] == "running" else None, json.dumps(rec)),
        )

    def put(self, rec: dict[str, Any]) -> None:
        with self.db.connect("save a job", write=True) as conn:
            self._write(conn, rec)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.db.connect("read a job") as conn:
            row = conn.execute(f"SELECT data FROM {self.table} WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def update(self, job_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any] | None:
        with self.db.connect("update a job", write=True) as conn:
            row = conn.execute(f"SELECT data FROM {self.table} WHERE id = ?{self.db.for_update}", (job_id,)).fetchone()
            if row is None:
                return None
            new = change(json.loads(row[0]))
            if new is not None:
                self._write(conn, new)
            return new

    def expired_leases(self, now: float) -> list[str]:
        with self.db.connect("list jobs") as conn:
            rows = conn.execute(
                f"SELECT id FROM {self.table} WHERE status = 'running' AND lease_until < ?", (now,)
            ).fetchall()
        return [r[0] for r in rows]

    def recent(self, limit: int) -> list[dict[str, Any]]:
        with self.db.connect("list jobs") as conn:
            rows = conn.execute(
                f"SELECT data FROM {self.table} ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def prune(self, before: float) -> int:
        with self.db.connect("prune jobs", write=True) as conn:
            cur = conn.execute(
                f"DELETE FROM {self.table} WHERE status IN ('succeeded', 'failed', 'cancelled') AND updated_at < ?",
                (before,),
            )
            return int(cur.rowcount)

    def count(self) -> int:
        with self.db.connect("count jobs") as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])


def _SqliteRecords(path: Path) -> _SqlRecords:
    """Job records in one SQLite file (`jobs.sqlite3`, owner-only, WAL, a connection per thread)."""
    from .store.sql import SqliteDatabase

    db = SqliteDatabase(path, "jobs", _records_migrations("jobs"), label="job records", keeps="jobs",
                        setting="PLAYGROUND_QUEUE_URL")
    return _SqlRecords(db, "jobs")


def _PostgresRecords(url: str, prefix: str) -> _SqlRecords:
    """Job records in PostgreSQL (`<prefix>_jobs`, beside the run store when PLAYGROUND_DATABASE_URL names it)."""
    from .store.sql import PostgresDatabase

    table = f"{_sql_name(prefix)}_jobs"
    db = PostgresDatabase(url, table, _records_migrations(table), label="job records", keeps="jobs",
                          setting="PLAYGROUND_QUEUE_URL / PLAYGROUND_DATABASE_URL", max_size=8)
    return _SqlRecords(db, table)


class _RedisRecords:
    """Job records as JSON strings under `<prefix>:job:<id>`; changes are WATCH/MULTI transactions."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)
        self.prefix = prefix
        self.index = f"{prefix}:jobs"
        self.leases = f"{prefix}:leases"

    def _key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def _write(self, pipe: Any, rec: dict[str, Any]) -> None:
        key = self._key(rec["id"])
        pipe.set(key, json.dumps(rec))
        pipe.zadd(self.index, {rec["id"]: rec["created_at"]})
        if rec["status"] == "running":
            pipe.zadd(self.leases, {rec["id"]: rec.get("lease_until") or 0})
        else:
            pipe.zrem(self.leases, rec["id"])
        if rec["status"] in FINISHED:
            pipe.expire(key, int(retention_seconds()) + 1)

    def put(self, rec: dict[str, Any]) -> None:
        pipe = self.client.pipeline()
        self._write(pipe, rec)
        pipe.execute()

    def get(self, job_id: str) -> dict[str, Any] | None:
        raw = self.client.get(self._key(job_id))
        return None if raw is None else json.loads(raw)

    def update(self, job_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any] | None:
        import redis

        key = self._key(job_id)
        while True:
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    new = change(json.loads(raw))
                    if new is None:
                        return None
                    pipe.multi()
                    self._write(pipe, new)
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def expired_leases(self, now: float) -> list[str]:
        return [i.decode() for i in self.client.zrangebyscore(self.leases, "-inf", now)]

    def recent(self, limit: int) -> list[dict[str, Any]]:
        ids = [i.decode() for i in self.client.zrevrange(self.index, 0, max(limit - 1, 0))]
        raws = self.client.mget([self._key(i) for i in ids]) if ids else []
        return [json.loads(r) for r in raws if r is not None]

    def prune(self, before: float) -> int:
        """Drop index entries whose record has expired (records expire by themselves after the retention)."""
        old = [i.decode() for i in self.client.zrangebyscore(self.index, "-inf", before)]
        gone = [i for i, exists in zip(old, self._exists(old), strict=True) if not exists]
        if gone:
            self.client.zrem(self.index, *gone)
        return len(gone)

    def _exists(self, ids: list[str]) -> list[bool]:
        pipe = self.client.pipeline()
        for i in ids:
            pipe.exists(self._key(i))
        return [bool(x) for x in pipe.execute()]

    def count(self) -> int:
        return int(self.client.zcard(self.index))


def _sql_name(prefix: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in prefix).lower()


Records = _SqlRecords | _RedisRecords


class Backend:
    """The queues (one Huey per queue name) and the job store of one location."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._hueys: dict[str, Any] = {}
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._created = 0
        self._redis_url = self._pg_url = ""
        if location.startswith("sqlite:"):
            home = Path(location.removeprefix("sqlite:"))
            self.records: Records = _SqliteRecords(home / "jobs.sqlite3")
            self._queue_file = home / "jobs-queue.sqlite3"
            self.prefix = "playground"
        else:
            url, _, prefix = location.rpartition("#")
            self.prefix = prefix or "playground"
            if url.startswith(POSTGRES):
                self._pg_url = url
                self.records = _PostgresRecords(url, self.prefix)
            else:
                self._redis_url = url
                self.records = _RedisRecords(url, self.prefix)

    @property
    def kind(self) -> str:
        return "redis" if self._redis_url else "postgres" if self._pg_url else "sqlite"

    def huey(self, queue: str) -> Any:
        with self._lock:
            h = self._hueys.get(queue)
            if h is None:
                h = self._make_huey(queue)
                self._hueys[queue] = h
            return h

    def _make_huey(self, queue: str) -> Any:
        import logging

        from huey import PostgresHuey, PriorityRedisHuey, SqliteHuey

        logging.getLogger("huey").setLevel(logging.CRITICAL)  # our records say what happened to each job
        if self._redis_url:
            h: Any = PriorityRedisHuey(name=f"{self.prefix}.{queue}", url=self._redis_url, results=False, utc=True)
        elif self._pg_url:
            h = PostgresHuey(name=f"{self.prefix}.{queue}", dsn=self._pg_url, blocking=False, results=False,
                             utc=True, table_prefix=f"{_sql_name(self.prefix)}_huey")
        else:
            from .store.sql import owner_only_file

            owner_only_file(self._queue_file)  # jobs hold conversations and answers
            h = SqliteHuey(name=f"playground.{queue}", filename=str(self._queue_file), results=False, utc=True)
        backend = self

        def playground_job(job_id: str) -> bool:
            return _execute(backend, queue, job_id)

        self._tasks[queue] = h.task(name=TASK_NAME)(playground_job)
        return h

    def push(self, queue: str, job_id: str, priority: int, run_at: float | None) -> None:
        """Put a pointer to the job on its Huey queue (the record holds everything else)."""
        h = self.huey(queue)
        eta = None
        if run_at is not None and run_at > time.time():
            eta = datetime.fromtimestamp(run_at, UTC)  # Huey turns an aware time into its naive UTC
        h.enqueue(self._tasks[queue].s(job_id, priority=priority or None, eta=eta))

    def maybe_prune(self) -> None:
        self._created += 1
        if self._created % 200 == 1:
            self.records.prune(time.time() - retention_seconds())


_backends: dict[str, Backend] = {}
_backends_lock = threading.Lock()


def backend(location: str | None = None) -> Backend:
    loc = location or queue_location()
    with _backends_lock:
        b = _backends.get(loc)
        if b is None:
            b = Backend(loc)
            _backends[loc] = b
        return b


# -- what a job needs, as data ---------------------------------------------------------------------------------------

_refs: weakref.WeakKeyDictionary[Any, dict[str, Any] | str] = weakref.WeakKeyDictionary()


def _skip_module(name: str, file: str) -> bool:
    return name == "__main__" or "site-packages" in file or file.startswith(sys.prefix + os.sep + "lib")


def agent_reference(agent: Agent) -> tuple[dict[str, Any] | None, str]:
    """Where a worker finds this agent: ({"file", "module", "attr"} | {"spec": ...}, "") or (None, why not)."""
    cached = _refs.get(agent)
    if isinstance(cached, dict):
        return cached, ""
    if cached == f"absent:{len(sys.modules)}":
        return _by_settings(agent)  # not in any module loaded so far (a module imported since is looked at again)
    from .actions import ActionAgent

    for name, mod in list(sys.modules.items()):
        file = getattr(mod, "__file__", None)
        if mod is None or not isinstance(file, str) or not file.endswith(".py") or _skip_module(name, file):
            continue
        for attr, value in list(getattr(mod, "__dict__", {}).items()):
            found = value is agent or (
                isinstance(value, type) and issubclass(value, ActionAgent) and value is not ActionAgent
                and ActionAgent._agents.get(value) is agent
            )
            if found and not attr.startswith("_"):
                ref = {"file": str(Path(file).resolve()), "module": name, "attr": attr}
                _refs[agent] = ref
                return ref, ""
    _refs[agent] = f"absent:{len(sys.modules)}"
    return _by_settings(agent)


def _by_settings(agent: Agent) -> tuple[dict[str, Any] | None, str]:
    spec, why = _agent_spec(agent)
    if spec is not None:
        return {"spec": spec}, ""
    return None, why


def _agent_spec(agent: Agent) -> tuple[dict[str, Any] | None, str]:
    """An agent made only of data, as its settings; else why it is not."""
    where = (f"agent {agent.name!r} is not defined at module level in an importable file (a notebook cell or a "
             "script's __main__ cannot be imported by a worker)")
    if agent.tools or agent.toolsets:
        return None, f"{where}, and it has tools"
    if agent.input_processors or agent.output_processors:
        return None, f"{where}, and it has processors"
    if agent.memory is not None:
        return None, f"{where}, and it has memory"
    if agent._http_client is not None or agent._async_http_client is not None:
        return None, f"{where}, and it uses an injected http client"
    if agent._api_key is not None:
        return None, f"{where}, and it was given api_key= (keys are never written to a queue)"
    if agent._headers:
        return None, f"{where}, and it has headers= (they may hold secrets)"
    if not isinstance(agent.model, str):
        return None, f"{where}, and its model is a provider object"
    if not (isinstance(agent.instructions, str) or (
            isinstance(agent.instructions, list) and all(isinstance(i, str) for i in agent.instructions))):
        return None, f"{where}, and its instructions are a callable"
    from .storage import SqliteRunStore, playground_home

    store = agent._storage
    env_url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
    if store is not None and env_url and getattr(store, "url", None) == env_url:
        store = None  # the default PostgreSQL store: the worker opens the same one from its environment
    elif isinstance(store, SqliteRunStore) and Path(store.path) == playground_home() / "runs.sqlite3" and not env_url:
        store = None  # the default SQLite store: the worker's own default
    if store is not None and not isinstance(store, SqliteRunStore):
        return None, f"{where}, and its storage= is a {type(store).__name__}"
    if agent.prices:
        return None, f"{where}, and it has price overrides"
    if getattr(agent, "recorder", None) is not None:
        return None, f"{where}, and it records its traffic (record=)"
    spec: dict[str, Any] = {
        "name": agent.name, "description": agent.description, "instructions": agent.instructions,
        "model": agent.model, "base_url": agent._base_url, "timeout": agent._timeout,
        "always_approve": sorted(agent.always_approve), "max_processor_retries": agent.max_processor_retries,
        "model_settings": agent.model_settings.set_fields() if agent.model_settings is not None else None,
        "default_options": agent.default_options,
    }
    if store is not None:
        spec["storage"] = str(getattr(store, "path", ""))
    try:
        json.dumps(spec)
    except (TypeError, ValueError):
        return None, f"{where}, and its default_options hold values that are not JSON"
    return spec, ""


def storable_options(agent: Agent, options: Any) -> tuple[dict[str, Any] | None, str]:
    """The call's options as JSON (those that differ from the agent's defaults), or (None, the field that cannot)."""
    from .output import parse_structured_output
    from .settings import CallOptions

    defaults = CallOptions.parse(agent.default_options)
    out: dict[str, Any] = {}
    for name, field in CallOptions.model_fields.items():
        value = getattr(options, name)
        if value is None or value == field.default or value == getattr(defaults, name):
            continue
        if name == "model_settings":
            value = value.set_fields()
        elif name == "tool_choice":
            value = value if isinstance(value, str) else value.model_dump()
        elif name == "structured_output":
            parsed = parse_structured_output(value)
            value = parsed.to_stored() if parsed is not None else None
        elif name == "memory":
            from .memory import storable_memory_option

            value = storable_memory_option(value)
        elif callable(value) or name == "abort_signal":
            return None, f"the call's {name}= ({type(value).__name__}) cannot be stored for another process"
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return None, f"the call's {name}= ({type(value).__name__}) is not JSON and cannot be stored"
        out[name] = value
    return out, ""


def _load_agent(ref: dict[str, Any]) -> Agent:
    agent = _load_defined_agent(ref)
    if ref.get("model") is None and ref.get("base_url") is None:
        return agent
    # the playground's Send later on another model of the agent: a copy of the agent on that model (its key comes
    # from the worker's environment, as for any model string)
    import copy

    other = copy.copy(agent)
    other._providers = {}
    other._lock = threading.Lock()
    other._live = {}
    other.use_model(ref.get("model") or agent.model, base_url=ref.get("base_url"))
    return other


def _load_defined_agent(ref: dict[str, Any]) -> Agent:
    from .actions import ActionAgent
    from .agent import Agent

    if "spec" in ref:
        spec = dict(ref["spec"])
        store_path = spec.pop("storage", None)
        storage = None
        if store_path:
            from .storage import SqliteRunStore

            storage = SqliteRunStore(store_path)
        return Agent(**spec, storage=storage)
    module_name, file, attr = str(ref.get("module", "")), str(ref["file"]), str(ref["attr"])
    module: Any = None
    if module_name and not module_name.startswith("playground_"):
        try:
            module = importlib.import_module(module_name)
            if Path(str(getattr(module, "__file__", ""))).resolve() != Path(file):
                module = None  # another module of that name: load the file itself
        except Exception:
            module = None
    if module is None:
        key = f"playground_job_agent_{abs(hash(file)):x}"
        module = sys.modules.get(key)
        if module is None:
            spec_ = importlib.util.spec_from_file_location(key, file)
            if spec_ is None or spec_.loader is None:
                raise JobError(f"cannot import the agent file {file}")
            module = importlib.util.module_from_spec(spec_)
            sys.modules[key] = module
            try:
                spec_.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(key, None)
                raise
    value = getattr(module, attr, None)
    if isinstance(value, type) and issubclass(value, ActionAgent):
        value = value.as_agent()
    if not isinstance(value, Agent):
        raise JobError(f"{file} defines no Agent named {attr!r} any more")
    return value


_agents_cache: dict[str, Agent] = {}
_agents_lock = threading.Lock()


def _agent_for(ref: dict[str, Any]) -> Agent:
    key = json.dumps(ref, sort_keys=True)
    with _agents_lock:
        agent = _agents_cache.get(key)
        if agent is None:
            agent = _load_agent(ref)
            _agents_cache[key] = agent
        return agent


def generation_payload(
    gen: Generation, model: str | None = None, base_url: str | None = None
) -> tuple[dict[str, Any] | None, str]:
    if gen._state is not None:
        return None, "the generation continues a stored run"
    ref, why = agent_reference(gen.agent)
    if ref is None:
        return None, why
    if model is not None or base_url is not None:
        ref = {**ref, "model": model, "base_url": base_url} if "file" in ref else {
            "spec": {**ref["spec"], "model": model or ref["spec"]["model"], "base_url": base_url}}
    options, why = storable_options(gen.agent, gen.options)
    if options is None:
        return None, why
    messages = [m.model_dump(mode="json", exclude_none=True) for m in gen._input]
    return {"kind": "generate", "agent": ref, "messages": messages, "options": options}, ""


def embed_payload(emb: EmbedGeneration) -> tuple[dict[str, Any] | None, str]:
    ref, why = agent_reference(emb.agent)
    if ref is None:
        return None, why
    options = {**emb.options, **emb._observe}
    try:
        json.dumps(options)
    except (TypeError, ValueError):
        return None, "the embedding's options are not JSON"
    return {"kind": "embed", "agent": ref, "inputs": list(emb.inputs), "model": emb.model, "options": options}, ""


def _run_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Run a stored job; returns the result as JSON data."""
    agent = _agent_for(payload["agent"])
    if payload["kind"] == "embed":
        emb = agent.embed(payload["inputs"], model=payload.get("model"), **payload.get("options", {}))
        return emb.embed_now().model_dump(mode="json")
    from .generation import Generation
    from .messages import Message

    messages = [Message.model_validate(m) for m in payload["messages"]]
    gen = Generation(agent, messages, agent._options(payload.get("options", {})))
    return gen.generate_now().model_dump(mode="json")


def _error_data(exc: BaseException) -> dict[str, Any]:
    from .errors import ProviderError

    data: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:4000]}
    if isinstance(exc, ProviderError):
        data.update(status=exc.status, retryable=exc.retryable, retry_after=exc.retry_after)
    return data


# -- running jobs ------------------------------------------------------------------------------------------------------

_worker_local = threading.local()


def _execute(b: Backend, queue: str, job_id: str) -> bool:
    """Run one job, called by Huey in a worker thread; False when the message was stale (nothing run)."""
    import socket

    from huey.exceptions import RetryTask

    from .errors import ProviderError

    me: str = getattr(_worker_local, "worker_id", None) or f"{socket.gethostname()}:{os.getpid()}"
    lease = lease_seconds()

    def claim(rec: dict[str, Any]) -> dict[str, Any] | None:
        if rec["status"] != "queued":
            return None  # cancelled, finished, or running in another worker: this message is stale
        now = time.time()
        rec.update(status="running", worker=me, attempts=rec.get("attempts", 0) + 1, lease_until=now + lease)
        rec["started_at"] = rec.get("started_at") or now
        rec["attempt_started_at"] = now
        return rec

    rec = b.records.update(job_id, claim)
    if rec is None:
        return False
    _worker_local.claimed = True
    attempt = rec["attempts"]
    inflight: dict[str, float] | None = getattr(_worker_local, "inflight", None)
    if inflight is not None:
        inflight[job_id] = attempt
    try:
        result = _run_payload(rec["payload"])
        error: BaseException | None = None
    except Exception as exc:
        result, error = None, exc
    finally:
        if inflight is not None:
            inflight.pop(job_id, None)

    def mine(r: dict[str, Any]) -> bool:
        return r["status"] == "running" and r.get("worker") == me and r.get("attempts") == attempt

    if error is None:
        def done(r: dict[str, Any]) -> dict[str, Any] | None:
            if not mine(r):
                return None
            r.update(status="succeeded", result=result, error=None, finished_at=time.time(), lease_until=None)
            return r

        b.records.update(job_id, done)
        return True
    data = _error_data(error)
    again = isinstance(error, ProviderError) and error.retryable and attempt < rec.get("max_attempts", 1)
    if again:
        delay = retry_delay() * 2 ** (attempt - 1)
        after = data.get("retry_after")
        if isinstance(after, int | float) and after > delay:
            delay = float(after)
        delay = min(delay, 300.0)

        def retrying(r: dict[str, Any]) -> dict[str, Any] | None:
            if not mine(r):
                return None
            r.update(status="queued", error=data, lease_until=None, run_at=time.time() + delay)
            r.setdefault("errors", []).append(data)
            return r

        if b.records.update(job_id, retrying) is not None:
            retries = getattr(_worker_local, "retrying", None)
            if retries is not None:
                retries.add(job_id)
            raise RetryTask(delay=delay)
        return True

    def failed(r: dict[str, Any]) -> dict[str, Any] | None:
        if not mine(r):
            return None
        r.update(status="failed", error=data, finished_at=time.time(), lease_until=None)
        r.setdefault("errors", []).append(data)
        return r

    b.records.update(job_id, failed)
    return True


class Worker:
    """Runs the jobs of some queues: `concurrency` threads, each taking the next job (highest priority first).

    `burst=True`: run what is queued (and the retries of what it ran), then stop. Also moves jobs whose wait is over
    onto their queue, renews the leases of the jobs it runs, and puts back on the queue the jobs of workers that died.
    """

    def __init__(
        self, queues: list[str] | None = None, *, concurrency: int = 1, burst: bool = False,
        location: str | None = None, poll: float = 0.1, idle_exit: float | None = None,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(f"concurrency: expected a whole number >= 1, got {concurrency!r}",
                                     field="concurrency")
        self.queues = [_check_queue_name(q) for q in (queues or ["default"])]
        self.concurrency = concurrency
        self.burst = burst
        self.backend = backend(location)
        self.poll = poll
        self.idle_exit = idle_exit
        import socket

        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.processed = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inflight: dict[str, float] = {}
        self._retrying: set[str] = set()
        self._busy = 0
        self._lock = threading.Lock()
        self._release_lock = threading.Lock()
        self._last_work = time.monotonic()

    def add_queue(self, queue: str) -> None:
        with self._lock:
            if queue not in self.queues:
                self.queues = [*self.queues, queue]

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> Worker:
        self._stop.clear()
        with contextlib.suppress(Exception):  # finished jobs past the retention go first, here: a burst worker can
            self.backend.records.prune(time.time() - retention_seconds())  # end before its housekeeping thread runs
        self._threads = [threading.Thread(target=self._loop, name=f"playground-worker-{i}", daemon=True)
                         for i in range(self.concurrency)]
        self._threads.append(threading.Thread(target=self._housekeeping, name="playground-worker-house", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)

    def run(self) -> int:
        """Run in the foreground until stopped (Ctrl-C), or until drained with burst=True; returns jobs run."""
        self.start()
        try:
            while self.running:
                time.sleep(0.1)
        except KeyboardInterrupt:
            self.stop(timeout=5)
        return self.processed

    def _next(self) -> tuple[Any, Any] | None:
        for q in self.queues:
            h = self.backend.huey(q)
            task = h.dequeue()
            if task is not None:
                return h, task
        return None

    def _loop(self) -> None:
        _worker_local.worker_id = self.id
        _worker_local.inflight = self._inflight
        _worker_local.retrying = self._retrying
        while not self._stop.is_set():
            with self._lock:
                self._busy += 1
            try:
                got = self._next()
                if got is not None:
                    h, task = got
                    self._retrying.discard(task.args[0] if task.args else "")
                    _worker_local.claimed = False
                    h.execute(task)
                    self._last_work = time.monotonic()
                    if _worker_local.claimed:  # a job ran (a stale message, or one whose wait is not over, did not)
                        with self._lock:
                            self.processed += 1
            except Exception:  # a broken queue connection: wait and try again
                time.sleep(1.0)
                continue
            finally:
                with self._lock:
                    self._busy -= 1
            if got is None:
                if self.burst and self._drained():
                    self._stop.set()
                    return
                if self.idle_exit is not None and time.monotonic() - self._last_work > self.idle_exit and \
                        self._drained(scheduled_too=True):
                    self._stop.set()
                    return
                self._stop.wait(self.poll)

    def _release_due(self) -> None:
        """Jobs whose wait (or retry backoff) is over go back onto their queue."""
        with self._release_lock:
            now = datetime.now(UTC).replace(tzinfo=None)
            for q in list(self.queues):
                h = self.backend.huey(q)
                for task in h.read_schedule(now):
                    h.enqueue(task)

    def _drained(self, scheduled_too: bool = False) -> bool:
        self._recover(time.time())  # jobs of dead workers count as queued
        self._release_due()
        with self._lock:
            if self._busy or self._inflight or self._retrying:
                return False
        for q in self.queues:
            h = self.backend.huey(q)
            if h.pending_count():
                return False
            if scheduled_too and h.scheduled_count():
                return False
        return True

    def _housekeeping(self) -> None:
        lease = lease_seconds()
        last_beat, last_prune = 0.0, time.time()  # pruned by start()
        while not self._stop.is_set():
            now = time.time()
            try:
                self._release_due()
                if now - last_beat >= lease / 3:
                    last_beat = now
                    self._renew(now + lease)
                self._recover(now)
                if now - last_prune > 600:
                    last_prune = now
                    self.backend.records.prune(now - retention_seconds())
            except Exception:
                pass
            self._stop.wait(min(0.2, lease / 6))

    def _renew(self, until: float) -> None:
        for job_id, attempt in list(self._inflight.items()):
            def renew(r: dict[str, Any], attempt: float = attempt) -> dict[str, Any] | None:
                if r["status"] != "running" or r.get("worker") != self.id or r.get("attempts") != attempt:
                    return None
                r["lease_until"] = until
                return r

            self.backend.records.update(job_id, renew)

    def _recover(self, now: float) -> None:
        """Jobs whose worker stopped renewing (killed, crashed, machine gone): back on their queue, or failed."""
        with self._release_lock:
            self._recover_locked(now)

    def _recover_locked(self, now: float) -> None:
        for job_id in self.backend.records.expired_leases(now):
            def back(r: dict[str, Any]) -> dict[str, Any] | None:
                if r["status"] != "running" or (r.get("lease_until") or 0) >= now:
                    return None
                died = {"type": "WorkerLost", "message": f"worker {r.get('worker')} stopped while running the job "
                        f"(attempt {r.get('attempts')}): killed, crashed or its machine went away"}
                r.setdefault("errors", []).append(died)
                r["recovered"] = r.get("recovered", 0) + 1
                r["lease_until"] = None
                if r.get("attempts", 0) >= r.get("max_attempts", 1):
                    r.update(status="failed", error=died, finished_at=now)
                else:
                    r.update(status="queued", run_at=now)
                return r

            rec = self.backend.records.update(job_id, back)
            if rec is not None and rec["status"] == "queued":
                self.backend.push(rec["queue"], job_id, rec.get("priority", 0), None)


# -- the in-process consumer -----------------------------------------------------------------------------------------

_inprocess: dict[str, Worker] = {}
_inprocess_lock = threading.Lock()


def inprocess_worker_enabled() -> bool:
    return (os.environ.get("PLAYGROUND_INPROCESS_WORKER") or "1").strip().lower() not in ("0", "false", "no", "off")


def start_inprocess_worker(queue: str = "default", *, location: str | None = None,
                           keep: bool = False) -> Worker | None:
    """Start (or reuse) this process's consumer of `queue`, unless PLAYGROUND_INPROCESS_WORKER=0.

    The playground server and notebook start one with keep=True; a process that queues a job starts one that stops
    after a minute with nothing to do (and starts again with the next job)."""
    if not inprocess_worker_enabled():
        return None
    loc = location or queue_location()
    with _inprocess_lock:
        w = _inprocess.get(loc)
        if w is not None and w.running:
            w.add_queue(queue)
            if keep:
                w.idle_exit = None
            return w
        w = Worker([queue] if w is None else [*w.queues, queue] if queue not in w.queues else w.queues,
                   concurrency=2, location=loc, idle_exit=None if keep else 60.0)
        _inprocess[loc] = w
        return w.start()


# -- the handle --------------------------------------------------------------------------------------------------------


def _result_from(kind: str, data: dict[str, Any]) -> Any:
    from .result import EmbeddingResult, GenerationResult

    if kind == "embed":
        return EmbeddingResult.model_validate(data)
    return GenerationResult.model_validate(data)


class Job(Generic[T]):
    """A run queued in the background: `status`, `result()`, `wait()`, `done`, `error()`, `cancel()`.

    `Job.get(job_id)` finds a job from any process that reaches the same queue location."""

    durable = True
    not_durable_because = ""

    def __init__(self, job_id: str, record: dict[str, Any] | None = None, *, location: str | None = None) -> None:
        self.id = job_id
        self._backend = backend(location)
        self._rec = record if record is not None else self._read()

    def _read(self) -> dict[str, Any]:
        rec = self._backend.records.get(self.id)
        if rec is None:
            raise JobError(f"no job {self.id!r} (it never existed here, or finished more than the retention ago)",
                           job_id=self.id)
        return rec

    def refresh(self) -> dict[str, Any]:
        if self._rec.get("status") not in FINISHED:
            self._rec = self._read()
        return self._rec

    @classmethod
    def get(cls, job_id: str) -> Job[Any]:
        """The job with this id, queued by this or any other process (JobError when there is none)."""
        local = _local_jobs.get(job_id)
        if local is not None:
            return local
        return Job(job_id)

    @classmethod
    def list(cls, limit: int = 50) -> list[Job[Any]]:
        """The most recent jobs of this location, newest first (in-process jobs included)."""
        out: list[Job[Any]] = [Job(r["id"], r) for r in backend().records.recent(limit)]
        out.extend(reversed(list(_local_jobs.values())))
        out.sort(key=lambda j: j.enqueued_at, reverse=True)
        return out[:limit]

    # -- fields
    @property
    def queue(self) -> str:
        return str(self._rec["queue"])

    @property
    def priority(self) -> int:
        return int(self._rec.get("priority", 0))

    @property
    def kind(self) -> str:
        return str(self._rec.get("kind", "generate"))

    @property
    def status(self) -> Status:
        return self.refresh()["status"]

    @property
    def enqueued_at(self) -> datetime:
        return datetime.fromtimestamp(self._rec["created_at"], UTC)

    @property
    def run_at(self) -> datetime | None:
        return _dt(self.refresh().get("run_at"))

    @property
    def started_at(self) -> datetime | None:
        return _dt(self.refresh().get("started_at"))

    @property
    def finished_at(self) -> datetime | None:
        return _dt(self.refresh().get("finished_at"))

    @property
    def attempts(self) -> int:
        return int(self.refresh().get("attempts", 0))

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every failed attempt's error (type, message, status), oldest first; a retried job keeps them here."""
        return list(self.refresh().get("errors", []))

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def info(self) -> dict[str, Any]:
        """The job as JSON data (no payload): what the Jobs panel and `playground jobs` show."""
        r = self.refresh()
        return {
            "id": self.id, "kind": self.kind, "queue": self.queue, "priority": self.priority, "status": r["status"],
            "durable": self.durable, "agent": r.get("agent_name", ""), "summary": r.get("summary", ""),
            "attempts": r.get("attempts", 0), "max_attempts": r.get("max_attempts", 1),
            "recovered": r.get("recovered", 0), "worker": r.get("worker"),
            "enqueued_at": _iso(r.get("created_at")), "run_at": _iso(r.get("run_at")),
            "started_at": _iso(r.get("started_at")), "finished_at": _iso(r.get("finished_at")),
            "error": r.get("error") if r["status"] == "failed" else None,
        }

    # -- waiting
    def wait(self, timeout: float | None = None) -> Job[T]:
        """Wait until the job has finished (TimeoutError after `timeout` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.01
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {self.id} is still {self._rec['status']} after {timeout} s")
            time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 1.5, 0.25)
        return self

    def result(self, timeout: float | None = None) -> T:
        """Wait for the job and return its result (a JobError carries the job's error)."""
        self.wait(timeout)
        r = self._rec
        if r["status"] == "succeeded":
            return _result_from(self.kind, r["result"])
        raise self._failure()

    def _failure(self) -> JobError:
        r = self._rec
        if r["status"] == "cancelled":
            return JobError(f"job {self.id} was cancelled", job_id=self.id)
        err = r.get("error") or {}
        tries = r.get("attempts", 0)
        return JobError(
            f"job {self.id} failed after {tries} attempt{'s' if tries != 1 else ''}: "
            f"{err.get('type', 'Error')}: {err.get('message', '')}", job_id=self.id, error=err,
        )

    def error(self) -> BaseException | None:
        """The job's error once it has failed (a JobError with the original type, message and status), else None."""
        return self._failure() if self.status in ("failed", "cancelled") else None

    def cancel(self) -> bool:
        """Cancel a job that has not started; False when it is running or finished."""
        def cancel(r: dict[str, Any]) -> dict[str, Any] | None:
            if r["status"] != "queued":
                return None
            r.update(status="cancelled", finished_at=time.time())
            return r

        rec = self._backend.records.update(self.id, cancel)
        if rec is not None:
            self._rec = rec
        return rec is not None

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, queue={self.queue!r}, status={self.status!r})"


class LocalJob(Job[T]):
    """A job that runs in this process only (it could not be stored; see `not_durable_because`)."""

    durable = False

    def __init__(self, fn: Callable[[], T], *, queue: str = "default", priority: int = 0, kind: str = "generate",
                 reason: str = "", delay: float = 0.0) -> None:
        self.id = f"job_{uuid.uuid4().hex[:16]}"
        self.not_durable_because = reason
        now = time.time()
        self._rec = {"id": self.id, "queue": queue, "priority": priority, "kind": kind, "status": "queued",
                     "created_at": now, "run_at": now + delay, "attempts": 0, "max_attempts": 1}
        self._fn = fn
        self._delay = delay
        self._future: Future[T] = _local_pool(queue).submit(self._run)
        _local_jobs[self.id] = self
        while len(_local_jobs) > LOCAL_JOBS_KEPT:
            _local_jobs.popitem(last=False)

    def _run(self) -> T:
        if self._delay > 0:
            time.sleep(self._delay)
        self._rec.update(started_at=time.time(), status="running", attempts=1)
        try:
            return self._fn()
        finally:
            self._rec["finished_at"] = time.time()

    def refresh(self) -> dict[str, Any]:
        f = self._future
        if f.cancelled():
            self._rec["status"] = "cancelled"
        elif f.done():
            self._rec["status"] = "failed" if f.exception() is not None else "succeeded"
        return self._rec

    def wait(self, timeout: float | None = None) -> LocalJob[T]:
        self._future.exception(timeout)
        return self

    def result(self, timeout: float | None = None) -> T:
        return self._future.result(timeout)

    def error(self) -> BaseException | None:
        return self._future.exception() if self._future.done() and not self._future.cancelled() else None

    def cancel(self) -> bool:
        return self._future.cancel()


_local_jobs: OrderedDict[str, LocalJob[Any]] = OrderedDict()
_local_pools: dict[str, ThreadPoolExecutor] = {}
_local_lock = threading.Lock()


def _local_pool(name: str) -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor

    with _local_lock:
        pool = _local_pools.get(name)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"playground-{name}")
            _local_pools[name] = pool
        return pool


def get_job(job_id: str) -> Job[Any] | None:
    """The job with this id, or None."""
    try:
        return Job.get(job_id)
    except JobError:
        return None


# -- queueing ----------------------------------------------------------------------------------------------------------


def _run_at(wait: float | timedelta | None, wait_until: datetime | None) -> float | None:
    if wait is not None and wait_until is not None:
        raise ConfigurationError("wait / wait_until: give one of them, not both", field="wait")
    if wait is not None:
        if isinstance(wait, timedelta):
            seconds = wait.total_seconds()
        elif isinstance(wait, int | float) and not isinstance(wait, bool):
            seconds = float(wait)
        else:
            raise ConfigurationError(f"wait: expected seconds or a timedelta, got {wait!r:.40}", field="wait")
        if not math.isfinite(seconds) or seconds < 0:
            raise ConfigurationError(f"wait: expected a delay of 0 seconds or more, got {wait!r:.40}", field="wait")
        return time.time() + seconds
    if wait_until is not None:
        if not isinstance(wait_until, datetime):
            raise ConfigurationError(f"wait_until: expected a datetime, got {wait_until!r:.40}", field="wait_until")
        if wait_until.tzinfo is None:
            wait_until = wait_until.astimezone()  # a naive time is the machine's local time
        return wait_until.timestamp()
    return None


def enqueue(
    payload: dict[str, Any] | None, run_here: Callable[[], T], *, why_not: str, queue: str = "default",
    wait: float | timedelta | None = None, wait_until: datetime | None = None, priority: int = 0,
    durable: bool | None = None, max_attempts: int | None = None, agent_name: str = "", summary: str = "",
) -> Job[T]:
    """Queue a job: durably on Huey when `payload` is set, else (see the module doc) in this process."""
    _check_queue_name(queue)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ConfigurationError(f"priority: expected a whole number (higher runs first), got {priority!r:.40}",
                                 field="priority")
    if durable not in (None, True, False):
        raise ConfigurationError(f"durable: expected True, False or None, got {durable!r:.40}", field="durable")
    attempts = default_max_attempts() if max_attempts is None else max_attempts
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise ConfigurationError(f"max_attempts: expected a whole number >= 1, got {max_attempts!r:.40}",
                                 field="max_attempts")
    run_at = _run_at(wait, wait_until)
    kind = "embed" if payload is not None and payload.get("kind") == "embed" else "generate"
    if payload is None or durable is False:
        if durable is True:
            raise ConfigurationError(
                f"durable=True: this job cannot be stored for another process: {why_not}. Define the agent in an "
                "agent file or module (e.g. agents/support.py: agent = Agent(...)), pass plain-data options, or "
                "pass durable=False to run it in this process",
                field="durable",
            )
        reason = why_not or "durable=False"
        if durable is None:
            warnings.warn(
                f"generate_later: this job runs in this process only and is lost if it exits: {why_not}. Define the "
                "agent in an agent file or module to queue it for any worker, or pass durable=False to say that "
                "in-process is meant", JobNotDurableWarning, stacklevel=3,
            )
        delay = max(0.0, run_at - time.time()) if run_at is not None else 0.0
        job = LocalJob(run_here, queue=queue, priority=priority, kind=kind, reason=reason, delay=delay)
        job._rec.update(agent_name=agent_name, summary=summary[:200])
        return job
    b = backend()
    now = time.time()
    job_id = f"job_{uuid.uuid4().hex[:16]}"
    if kind == "generate":
        # one run id for every attempt: a retry after a worker died once the run was stored (suspended for approval)
        # is refused by the run store instead of asking for approval, and running the tool, a second time
        payload["options"].setdefault("run_id", f"run_{job_id}")
    rec: dict[str, Any] = {
        "id": job_id, "kind": kind, "queue": queue, "priority": priority, "status": "queued",
        "created_at": now, "run_at": run_at or now, "attempts": 0, "max_attempts": attempts,
        "agent_name": agent_name, "summary": summary[:200], "payload": payload, "errors": [],
    }
    b.records.put(rec)
    b.push(queue, rec["id"], priority, run_at)
    b.maybe_prune()
    start_inprocess_worker(queue, location=b.location)
    return Job(rec["id"], rec, location=b.location)


def generate_later(gen: Generation, *, model: str | None = None, base_url: str | None = None,
                   **kwargs: Any) -> Job[Any]:
    """Queue a Generation (what `Generation.generate_later` calls). `model=` / `base_url=` run the agent on another
    model string (the playground's model menu); its key comes from the worker's environment."""
    payload, why = generation_payload(gen, model, base_url) if kwargs.get("durable") is not False else (None, "")
    last = gen._input[-1].text if gen._input else ""
    return enqueue(payload, gen.generate_now, why_not=why, agent_name=gen.agent.name, summary=last, **kwargs)


def embed_later(emb: EmbedGeneration, **kwargs: Any) -> Job[Any]:
    payload, why = embed_payload(emb) if kwargs.get("durable") is not False else (None, "")
    summary = f"embed {len(emb.inputs)} text{'s' if len(emb.inputs) != 1 else ''}"
    return enqueue(payload, emb.embed_now, why_not=why, agent_name=emb.agent.name, summary=summary, **kwargs)
