"""A fresh PostgreSQL database for a test, the one way every PostgreSQL test gets one.

The server is $PLAYGROUND_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres). Unreachable: the test
is skipped with the reason, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URL = os.environ.get("PLAYGROUND_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(prefix: str = "pg_test") -> Iterator[str]:
    """A new database `<prefix>_<random>` (its URL), dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable at {ADMIN_URL} under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}: {exc}")
    name = f"{prefix}_{secrets.token_hex(5)}"
    admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
        admin.close()
