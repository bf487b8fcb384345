"""The playground's API through gradio_client, against the app launched in-process on a free 127.0.0.1 port."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

KEY = "sk-api-test-SECRET-0123456789abcdef"
# outputs of /send, /approve, /decline (layout blocks such as the approval card's group are not among them)
CHAT, NOTICE, APPROVAL_TITLE, APPROVAL_ARGS, REASON, INSPECT, RAW_REQUEST, RAW_RESPONSE, REASONING, SOURCES, USAGE = (
    range(11)
)


def client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def chat_text(chat: list[dict[str, Any]]) -> str:
    out = []
    for m in chat:
        content = m.get("content")
        if isinstance(content, list):
            out += [c.get("text", "") for c in content if isinstance(c, dict)]
        else:
            out.append(str(content))
    return "\n".join(out)


def configure(c: Any, **fields: Any) -> tuple[str, Any, dict[str, Any]]:
    status, notice, config = c.predict(json.dumps(fields), api_name="/configure")
    return status, notice, config


def test_api_endpoints_are_named(app_url: str) -> None:
    names = set(client(app_url).view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/configure", "/send", "/inspect", "/approve", "/decline", "/stop", "/clear", "/save", "/load",
            "/compare", "/select_agent"} <= names


def test_configure_inspect_send_and_raw_request_match(app_url: str) -> None:
    c = client(app_url)
    status, _notice, config = configure(c, agent="research", settings={"temperature": 0.3, "seed": 7})
    assert "research" in status and "simulated" in status
    assert config["settings"] == {"temperature": 0.3, "seed": 7}
    preview = json.loads(c.predict("What is RAG?", api_name="/inspect"))
    assert preview["body"]["temperature"] == 0.3 and preview["body"]["seed"] == 7
    out = c.predict("What is RAG?", api_name="/send")
    chat, raw_request = out[CHAT], out[RAW_REQUEST]
    assert "What is RAG?" in chat_text(chat) and "simulated" in chat_text(chat)
    assert json.loads(raw_request)["step 1"]["body"] == preview["body"]
    assert "wikipedia.org" in out[SOURCES]
    assert "Total" in out[USAGE]
    assert json.loads(out[RAW_RESPONSE])["step 1"]["stream"] is True


def test_approve_and_decline_through_the_api(app_url: str) -> None:
    c = client(app_url)
    configure(c, agent="support")
    out = c.predict("refund order 42", api_name="/send")
    assert "Approval needed" in out[APPROVAL_TITLE] and "42" in out[APPROVAL_ARGS]["value"]
    bad = c.predict('{"order_id": ', api_name="/approve")
    assert "not valid JSON" in bad[NOTICE]["value"]
    out = c.predict('{"order_id": "42", "amount": 5}', api_name="/approve")
    assert "refunded 5.0" in chat_text(out[CHAT]) and out[APPROVAL_TITLE] == ""
    c.predict("refund order 7", api_name="/send")
    out = c.predict("customer changed their mind", api_name="/decline")
    assert "declined" in chat_text(out[0]) and "customer changed their mind" in chat_text(out[0])


def test_bad_input_is_reported_and_the_conversation_kept(app_url: str) -> None:
    c = client(app_url)
    _, notice, _ = configure(c, agent="research", settings={"temperature": 9}, max_steps=0)
    assert "temperature" in notice["value"] and "Max steps" in notice["value"]
    c.predict("2+2", api_name="/send")
    out = c.predict("/error 401", api_name="/send")
    assert "401" in out[NOTICE]["value"] and "2 + 2 = 4" in chat_text(out[CHAT])
    _, notice, _ = configure(c, agent="nobody")
    assert "no agent named" in notice["value"]
    assert "type a message" in json.loads(c.predict("  ", api_name="/inspect"))["error"]


def test_sessions_are_isolated_and_the_key_never_comes_back(app_url: str) -> None:
    a, b = client(app_url), client(app_url)
    _, _, config_a = configure(a, agent="weather", api_key=KEY, settings={"temperature": 1.5})
    assert KEY not in json.dumps(config_a)

    def send_a() -> Any:
        return a.predict("look up order 42", api_name="/send")

    def send_b() -> Any:
        return b.predict("2+2", api_name="/send")

    with ThreadPoolExecutor(2) as pool:
        fa, fb = pool.submit(send_a), pool.submit(send_b)
        out_a, out_b = fa.result(timeout=60), fb.result(timeout=60)
    assert "order" in chat_text(out_a[0]) and "2 + 2" not in chat_text(out_a[0])
    assert "2 + 2 = 4" in chat_text(out_b[0]) and "order" not in chat_text(out_b[0])
    _, _, config_b = configure(b)
    assert config_b["agent"] != "weather" and config_b["settings"] == {}
    for out in (out_a, out_b):
        assert KEY not in json.dumps(out)


def test_save_and_load_session_files(app_url: str, tmp_path: Path) -> None:
    from gradio_client import handle_file

    a = client(app_url)
    configure(a, agent="weather", api_key=KEY, settings={"temperature": 0.7})
    a.predict("What's the weather in Paris?", api_name="/send")
    saved = a.predict(api_name="/save")
    value = saved["value"] if isinstance(saved, dict) and "value" in saved else saved
    path = Path(value["path"] if isinstance(value, dict) else value)
    text = path.read_text()
    assert KEY not in text and json.loads(text)["config"]["agent"] == "weather"
    copy = tmp_path / "session.json"
    copy.write_text(text)
    b = client(app_url)
    out = b.predict(handle_file(str(copy)), api_name="/load")
    assert "Paris" in json.dumps(out)
    _, _, config_b = configure(b)
    assert config_b["agent"] == "weather" and config_b["settings"] == {"temperature": 0.7}


def test_compare_two_columns(app_url: str) -> None:
    c = client(app_url)
    configure(c, agent="research")
    result = json.loads(c.predict(
        "What is RAG?", json.dumps([{"provider": "demo"}, {"provider": "demo", "settings": {"max_output_tokens": 8}}]),
        api_name="/compare",
    ))
    assert len(result) == 2 and all(r["error"] is None for r in result)
    assert result[1]["finish_reason"] == "length" and result[0]["usage"]["total_tokens"] > 0
    bad = json.loads(c.predict("x", json.dumps([{"provider": "demo"}] * 5), api_name="/compare"))
    assert "1 to 4 columns" in bad["error"]


def test_clear_and_stop(app_url: str) -> None:
    c = client(app_url)
    configure(c, agent="research")
    c.predict("2+2", api_name="/send")
    c.predict(api_name="/stop")  # nothing streams: harmless
    out = c.predict(api_name="/clear")
    assert out[0] == []


@pytest.mark.parametrize(
    ("var", "values"),
    [("GRADIO_ANALYTICS_ENABLED", {"False"}), ("HF_HUB_OFFLINE", {"1"}), ("HF_HUB_DISABLE_TELEMETRY", {"1", "True"})],
)
def test_offline_environment(app_url: str, var: str, values: set[str]) -> None:
    import os

    assert os.environ[var] in values


def test_ui_command_says_it_is_starting_then_ready(tmp_path: Path) -> None:
    """Issue 17 item 15: the command says at once that it is starting, and prints the URL only once the page opens.
    (How long the start takes is a benchmark's business, not a test's.)"""
    import os
    import subprocess
    import sys
    import urllib.request

    from tests.ui.conftest import AGENTS, free_port

    port = free_port()
    env = {**os.environ, "PLAYGROUND_HOME": str(tmp_path), "PLAYGROUND_DEMO_DELAY": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "playground.cli", "ui", "--agents", str(AGENTS), "--port",
                             str(port)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "starting" in first  # before Gradio is even imported
        lines = [first]
        while "ready at" not in lines[-1]:
            line = proc.stderr.readline()
            assert line, f"the command ended before it was ready: {''.join(lines)}"
            lines.append(line)
        assert f"http://127.0.0.1:{port}" in lines[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:  # ready means ready
            assert page.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
