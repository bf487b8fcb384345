"""One suite for every MemoryStore backend (SQLite and a real PostgreSQL), plus an agent remembering through each."""

from __future__ import annotations

import json
import math
import random
import threading

import pytest

from playground import Agent, Memory
from playground.store.memory_base import (
    SCHEMA_VERSION,
    StoredMessage,
    ThreadInfo,
    open_memory_store,
    pack_vector,
    scan_python,
    top_by_cosine,
    unpack_vector,
)


def msg(i: int, thread: str, resource: str | None, text: str, vec: list[float] | None = None) -> StoredMessage:
    return StoredMessage(
        id=f"m{i}", thread_id=thread, resource_id=resource, role="user",
        message=json.dumps({"role": "user", "content": [{"type": "text", "text": text}]}), text=text,
        embedding=pack_vector(vec) if vec is not None else None,
    )


def test_schema_is_versioned_and_reopening_keeps_data(store_url: str) -> None:
    store = open_memory_store(store_url)
    assert store.schema_version() == SCHEMA_VERSION
    store.save_thread(ThreadInfo("t1", "u1", "First"))
    store.add_messages([msg(1, "t1", "u1", "hello")])
    store.close()
    again = open_memory_store(store_url)  # migrations run again and change nothing
    assert again.schema_version() == SCHEMA_VERSION
    assert [m.text for m in again.messages("t1")] == ["hello"]
    assert again.get_thread("t1").title == "First"  # type: ignore[union-attr]
    again.close()


def test_threads_messages_ordering_trimming_and_idempotent_writes(store_url: str) -> None:
    store = open_memory_store(store_url)
    store.save_thread(ThreadInfo("t1", "u1", None, {"topic": "x"}))
    store.save_thread(ThreadInfo("t2", "u2", "Other"))
    assert store.add_messages([msg(i, "t1", "u1", f"text {i}") for i in range(5)]) == 5
    assert store.add_messages([msg(3, "t1", "u1", "changed"), msg(9, "t1", "u1", "new")]) == 1  # m3 kept as it was
    assert [m.text for m in store.messages("t1")] == ["text 0", "text 1", "text 2", "text 3", "text 4", "new"]
    assert [m.text for m in store.messages("t1", last=2)] == ["text 4", "new"]
    assert [t.id for t in store.list_threads("u1")] == ["t1"]
    assert {t.id for t in store.list_threads()} == {"t1", "t2"}
    assert store.get_thread("t1").metadata == {"topic": "x"}  # type: ignore[union-attr]
    assert store.existing_ids(["m1", "m7", "m9"]) == {"m1", "m9"}
    near = store.neighbours("t1", store.messages("t1")[2].seq, 1, 1)
    assert [m.text for m in near] == ["text 1", "text 2", "text 3"]
    store.set_working_memory("thread", "t1", "# notes")
    store.delete_thread("t1")
    assert store.get_thread("t1") is None and store.messages("t1") == []
    assert store.get_working_memory("thread", "t1") is None
    assert store.count_messages() == 0
    store.close()


def test_search_by_thread_and_by_resource_with_exclusions(store_url: str) -> None:
    store = open_memory_store(store_url)
    store.add_messages([
        msg(1, "t1", "u1", "cats", [1.0, 0.0, 0.0]),
        msg(2, "t1", "u1", "dogs", [0.0, 1.0, 0.0]),
        msg(3, "t2", "u1", "kittens", [0.9, 0.1, 0.0]),
        msg(4, "t3", "u2", "other user's cats", [1.0, 0.0, 0.0]),
        msg(5, "t1", "u1", "no vector"),
    ])
    by_resource = store.search([1.0, 0.0, 0.0], 2, resource_id="u1")
    assert [h.message.text for h in by_resource] == ["cats", "kittens"]
    assert by_resource[0].score == pytest.approx(1.0, abs=1e-6)
    assert by_resource[1].score == pytest.approx(0.9 / math.sqrt(0.82), abs=1e-5)
    by_thread = store.search([1.0, 0.0, 0.0], 5, thread_id="t1")
    assert [h.message.text for h in by_thread] == ["cats", "dogs"]
    excluded = store.search([1.0, 0.0, 0.0], 1, resource_id="u1", exclude=["m1"])
    assert [h.message.text for h in excluded] == ["kittens"]
    store.close()


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    store = open_memory_store(store_url)

    def write(w: int) -> None:
        for i in range(20):
            store.add_messages([msg(w * 100 + i, f"t{w}", "u", f"{w}-{i}")])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_messages() == 80
    assert [m.text for m in store.messages("t2")] == [f"2-{i}" for i in range(20)]
    store.close()


