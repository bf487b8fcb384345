"""Memory in PostgreSQL, selected by a postgresql:// URL, so several playground servers and workers share threads,
messages and working memory: `PostgresMemoryStore(url)`.

The store is written once for both backends in memory_sql.py; this name stays for code that imports it from here.
"""

from __future__ import annotations

from .memory_sql import MIGRATIONS as _BOTH
from .memory_sql import PostgresMemoryStore

MIGRATIONS = _BOTH["postgres"]
"""The PostgreSQL memory tables, version by version (memory_sql.MIGRATIONS)."""

__all__ = ["MIGRATIONS", "PostgresMemoryStore"]
