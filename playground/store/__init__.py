"""The one home of persistent state: protocols and their SQLite (default, embedded) and PostgreSQL (by URL) backends.

Modules are imported on use, so `import playground` never imports a database driver:

    from playground.store.memory_base import open_memory_store
    store = open_memory_store("postgresql://postgres@127.0.0.1/playground")   # or None: SQLite under PLAYGROUND_HOME
"""
