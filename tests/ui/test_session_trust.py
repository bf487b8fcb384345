"""PlaygroundSession fixes from issue 17 (the browser playground under real use), tested without a browser so the
notebook playground, which shares the session, is held to them too: exports that reproduce the person's decisions,
keys that stay with their provider and host, valid history after Stop, save/load of a pending approval."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from playground.ui.session import PlaygroundSession, load_agents

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"


@pytest.fixture
def session() -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("support")
    return s


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


def run_script(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run an exported script from a folder that is not the repository (it must work from anywhere)."""
    script = tmp_path / "repro.py"
    script.write_text(code)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return subprocess.run([sys.executable, str(script)], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PLAYGROUND_DEMO_DELAY": "0", "PYTHONPATH": str(REPO),
                               "PLAYGROUND_HOME": str(tmp_path / "home")})


# -- 1. the Python export reproduces the exchange as it happened --------------------------------------------------


async def test_export_of_a_declined_refund_declines_it(session: PlaygroundSession, tmp_path: Path) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await collect(session.decline(session.pending.tool_call_id, "not eligible"))
    code = session.export_code()["python"]
    assert "'approved': False" in code and "not eligible" in code
    assert "approve_tool_call(run_id=result.run_id, tool_call_id=call.tool_call_id)" not in code
    out = run_script(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "declined" in out.stdout and "not eligible" in out.stdout
    assert "refunded" not in out.stdout.replace("not refunded", "")


async def test_export_of_an_edited_approval_runs_the_edited_arguments(session: PlaygroundSession,
                                                                       tmp_path: Path) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await collect(session.approve(session.pending.tool_call_id, '{"order_id": "42", "amount": 20}'))
    assert "refunded" in session.exchanges[-1].view.text and "20" in session.exchanges[-1].view.text
    code = session.export_code()["python"]
    assert "'args': {'order_id': '42', 'amount': 20}" in code
    assert "agent.stream(" in code and "resume_stream(" in code  # the page streamed, so does the script
    out = run_script(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "refunded 20" in out.stdout and "89" not in out.stdout.split("refunded", 1)[1][:20]


async def test_export_of_a_pending_call_approves_nothing(session: PlaygroundSession, tmp_path: Path) -> None:
    await collect(session.send("refund order 42"))
    code = session.export_code()["python"]
    out = run_script(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "waits for approval" in out.stdout and "refunded" not in out.stdout


async def test_decisions_survive_save_and_load(session: PlaygroundSession) -> None:
    await collect(session.send("refund order 7"))
    assert session.pending is not None
    await collect(session.decline(session.pending.tool_call_id, "too late"))
    other = PlaygroundSession(load_agents(AGENTS))
    other.load(session.save())
    assert other.exchanges[-1].decisions == [{"tool": "refund", "approved": False, "reason": "too late"}]
    assert "too late" in other.export_code()["python"]


# -- 2. a key stays with its provider and host (and the operator's key with the operator's host) ---------------------

KEY = "sk-typed-SECRET-abcdefghijklmnop-1234"
ENV_KEY = "sk-operator-SECRET-zyxwvutsrqponm-9876"


def auth_header(preview: dict[str, Any]) -> str | None:
    return next((v for k, v in preview["headers"].items() if k.lower() == "authorization"), None)


def test_a_typed_key_is_cleared_when_the_host_changes(session: PlaygroundSession) -> None:
    session.configure(provider="openai-compatible", base_url="http://127.0.0.1:9001/v1", model="m1")
    session.set_api_key(KEY)
    assert auth_header(session.inspect("hi"))  # sent to the host it was typed for
    session.set_base_url("http://127.0.0.1:9002/v1")
    assert not session.has_api_key and session.key_notice and "cleared" in session.key_notice
    assert KEY not in session.key_notice and "9001" in session.key_notice
    assert auth_header(session.inspect("hi")) is None


def test_switching_provider_does_not_carry_the_field_s_key(session: PlaygroundSession) -> None:
    session.set_api_key(KEY)  # typed while the demo was chosen
    # what the browser sends on a switch: the new provider and URL with the key field's old value
    problems = session.configure(provider="openai-compatible", base_url="http://127.0.0.1:9003/v1", api_key=KEY,
                                 model="m1")
    assert problems == []
    assert not session.has_api_key
    assert auth_header(session.inspect("hi")) is None
    session.configure(api_key=KEY)  # typed again, on purpose, for this host: kept
    assert session.has_api_key and auth_header(session.inspect("hi"))


def test_the_operator_key_goes_only_to_the_operator_host(session: PlaygroundSession,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9004/v1")
    session.set_provider("openai-compatible")
    assert session.base_url == "http://127.0.0.1:9004/v1"  # the operator's server is filled in
    session.set_model("m1")
    header = auth_header(session.inspect("hi"))
    assert header and ENV_KEY not in header  # sent there, masked
    session.set_base_url("http://127.0.0.1:9005/v1")  # a visitor's own server
    assert auth_header(session.inspect("hi")) is None
    assert session.list_models() == [] and ENV_KEY not in (session.notice or "")
    session.set_api_key(KEY)  # they must type their own
    assert auth_header(session.inspect("hi"))
