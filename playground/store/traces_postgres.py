"""Traces in PostgreSQL, chosen by `PLAYGROUND_DATABASE_URL=postgresql://...` like the run store, so every playground
server sharing the database shows the same traces in its Traces tab: `PostgresTraceStore(url)`.

The store is written once for both backends in traces.py (on the store/sql.py seam); these names stay for code that
imports them from here.
"""

from __future__ import annotations

from .traces import MIGRATIONS as _BOTH
from .traces import PostgresTraceStore

MIGRATIONS = _BOTH["postgres"]
"""The PostgreSQL trace tables, version by version (traces.MIGRATIONS)."""
SCHEMA_VERSION = max(MIGRATIONS)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresTraceStore"]
