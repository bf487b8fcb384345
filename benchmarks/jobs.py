"""Job queue throughput: enqueue latency, and jobs per second with 1 and 2 worker processes, for SqliteHuey (the
embedded default), RedisHuey (PLAYGROUND_QUEUE_URL; skipped when Redis at 127.0.0.1:6379 is not reachable) and
PostgresHuey (PLAYGROUND_DATABASE_URL, a database made and dropped here; skipped when PostgreSQL is not reachable).

    .venv/bin/python benchmarks/jobs.py [JOBS]     # prints a table, then one JSON line of figures and ratios

Jobs run the demo model (no delay). Jobs per second is measured from releasing the workers (each has started and
imported what it needs) until the last one exits, so process start-up is not counted. Ratios to compare across machines:
`two_vs_one` (2 workers' jobs/s over 1 worker's) and `vs_direct` (1 worker's jobs/s over calling generate_now() in a
loop in one process: the price of the queue, the records and a separate process).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PLAYGROUND_DEMO_DELAY"] = "0"
os.environ["PLAYGROUND_INPROCESS_WORKER"] = "0"

from playground import Agent  # noqa: E402
from playground.jobs import Job  # noqa: E402

REDIS = "redis://127.0.0.1:6379/0"
POSTGRES = os.environ.get("PLAYGROUND_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
agent = Agent(name="bench", model="demo")


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except Exception:
        return False


def postgres_up() -> bool:
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=2).close()
        return True
    except Exception:
        return False


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def configure(kind: str) -> str:
    os.environ["PLAYGROUND_HOME"] = tempfile.mkdtemp(prefix="playground-bench-jobs-")
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    os.environ.pop("PLAYGROUND_QUEUE_URL", None)
    os.environ.pop("PLAYGROUND_DATABASE_URL", None)
    if kind == "redis":
        os.environ["PLAYGROUND_QUEUE_URL"] = REDIS
        os.environ["PLAYGROUND_QUEUE_PREFIX"] = prefix
    elif kind == "postgres":
        _admin(f"CREATE DATABASE {prefix}")
        os.environ["PLAYGROUND_DATABASE_URL"] = f"{POSTGRES.rsplit('/', 1)[0]}/{prefix}"
    return prefix


def cleanup(kind: str, prefix: str) -> None:
    if kind == "postgres":
        from playground import jobs

        jobs._backends.clear()  # drop this process's connections with the database
        import gc

        gc.collect()
        _admin(f"DROP DATABASE IF EXISTS {prefix} WITH (FORCE)")
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def enqueue(n: int) -> tuple[list[str], list[float]]:
    agent.prompt("warm up").generate_later().cancel()  # the first call imports Huey and opens the queue
    ids, took = [], []
    for i in range(n):
        t = time.perf_counter()
        ids.append(agent.prompt(f"What is {i} + 1?").generate_later().id)
        took.append(time.perf_counter() - t)
    return ids, took


WORKER = """
import sys
from playground.jobs import Worker
w = Worker(["default"], burst=True)
w.backend.huey("default").pending_count()  # connected, Huey imported
import playground.agent, playground.generation  # noqa
print("ready", flush=True)
sys.stdin.readline()
w.run()
"""


def drain(ids: list[str], workers: int) -> float:
    """Start the workers, wait until each is ready (imports done), then release them together: jobs per second
    from the release until the last worker exits."""
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=os.environ.copy(), text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(workers)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    t = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.wait(timeout=900)
    took = time.perf_counter() - t
    infos = [Job.get(i).info() for i in ids]
    assert all(i["status"] == "succeeded" and i["attempts"] == 1 for i in infos), "a job was lost or run twice"
    return len(ids) / took


def direct(n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        agent.generate(f"What is {i} + 1?")
    return n / (time.perf_counter() - t)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    kinds = ["sqlite"] + (["redis"] if redis_up() else []) + (["postgres"] if postgres_up() else [])
    figures: dict[str, Any] = {"jobs": n, "direct_jobs_per_s": round(direct(n), 1)}
    print(f"{n} demo jobs; generate_now() in a loop: {figures['direct_jobs_per_s']} jobs/s")
    if "redis" not in kinds:
        print("Redis at 127.0.0.1:6379 not reachable: RedisHuey skipped")
    if "postgres" not in kinds:
        print(f"PostgreSQL not reachable ({POSTGRES.split('@')[-1]}): PostgresHuey skipped")
    for kind in kinds:
        row: dict[str, Any] = {}
        for workers in (1, 2):
            prefix = configure(kind)
            try:
                ids, took = enqueue(n)
                rate = drain(ids, workers)
            finally:
                cleanup(kind, prefix)
            if workers == 1:
                row["enqueue_ms_median"] = round(statistics.median(took) * 1000, 2)
                row["enqueue_ms_p95"] = round(sorted(took)[int(len(took) * 0.95) - 1] * 1000, 2)
            row[f"jobs_per_s_{workers}_worker{'s' if workers > 1 else ''}"] = round(rate, 1)
        row["two_vs_one"] = round(row["jobs_per_s_2_workers"] / row["jobs_per_s_1_worker"], 2)
        row["vs_direct"] = round(row["jobs_per_s_1_worker"] / figures["direct_jobs_per_s"], 2)
        figures[kind] = row
        print(f"{kind:8} enqueue {row['enqueue_ms_median']} ms (p95 {row['enqueue_ms_p95']} ms); "
              f"1 worker {row['jobs_per_s_1_worker']} jobs/s, 2 workers {row['jobs_per_s_2_workers']} jobs/s "
              f"(x{row['two_vs_one']}); 1 worker vs direct x{row['vs_direct']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
