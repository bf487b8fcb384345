"""Backends for the shared memory-store suite: SQLite in a temp folder, and a real PostgreSQL server.

PostgreSQL is found at $PLAYGROUND_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres); each test
module gets its own database, dropped afterwards. Unreachable: skipped with the reason, except under CI=true, where
the tests fail instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

ADMIN_URL = os.environ.get("PLAYGROUND_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _base(url: str) -> str:
    return url.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    try:
        import psycopg

        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable at {ADMIN_URL} under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}: {exc}")
    name = f"pg_memtest_{secrets.token_hex(4)}"
    admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield f"{_base(ADMIN_URL)}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
        admin.close()


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
