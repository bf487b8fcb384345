"""Semantic-recall latency at 1k, 10k and 100k stored messages, for SQLite and PostgreSQL.

    .venv/bin/python benchmarks/memory_recall.py                  # both backends (PostgreSQL at 127.0.0.1:5432)
    .venv/bin/python benchmarks/memory_recall.py --sizes 1000 10000 --backends sqlite

Each size is a fresh store filled with messages of one resource (64-dimension unit vectors, the demo embedder's
size). A recall is `store.search(query, top_k=3, resource_id=...)`: read every stored vector of the resource and
scan it exactly (cosine). Reported per backend and size: median and p95 over repeated queries, the pure-Python scan
(no numpy) for comparison, and each size's latency as a ratio of the 1k latency measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.store.memory_base import (
    MemoryStore,
    StoredMessage,
    ThreadInfo,
    open_memory_store,
    pack_vector,
    scan_python,
    top_by_cosine,
)

DIMS = 64
QUERIES = 15
ADMIN_URL = os.environ.get("PLAYGROUND_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def vector(rng: random.Random) -> list[float]:
    return [rng.gauss(0, 1) for _ in range(DIMS)]


def fill(store: MemoryStore, n: int, rng: random.Random) -> None:
    batch: list[StoredMessage] = []
    threads = max(1, n // 50)
    for t in range(threads):
        store.save_thread(ThreadInfo(f"t{t}", "user-1"))
    for i in range(n):
        batch.append(StoredMessage(
            id=f"m{i}", thread_id=f"t{i % threads}", resource_id="user-1", role="user" if i % 2 else "assistant",
            message='{"role": "user", "content": []}', text=f"message {i}", embedding=pack_vector(vector(rng)),
        ))
        if len(batch) == 5000:
            store.add_messages(batch)
            batch = []
    store.add_messages(batch)


def time_queries(store: MemoryStore, rng: random.Random) -> list[float]:
    out = []
    for _ in range(QUERIES):
        q = vector(rng)
        start = time.perf_counter()
        hits = store.search(q, 3, resource_id="user-1")
        out.append((time.perf_counter() - start) * 1000)
        assert len(hits) == 3
    return out


def python_scan_ms(n: int, rng: random.Random) -> float:
    rows = [(i, pack_vector(vector(rng))) for i in range(n)]
    q = array("f", pack_vector(vector(rng)))
    start = time.perf_counter()
    scan_python(q, rows, 3)
    slow = (time.perf_counter() - start) * 1000
    top_by_cosine(vector(rng), rows, 3)
    return slow


def postgres_store(name: str) -> tuple[MemoryStore, object] | None:
    try:
        import psycopg

        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # reported, not hidden
        print(f"postgres: unreachable at {ADMIN_URL}: {exc}")
        return None
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
    admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return open_memory_store(f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"), admin


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    args = parser.parse_args()
    rng = random.Random(11)
    rows: list[tuple[str, int, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            for n in args.sizes:
                admin = None
                if backend == "sqlite":
                    store = open_memory_store(str(Path(tmp) / f"recall-{n}.sqlite3"))
                else:
                    made = postgres_store(f"pg_recall_bench_{n}")
                    if made is None:
                        break
                    store, admin = made
                start = time.perf_counter()
                fill(store, n, rng)
                fill_s = time.perf_counter() - start
                times = time_queries(store, rng)
                median = statistics.median(times)
                p95 = sorted(times)[int(0.95 * (len(times) - 1))]
                rows.append((backend, n, median, p95, fill_s))
                store.close()
                if admin is not None:
                    admin.execute(f"DROP DATABASE IF EXISTS pg_recall_bench_{n} WITH (FORCE)")  # type: ignore[attr-defined]
                    admin.close()  # type: ignore[attr-defined]
    print(f"\nSemantic recall: top 3 of N messages of one resource, {DIMS} dims, exact cosine scan, "
          f"{QUERIES} queries each\n")
    print(f"{'backend':<9} {'messages':>9} {'median ms':>10} {'p95 ms':>9} {'x 1k':>7} {'fill s':>8}")
    base: dict[str, float] = {}
    for backend, n, median, p95, fill_s in rows:
        base.setdefault(backend, median)
        print(f"{backend:<9} {n:>9,} {median:>10.2f} {p95:>9.2f} {median / base[backend]:>7.1f} {fill_s:>8.1f}")
    print("\nThe scan alone (vectors already in memory), numpy vs pure Python (the fallback without numpy):")
    for n in args.sizes:
        rows_mem = [(i, pack_vector(vector(rng))) for i in range(n)]
        q = vector(rng)
        start = time.perf_counter()
        top_by_cosine(q, rows_mem, 3)
        fast = (time.perf_counter() - start) * 1000
        slow = python_scan_ms(n, rng)
        print(f"  {n:>9,} messages: numpy {fast:8.2f} ms   pure Python {slow:9.2f} ms   ratio {slow / fast:6.1f}x")


if __name__ == "__main__":
    main()
