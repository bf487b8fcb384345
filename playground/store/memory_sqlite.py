"""The default memory store, a SQLite file (`<PLAYGROUND_HOME>/memory.sqlite3`): `SqliteMemoryStore(path)`.

The store is written once for both backends in memory_sql.py; this name stays for code that imports it from here.
"""

from __future__ import annotations

from .memory_sql import MIGRATIONS as _BOTH
from .memory_sql import SqliteMemoryStore

MIGRATIONS = _BOTH["sqlite"]
"""The SQLite memory tables, version by version (memory_sql.MIGRATIONS)."""

__all__ = ["MIGRATIONS", "SqliteMemoryStore"]