def test_agent_remembers_through_each_backend(store_url: str) -> None:
    memory = Memory(semantic_recall={"top_k": 2, "message_range": 0}, embedder="demo", storage=store_url)
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Grace and I live in Arlington", memory={"thread": "old", "resource": "u1"})
    result = agent.generate("What is my name?", memory={"thread": "new", "resource": "u1"})
    assert "Grace" in result.text
    assert result.memory.recalled and result.memory.recalled[0].thread_id == "old"
    assert memory.store.url == store_url
    memory.store.close()


def test_vector_packing_and_both_scans_agree() -> None:
    rng = random.Random(7)
    rows = [(i, pack_vector([rng.uniform(-1, 1) for _ in range(16)])) for i in range(300)]
    query = [rng.uniform(-1, 1) for _ in range(16)]
    fast = top_by_cosine(query, rows, 5)
    from array import array

    slow = scan_python(array("f", pack_vector(query)), rows, 5)
    assert [k for k, _ in fast] == [k for k, _ in slow]
    assert [s for _, s in fast] == pytest.approx([s for _, s in slow], abs=1e-5)
    v = unpack_vector(pack_vector([3.0, 4.0]))
    assert v == pytest.approx([0.6, 0.8])
    assert top_by_cosine([1.0, 0.0], [(1, pack_vector([1.0, 0.0, 0.0]))], 3) == []  # other dimension: skipped


