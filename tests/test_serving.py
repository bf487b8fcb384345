"""Serving the browser playground: never a share link, a warning beyond loopback without a login, the login from
PLAYGROUND_AUTH (not the command line, which `ps` shows)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from playground import ConfigurationError
from playground.serving import (
    AUTH_ENV,
    ExposureWarning,
    auth_from_env,
    exposure_warning,
    is_loopback,
    parse_auth,
    safe_launch_options,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host) and exposure_warning(host, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "playground.example.com"])
def test_beyond_loopback_without_login_warns_and_with_login_does_not(host: str) -> None:
    message = exposure_warning(host, None)
    assert message is not None and host in message and AUTH_ENV in message
    assert exposure_warning(host, ("ann", "pw")) is None


def test_auth_from_the_environment() -> None:
    assert auth_from_env({AUTH_ENV: "ann:s3cret:with:colons"}) == ("ann", "s3cret:with:colons")
    assert auth_from_env({}) is None and auth_from_env({AUTH_ENV: "  "}) is None


@pytest.mark.parametrize("bad", ["ann", "ann:", ":pw", "justapassword"])
def test_bad_auth_names_the_source_and_never_repeats_the_value(bad: str) -> None:
    with pytest.raises(ConfigurationError, match=AUTH_ENV) as info:
        auth_from_env({AUTH_ENV: bad})
    assert (bad not in str(info.value)) or bad in ("ann",)  # "ann" is only a user name
    with pytest.raises(ConfigurationError, match="--auth"):
        parse_auth(bad)


def test_share_is_always_off() -> None:
    assert safe_launch_options({"server_name": "127.0.0.1"})["share"] is False
    with pytest.warns(ExposureWarning, match="share=True was ignored"):
        assert safe_launch_options({"share": True})["share"] is False


class _FakeDemo:
    local_url = "http://127.0.0.1:7860/"

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def queue(self, **kwargs: Any) -> None: ...

    def launch(self, **kwargs: Any) -> None:
        self.options = kwargs

    def block_thread(self) -> None: ...

    def close(self) -> None: ...


@pytest.fixture
def fake_demo(monkeypatch: pytest.MonkeyPatch) -> _FakeDemo:
    pytest.importorskip("gradio")
    from playground.ui import gradio_app

    demo = _FakeDemo()
    monkeypatch.setattr(gradio_app, "build_app", lambda agents_dir=None, **_: demo)
    return demo


def test_launch_forces_share_off_and_warns_when_exposed(
    fake_demo: _FakeDemo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.ui import gradio_app

    monkeypatch.delenv(AUTH_ENV, raising=False)
    with pytest.warns(ExposureWarning):
        gradio_app.launch(host="0.0.0.0", share=True)
    assert fake_demo.options["share"] is False and fake_demo.options["auth"] is None
    assert "WARNING" in capsys.readouterr().err


def test_cli_ui_takes_the_login_from_the_environment(
    fake_demo: _FakeDemo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.cli import cmd_ui

    monkeypatch.setenv(AUTH_ENV, "ann:a-long-passphrase")
    cmd_ui(argparse.Namespace(agents=None, host="0.0.0.0", port=7861, auth=None))
    assert fake_demo.options["auth"] == ("ann", "a-long-passphrase") and fake_demo.options["share"] is False
    err = capsys.readouterr().err
    assert "WARNING" not in err and "a-long-passphrase" not in err


def test_cli_ui_auth_on_the_command_line_works_with_a_note(
    fake_demo: _FakeDemo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.cli import cmd_ui

    monkeypatch.delenv(AUTH_ENV, raising=False)
    cmd_ui(argparse.Namespace(agents=None, host="127.0.0.1", port=7861, auth="ann:pw12345"))
    assert fake_demo.options["auth"] == ("ann", "pw12345")
    assert AUTH_ENV in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cmd_ui(argparse.Namespace(agents=None, host="127.0.0.1", port=7861, auth="nopassword"))
    assert "nopassword" not in str(info.value) and "USER:PASSWORD" in str(info.value)
