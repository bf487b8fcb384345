"""Chat Completions request bodies we build, validated against OpenAI's official OpenAPI spec by Stoplight Prism.

`prism mock SPEC` answers 422 to a request body that breaks the spec's schema. The test starts Prism itself (installed
by `make prism`, which `make test` runs when npm is present, into the ignored tests/.cache/), POSTs every body, and
expects no 422. A deliberately broken body must get a 422, so the validator is known to be on. Skips (saying how to
install Prism) when it is missing or does not start, and when ../shared/fixtures is absent; under CI=true a missing
or broken Prism fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.messages import FilePart, ImagePart, Message, TextPart, ToolCallPart, ToolResultPart
from playground.providers.base import ModelCall, ResponseFormat, ToolDefinition
from playground.providers.compatible import OpenAICompatibleProvider
from playground.providers.openai_chat import OpenAIChatProvider
from playground.settings import ModelSettings, NamedToolChoice

from .replay import REPO_ROOT, SKIP_REASON, SPECS

SPEC = SPECS / "openai-openapi__openapi.prism-patched.yaml"
INSTALL = REPO_ROOT / "scripts" / "install_prism.sh"
PRISM_BIN = REPO_ROOT / "tests" / ".cache" / "prism" / "node_modules" / ".bin" / "prism"

pytestmark = [pytest.mark.fixtures, pytest.mark.timeout(240)]

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
    strict=True,
)
CLOCK = ToolDefinition(name="now", description="The time", parameters={"type": "object", "properties": {}})


HOW_TO_INSTALL = (
    "Stoplight Prism is not installed: run `make prism` (or scripts/install_prism.sh), which needs Node.js and npm, "
    "to run these tests"
)


def _prism_binary() -> Path | None:
    """The Prism that `make prism` installed into the ignored tests/.cache/ (or one on PATH). Tests never install."""
    if PRISM_BIN.exists():
        return PRISM_BIN
    found = shutil.which("prism")
    return Path(found) if found else None


def _missing(reason: str) -> None:
    """Skip, saying why and how to fix it; under CI=true Prism must run, so fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the Prism tests must run)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(base: str, body: Any, path: str = "/chat/completions") -> tuple[int, str]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-test"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    if not SPEC.exists():
        pytest.skip(SKIP_REASON)
    binary = _prism_binary()
    if binary is None:
        _missing(HOW_TO_INSTALL)
        return
    port = _free_port()
    proc = subprocess.Popen(
        [str(binary), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150
        while True:
            if proc.poll() is not None:
                _missing(f"prism mock exited with status {proc.returncode} before listening")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    _missing("prism mock did not start listening within 150 s")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _tool_conversation() -> list[Message]:
    return [
        Message.system("You are terse."),
        Message.user("Weather in Paris?"),
        Message(
            role="assistant",
            content=[
                TextPart(text="Checking."),
                ToolCallPart(tool_call_id="call_1", tool_name="get_weather", args={"city": "Paris"}),
                ToolCallPart(tool_call_id="call_2", tool_name="now", args={}),
            ],
        ),
        Message(
            role="tool",
            content=[
                ToolResultPart(tool_call_id="call_1", tool_name="get_weather", result={"temp_c": 21}),
                ToolResultPart(tool_call_id="call_2", tool_name="now", result="12:00"),
            ],
        ),
    ]


def _bodies() -> dict[str, dict[str, Any]]:
    chat = OpenAIChatProvider("gpt-4.1-mini", api_key="sk-test")
    o3 = OpenAIChatProvider("o3-mini", api_key="sk-test")
    compatible = OpenAICompatibleProvider("qwen3", base_url="http://127.0.0.1:8000/v1")
    user = [Message.user("Hello")]
    calls: dict[str, tuple[Any, ModelCall]] = {
        "text": (chat, ModelCall("gpt-4.1-mini", user)),
        "system-and-name": (chat, ModelCall("gpt-4.1-mini", [Message.system("Be brief."), *user])),
        "tools-auto": (chat, ModelCall("gpt-4.1-mini", user, tools=[WEATHER, CLOCK])),
        "tools-required": (chat, ModelCall("gpt-4.1-mini", user, tools=[WEATHER], tool_choice="required")),
        "tools-none": (chat, ModelCall("gpt-4.1-mini", user, tools=[WEATHER], tool_choice="none")),
        "tools-named": (
            chat,
            ModelCall("gpt-4.1-mini", user, tools=[WEATHER], tool_choice=NamedToolChoice(tool_name="get_weather")),
        ),
        "tool-results": (chat, ModelCall("gpt-4.1-mini", _tool_conversation(), tools=[WEATHER, CLOCK])),
        "images": (
            chat,
            ModelCall(
                "gpt-4.1-mini",
                [
                    Message(
                        role="user",
                        content=[
                            TextPart(text="What is in these?"),
                            ImagePart(url="https://example.com/cat.png", detail="low"),
                            ImagePart(data=PNG_1PX, media_type="image/png"),
                        ],
                    )
                ],
            ),
        ),
        "file": (
            chat,
            ModelCall(
                "gpt-4.1-mini",
                [
                    Message(
                        role="user",
                        content=[
                            TextPart(text="Summarise"),
                            FilePart(data="JVBERi0xLjQK", media_type="application/pdf", filename="a.pdf"),
                        ],
                    )
                ],
            ),
        ),
        "settings": (
            chat,
            ModelCall(
                "gpt-4.1-mini",
                user,
                settings=ModelSettings(
                    temperature=0.3,
                    top_p=0.9,
                    max_output_tokens=200,
                    presence_penalty=0.5,
                    frequency_penalty=-0.5,
                    stop_sequences=["\n\n", "END"],
                    seed=7,
                ),
            ),
        ),
        "structured-output": (
            chat,
            ModelCall(
                "gpt-4.1-mini",
                user,
                response_format=ResponseFormat(
                    schema={
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                        "additionalProperties": False,
                    },
                    name="City",
                    description="A city",
                ),
            ),
        ),
        "stream": (chat, ModelCall("gpt-4.1-mini", user, stream=True)),
        "reasoning-model-settings": (
            o3,
            ModelCall("o3-mini", user, settings=ModelSettings(temperature=0.2, max_output_tokens=500)),
        ),
        "compatible-max-tokens": (
            compatible,
            ModelCall("qwen3", user, tools=[WEATHER], settings=ModelSettings(max_output_tokens=64, temperature=0.1)),
        ),
    }
    return {name: provider.build_request(call).json for name, (provider, call) in calls.items()}


BODIES = _bodies()


def test_prism_rejects_a_broken_body(prism: str) -> None:
    status, text = _post(prism, {"model": "gpt-4o", "messages": [{"role": "robot", "content": "hi"}]})
    assert status == 422, text[:300]


@pytest.mark.parametrize("name", sorted(BODIES))
def test_chat_completions_body_matches_the_official_schema(prism: str, name: str) -> None:
    status, text = _post(prism, BODIES[name])
    assert status != 422, f"{name}: {text[:1500]}"
    assert status < 400, f"{name}: HTTP {status}: {text[:500]}"


def test_bodies_cover_what_they_claim() -> None:
    """The bodies sent to Prism really contain the features they are named after."""
    assert BODIES["tool-results"]["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"temp_c": 21}',
    }
    assert BODIES["images"]["messages"][0]["content"][2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert BODIES["tools-named"]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert BODIES["structured-output"]["response_format"]["json_schema"]["name"] == "City"
    assert BODIES["settings"]["max_completion_tokens"] == 200 and BODIES["settings"]["stop"] == ["\n\n", "END"]
    assert "temperature" not in BODIES["reasoning-model-settings"]
    assert BODIES["compatible-max-tokens"]["max_tokens"] == 64


# -- how Prism gets here (issue 10): a make target, skipped without npm, required under CI -------------------------


def test_missing_prism_skips_saying_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"run `make prism` .* needs Node.js and npm"):
        _missing(HOW_TO_INSTALL)


def test_missing_prism_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: the Prism tests must run"):
        _missing(HOW_TO_INSTALL)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("npm", ["/usr/bin/npm", ""])
def test_make_test_installs_prism_only_when_npm_exists(npm: str, tmp_path: Path) -> None:
    missing = tmp_path / "prism"  # a Prism that is not installed yet
    out = subprocess.run(
        ["make", "-n", "test", f"NPM={npm}", f"PRISM={missing}", "UV=true"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert ("scripts/install_prism.sh" in out) is bool(npm)
    assert "-m pytest" in out
    assert str(INSTALL.relative_to(REPO_ROOT)) == "scripts/install_prism.sh"