def test_bad_url_names_the_fix(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        open_memory_store("mysql://x")


def test_default_store_lives_under_playground_home(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os
    from pathlib import Path

    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)
    store = open_memory_store()
    assert Path(store.url.removeprefix("sqlite:///")) == Path(os.environ["PLAYGROUND_HOME"]) / "memory.sqlite3"


def test_two_servers_share_threads_through_one_store(store_url: str) -> None:
    """Two playground processes' Memory objects on one URL: a thread written by one is read and continued by the
    other (for PostgreSQL: several servers; for SQLite: processes on one machine)."""
    one = Memory(storage=store_url)
    two = Memory(storage=store_url)
    Agent(model="demo", memory=one).generate("My name is Ada", memory={"thread": "shared", "resource": "u"})
    r = Agent(model="demo", memory=two).generate("What is my name?", memory={"thread": "shared", "resource": "u"})
    assert "Your name is Ada" in r.text
    assert [m.role for m in one.messages("shared")] == ["user", "assistant", "user", "assistant"]
    one.store.close()
    two.store.close()


def test_sqlite_file_is_the_owners_only(tmp_path: object) -> None:
    import os
    import stat
    from pathlib import Path

    folder = Path(str(tmp_path)) / "new-home"
    store = open_memory_store(str(folder / "memory.sqlite3"))
    store.save_thread(ThreadInfo("t"))
    assert stat.S_IMODE(os.stat(folder / "memory.sqlite3").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


SHIPPED = {
    "sqlite": "fc6906e6436cd9effbb4af1c5f0c5d508b5fdff38f0d2a3033a0d1c6ac9fd1b0",
    "postgres": "6016c516de0f2cb811ddeebd069dde27bc774f61ec18ef926a978418e5f6ff41",
}
"""sha256 of each backend's migrations 1 and 2 as the memory store wrote them before the SQL seam (memory_sqlite.py and
memory_postgres.py at ad2f4b1, json.dumps of {"1": [...], "2": [...]})."""


def shipped(backend: str) -> dict[int, list[str]]:
    from playground.store.memory_sql import MIGRATIONS

    return {n: steps for n, steps in MIGRATIONS[backend].items() if n <= 2}


def test_shipped_migrations_are_the_old_stores_ddl_unchanged() -> None:
    """Databases record which migrations they applied: versions 1 and 2 are the old stores' DDL to the letter (so the
    old layouts below are made with it), and a change to the schema is a new version, never an edit."""
    import hashlib

    for backend, digest in SHIPPED.items():
        text = json.dumps({str(n): steps for n, steps in shipped(backend).items()})
        assert hashlib.sha256(text.encode()).hexdigest() == digest, f"{backend}: a shipped migration was edited"


OLD_VERSIONS = "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
"""Where the stores before the seam kept the memory schema's version, in SQLite as in PostgreSQL."""


def make_old_layout(url: str, version: int) -> None:
    """The tables, version row and data a memory store before the SQL seam left at `version`: a thread with a message
    whose vector is stored where that version kept it (1: in the message row, 2: in memory_vectors), a message with no
    vector, and working memory."""
    backend = "postgres" if url.startswith("postgresql://") else "sqlite"
    vec = pack_vector([1.0, 0.0])
    statements: list[tuple[str, tuple[object, ...]]] = [(sql, ()) for n in range(1, version + 1)
                                                        for sql in shipped(backend)[n]]
    statements += [
        (OLD_VERSIONS, ()),
        ("INSERT INTO schema_versions (component, version) VALUES ('memory', ?)", (version,)),
        ("INSERT INTO memory_threads VALUES ('t', 'u', 'Old thread', '{\"k\": 1}', 1.0, 2.0)", ()),
        ("INSERT INTO memory_messages (id, thread_id, resource_id, role, message, text, created_at, embedding) "
         "VALUES ('old1', 't', 'u', 'user', '{}', 'old fact', 1.0, ?)", (vec if version == 1 else None,)),
        ("INSERT INTO memory_messages (id, thread_id, resource_id, role, message, text, created_at) "
         "VALUES ('old2', 't', 'u', 'assistant', '{}', 'old answer', 2.0)", ()),
        ("INSERT INTO memory_working VALUES ('thread', 't', '# old notes', 1.0)", ()),
    ]
    if version == 2:
        statements.append(("INSERT INTO memory_vectors SELECT resource_id, seq, thread_id, id, ? FROM memory_messages "
                           "WHERE id = 'old1'", (vec,)))
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for sql, args in statements:
                conn.execute(sql, args)
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            for sql, args in statements:
                conn.execute(sql.replace("?", "%s"), args)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [1, 2])
def test_an_old_stores_database_opens_with_its_threads_vectors_and_working_memory(store_url: str,
                                                                                 version: int) -> None:
    """A memory file or PostgreSQL database written by the store before the SQL seam, at either schema version, opens:
    its version is adopted (and a version 1 moves its vectors), every read sees the old data and writes go on."""
    make_old_layout(store_url, version)
    store = open_memory_store(store_url)
    assert store.schema_version() == SCHEMA_VERSION == 2
    assert [m.text for m in store.messages("t")] == ["old fact", "old answer"]
    thread = store.get_thread("t")
    assert thread is not None and (thread.title, thread.metadata) == ("Old thread", {"k": 1})
    assert store.get_working_memory("thread", "t") == "# old notes"
    assert [h.message.id for h in store.search([1.0, 0.0], 2, resource_id="u")] == ["old1"]
    assert store.add_messages([msg(3, "t", "u", "new fact", [0.0, 1.0]), msg(4, "t", "u", "repeat")]) == 2
    assert [h.message.text for h in store.search([0.1, 1.0], 1, thread_id="t")] == ["new fact"]
    assert store.add_messages([msg(3, "t", "u", "again")]) == 0
    store.close()
    again = open_memory_store(store_url)  # opened again: nothing migrates twice, nothing is lost
    assert again.schema_version() == 2 and again.count_messages() == 4
    assert [h.message.id for h in again.search([1.0, 0.0], 1, resource_id="u")] == ["old1"]
    again.delete_thread("t")
    assert again.search([1.0, 0.0], 1, resource_id="u") == [] and again.get_working_memory("thread", "t") is None
    again.close()
    if store_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 2  # adopted: the version is the file's now


NEWER = r"schema version 99 was written by a newer playground .*; upgrade playground"


def test_a_newer_schema_is_refused_with_the_fix(store_url: str) -> None:
    """A database whose memory schema a newer playground wrote is not touched: the error says what to do."""
    from playground.errors import StorageError

    if store_url.startswith("sqlite:///"):
        import sqlite3

        path = store_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:  # as the store before the seam kept it
            conn.execute(OLD_VERSIONS)
            conn.execute("INSERT INTO schema_versions VALUES ('memory', 99)")
        with pytest.raises(StorageError, match=NEWER):
            open_memory_store(store_url).list_threads()
        with sqlite3.connect(path) as conn:  # as the seam keeps it
            conn.execute("DELETE FROM schema_versions")
            conn.execute("PRAGMA user_version = 7")
        with pytest.raises(StorageError, match="schema version 7 was written by a newer playground"):
            open_memory_store(store_url).list_threads()
        return
    import psycopg

    with psycopg.connect(store_url) as conn:
        conn.execute(OLD_VERSIONS)  # type: ignore[arg-type]
        conn.execute("INSERT INTO schema_versions VALUES ('memory', 99)")
    with pytest.raises(StorageError, match=NEWER):
        open_memory_store(store_url).list_threads()
