"""Semantic-recall latency at 1k, 10k and 100k stored messages, for SQLite and PostgreSQL.

    .venv/bin/python benchmarks/memory_recall.py                  # both backends (PostgreSQL at 127.0.0.1:5432)
    .venv/bin/python benchmarks/memory_recall.py --sizes 1000 10000 --backends sqlite

Each size is a fresh store filled with messages of one resource (64-dimension unit vectors, the demo embedder's
size). A recall is `store.search(query, top_k=3, resource_id=...)`: read every stored vector of the resource and
scan it exactly (cosine). Reported per backend and size: median and p95 over repeated queries, the pure-Python scan
(no numpy) for comparison, and each size's latency as a ratio of the 1k latency measured in the same run.

    .venv/bin/python benchmarks/memory_recall.py --sizes 1000 10000 --against 1610c67

`--against REV` also times the memory store as it was at git revision REV on the same data, query for query (the two
alternate, so a loaded machine slows both alike), and prints this tree's latency as a ratio of REV's.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from types import ModuleType
from typing import Any

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

ROOT = Path(__file__).resolve().parent.parent
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


def stores_at(rev: str) -> dict[str, Any]:
    """The memory store classes as they were at git revision `rev` ({"sqlite": class, "postgres": class}), loaded from
    `git show` into modules of playground.store (their relative imports reach this tree's memory_base, sql, ...)."""

    def load(path: str) -> ModuleType:
        text = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
        module = ModuleType(f"playground.store._at_{rev}_{Path(path).stem}")
        module.__package__ = "playground.store"
        exec(compile(text, f"{rev}:{path}", "exec"), module.__dict__)  # this repository's own code, at REV
        return module

    listed = subprocess.run(["git", "ls-tree", "--name-only", rev, "playground/store/"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    if "playground/store/memory_sql.py" in listed:
        both = load("playground/store/memory_sql.py")
        return {"sqlite": both.SqliteMemoryStore, "postgres": both.PostgresMemoryStore}
    return {"sqlite": load("playground/store/memory_sqlite.py").SqliteMemoryStore,
            "postgres": load("playground/store/memory_postgres.py").PostgresMemoryStore}


def time_against(store: MemoryStore, old: MemoryStore, rng: random.Random) -> tuple[float, float]:
    """Median ms of this tree's store and of the old one, the same queries alternating which goes first."""
    new_ms: list[float] = []
    old_ms: list[float] = []
    for i in range(QUERIES * 2):
        q = vector(rng)
        pair = [(store, new_ms), (old, old_ms)]
        for s, out in pair if i % 2 else pair[::-1]:
            start = time.perf_counter()
            hits = s.search(q, 3, resource_id="user-1")
            out.append((time.perf_counter() - start) * 1000)
            assert len(hits) == 3
        assert [h.message.id for h in store.search(q, 3, resource_id="user-1")] == [
            h.message.id for h in old.search(q, 3, resource_id="user-1")]
    return statistics.median(new_ms), statistics.median(old_ms)


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
    parser.add_argument("--against", metavar="REV", help="also time the memory store at this git revision")
    args = parser.parse_args()
    rng = random.Random(11)
    rows: list[tuple[str, int, float, float, float]] = []
    old_classes = stores_at(args.against) if args.against else {}
    against: list[tuple[str, int, float, float]] = []
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
                if old_classes:
                    old = old_classes[backend](store.url.removeprefix("sqlite:///") if backend == "sqlite"
                                              else store.url)
                    against.append((backend, n, *time_against(store, old, rng)))
                    old.close()
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
    if against:
        print(f"\nThis tree against {args.against}, same data, {QUERIES * 2} queries alternating:\n")
        print(f"{'backend':<9} {'messages':>9} {'now ms':>9} {args.against + ' ms':>14} {'now / then':>11}")
        for backend, n, now, then in against:
            print(f"{backend:<9} {n:>9,} {now:>9.2f} {then:>14.2f} {now / then:>11.2f}")
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
