"""Backends for the shared memory-store suite: SQLite in a temp folder, and a real PostgreSQL server.

Each test module gets its own PostgreSQL database (tests/postgres.py), dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import fresh_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database("pg_memtest") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh memory store URL per test, for each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'memory.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    import psycopg

    # a clean schema per test: drop the memory tables left by the previous test of the module
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS memory_messages, memory_threads, memory_working, memory_vectors, schema_versions"
        )
    yield base
