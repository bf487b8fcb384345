"""How a person sets up a run store, spelling by spelling: retention and lease from the environment or as options,
the values refused (with the setting named), and which store a URL or path picks. Every value is checked on both
stores, since a server and a notebook may use either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from playground import ConfigurationError, SqliteRunStore
from playground.runs import DEFAULT_LEASE_SECONDS
from playground.storage import DEFAULT_RETENTION_DAYS, default_run_store, open_run_store
from playground.store.runs_postgres import PostgresRunStore

PG_URL = "postgresql://postgres@127.0.0.1:5432/never_connected"  # making a store never connects


def make(kind: str, tmp_path: Path, **options: Any) -> SqliteRunStore | PostgresRunStore:
    if kind == "sqlite":
        return SqliteRunStore(tmp_path / "runs.sqlite3", **options)
    return PostgresRunStore(PG_URL, **options)


KINDS = ["sqlite", "postgres"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLAYGROUND_RUN_RETENTION_DAYS", "PLAYGROUND_LEASE_SECONDS", "PLAYGROUND_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("raw", "days"),
    [("never", None), ("forever", None), ("none", None), (" Never ", None), ("FOREVER", None), ("NONE", None),
     ("", DEFAULT_RETENTION_DAYS), ("   ", DEFAULT_RETENTION_DAYS), ("7.5", 7.5), (" 2 ", 2.0), ("0", 0.0)],
)
def test_retention_from_the_environment(
    kind: str, raw: str, days: float | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", raw)
    assert make(kind, tmp_path).retention_days == days


@pytest.mark.parametrize("kind", KINDS)
def test_retention_defaults_to_thirty_days(kind: str, tmp_path: Path) -> None:
    assert DEFAULT_RETENTION_DAYS == 30.0
    assert make(kind, tmp_path).retention_days == 30.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("raw", "why"),
    [("soon", "a number of days (or 'never')"), ("1d", "a number of days (or 'never')"),
     ("-1", "a number of days >= 0 (or 'never')"), ("-0.5", "a number of days >= 0 (or 'never')"),
     ("nan", "a number of days >= 0 (or 'never')"), ("inf", "a number of days >= 0 (or 'never')")],
)
def test_bad_retention_in_the_environment_is_refused_naming_the_variable(
    kind: str, raw: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", raw)
    with pytest.raises(ConfigurationError) as info:
        make(kind, tmp_path)
    assert str(info.value) == f"PLAYGROUND_RUN_RETENTION_DAYS: expected {why}, got {raw!r}"
    assert getattr(info.value, "field", None) == "retention_days"


@pytest.mark.parametrize("kind", KINDS)
def test_retention_as_an_option(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", "never")  # an explicit option wins over the environment
    assert make(kind, tmp_path, retention_days=0).retention_days == 0.0
    assert make(kind, tmp_path, retention_days=3).retention_days == 3.0
    assert isinstance(make(kind, tmp_path, retention_days=3).retention_days, float)
    assert make(kind, tmp_path, retention_days=None).retention_days is None
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", "4")
    assert make(kind, tmp_path).retention_days == 4.0  # "env", the default, reads it
    for bad in (-1, -0.01, True, False, "7", [7]):
        with pytest.raises(ConfigurationError) as info:
            make(kind, tmp_path, retention_days=bad)
        assert str(info.value) == (
            f"retention_days: expected a number of days >= 0 or None (keep forever), got {bad!r}"
        )
        assert getattr(info.value, "field", None) == "retention_days"


@pytest.mark.parametrize("kind", KINDS)
def test_lease_from_the_option_or_the_environment(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_LEASE_SECONDS == 60.0
    assert make(kind, tmp_path).lease_seconds == 60.0
    monkeypatch.setenv("PLAYGROUND_LEASE_SECONDS", "  ")
    assert make(kind, tmp_path).lease_seconds == 60.0  # blank: the default
    monkeypatch.setenv("PLAYGROUND_LEASE_SECONDS", "2.5")
    store = make(kind, tmp_path)
    assert store.lease_seconds == 2.5
    assert make(kind, tmp_path, lease_seconds=7).lease_seconds == 7.0  # an explicit option wins
    assert isinstance(make(kind, tmp_path, lease_seconds=7).lease_seconds, float)
    assert make(kind, tmp_path, lease_seconds=0.001).lease_seconds == 0.001


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("raw", ["soon", "0", "-5", "inf", "nan"])
def test_bad_lease_in_the_environment_is_refused_naming_the_variable(
    kind: str, raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_LEASE_SECONDS", raw)
    with pytest.raises(ConfigurationError) as info:
        make(kind, tmp_path)
    shown = repr(raw) if raw == "soon" else repr(float(raw))
    assert str(info.value) == f"PLAYGROUND_LEASE_SECONDS: expected a number of seconds > 0, got {shown}"
    assert getattr(info.value, "field", None) == "lease_seconds"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", [0, -1, float("inf"), True, "10"])
def test_bad_lease_as_an_option_is_refused(kind: str, bad: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        make(kind, tmp_path, lease_seconds=bad)
    assert str(info.value) == f"lease_seconds: expected a number of seconds > 0, got {bad!r}"
    assert getattr(info.value, "field", None) == "lease_seconds"


def test_which_store_a_url_or_path_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    for where in (None, "sqlite:///"):
        store = open_run_store(where)
        assert isinstance(store, SqliteRunStore) and store.path == home / "runs.sqlite3"
    file_store = open_run_store(f"sqlite:///{tmp_path / 'a.sqlite3'}", retention_days=None, lease_seconds=5)
    assert isinstance(file_store, SqliteRunStore) and file_store.path == tmp_path / "a.sqlite3"
    assert (file_store.retention_days, file_store.lease_seconds) == (None, 5.0)  # options reach the store
    plain = open_run_store(tmp_path / "b.sqlite3", timeout=3)
    assert isinstance(plain, SqliteRunStore) and plain.path == tmp_path / "b.sqlite3" and plain.timeout == 3
    for url in ("postgresql://u@h:5432/db", "postgres://u@h/db"):
        pg = open_run_store(url, lease_seconds=9)
        assert isinstance(pg, PostgresRunStore) and pg.url == url and pg.lease_seconds == 9.0
    with pytest.raises(ConfigurationError) as info:
        open_run_store("mysql://u:pw@db/runs")
    assert str(info.value) == (
        "run store: unsupported URL mysql://... (PLAYGROUND_DATABASE_URL or --store); use "
        "postgresql://user@host:port/database, sqlite:///path or a file path"
    )
    assert getattr(info.value, "field", None) == "PLAYGROUND_DATABASE_URL"

    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", f"  sqlite:///{tmp_path / 'env.sqlite3'}  ")
    from_env = open_run_store()
    assert isinstance(from_env, SqliteRunStore) and from_env.path == tmp_path / "env.sqlite3"
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "   ")  # blank: SQLite under PLAYGROUND_HOME
    blank = open_run_store()
    assert isinstance(blank, SqliteRunStore) and blank.path == home / "runs.sqlite3"
    default = default_run_store()
    assert isinstance(default, SqliteRunStore) and default.path == home / "runs.sqlite3"
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", f"sqlite:///{tmp_path / 'd.sqlite3'}")
    default = default_run_store()
    assert isinstance(default, SqliteRunStore) and default.path == tmp_path / "d.sqlite3"


def test_one_shared_postgres_store_per_url_closed_at_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    import playground.storage as storage

    registered: list[Any] = []
    monkeypatch.setattr(storage, "_shared_stores", {})
    monkeypatch.setattr("atexit.register", registered.append)
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", " postgresql://u@h:5432/one ")
    one = default_run_store()
    assert isinstance(one, PostgresRunStore) and one.url == "postgresql://u@h:5432/one"
    assert registered == [storage._close_shared_stores]  # a process with one shared store closes it at exit too
    assert default_run_store() is one  # every agent of the process shares its pool
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "postgres://u@h/two")
    two = default_run_store()
    assert isinstance(two, PostgresRunStore) and two is not one and two.url == "postgres://u@h/two"
    assert registered == [storage._close_shared_stores]  # registered once, with the first store

    closed: list[str] = []
    for store in (one, two):
        monkeypatch.setattr(store, "close", lambda s=store: closed.append(s.url))
    storage._close_shared_stores()
    assert sorted(closed) == ["postgres://u@h/two", "postgresql://u@h:5432/one"]
