"""Multi-turn fidelity: the request we build for turn N carries what the API demands from turn N-1.

For every recorded conversation, turn N's recorded request is rebuilt with our adapter: its assistant turns are
replaced by what our adapter parsed from the recorded responses, its user turns and tool results are converted into
our Message types, and then the fields the API requires are compared with the recorded request: tool call ids,
names and arguments, tool results and the ids they answer, Anthropic thinking blocks with their signatures,
Gemini thought signatures, and Responses reasoning items.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from playground.messages import Message, TextPart, ToolResultPart
from playground.providers.base import ModelCall, ToolDefinition

from .conformance_cases import provider_for, replay
from .replay import fixture, load, needs_fixtures

pytestmark = [pytest.mark.fixtures, needs_fixtures]

Projection = list[tuple[Any, ...]]


def _sig(value: str | None) -> str | None:
    """A signature in one base64 alphabet (pydantic-ai re-encodes Gemini's as URL-safe), padding stripped."""
    if value is None:
        return None
    return (
        base64.b64encode(base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_") + "=="))
        .decode()
        .rstrip("=")
    )


def _args(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw


# -- projections: the fields each API requires on the next turn, in order ---------------------------------------------


def project_chat(body: dict[str, Any]) -> Projection:
    out: Projection = []
    for m in body["messages"]:
        for tc in m.get("tool_calls") or ():
            out.append(("call", tc["id"], tc["function"]["name"], _args(tc["function"]["arguments"])))
        if m["role"] == "tool":
            out.append(("result", m["tool_call_id"], m["content"]))
        elif m["role"] in ("user", "system"):
            out.append((m["role"], m["content"]))
    return out


def project_responses(body: dict[str, Any]) -> Projection:
    out: Projection = []
    for item in body["input"]:
        kind = item.get("type")
        if kind == "function_call":
            out.append(("call", item["call_id"], item["name"], _args(item["arguments"])))
        elif kind == "function_call_output":
            out.append(("result", item["call_id"], item["output"]))
        elif kind == "reasoning":
            out.append(("reasoning", item["id"], item.get("encrypted_content")))
        elif item.get("role") == "user":
            out.append(("user", item["content"]))
        elif item.get("role") == "assistant" or kind == "message":
            content = item["content"]
            text = content if isinstance(content, str) else "".join(c.get("text", "") for c in content)
            out.append(("assistant-text", text))
    return out


def project_anthropic(body: dict[str, Any]) -> Projection:
    out: Projection = []
    for m in body["messages"]:
        text = ""
        for b in m["content"]:
            kind = b["type"]
            if kind == "thinking":
                out.append(("thinking", b["thinking"], b["signature"]))
            elif kind == "redacted_thinking":
                out.append(("redacted", b["data"]))
            elif kind == "tool_use":
                out.append(("tool_use", b["id"], b["name"], b["input"]))
            elif kind == "tool_result":
                out.append(("tool_result", b["tool_use_id"], b["content"]))
            elif kind == "text":
                text += b["text"]
        if text.strip():
            out.append((m["role"], text.strip()))
    return out


def project_gemini(body: dict[str, Any]) -> Projection:
    """Function calls with their signatures, function responses by name, signed text, user text.

    Thought text itself is optional on the way back (ruby_llm drops it, pydantic-ai keeps it), so it is not compared.
    """
    out: Projection = []
    for c in body["contents"]:
        for p in c["parts"]:
            if "functionCall" in p:
                fc = p["functionCall"]
                out.append(("call", fc["name"], fc["args"], _sig(p.get("thoughtSignature"))))
            elif "functionResponse" in p:
                out.append(("response", p["functionResponse"]["name"]))
            elif p.get("thought"):
                continue
            elif c["role"] == "user":
                out.append(("user", p["text"]))
            elif p.get("text") or p.get("thoughtSignature"):
                out.append(("model-text", p.get("text", "").strip(), _sig(p.get("thoughtSignature"))))
    return out


# -- rebuilding a recorded request from our own parsed turns ----------------------------------------------------------


def _chat_messages(body: dict[str, Any], assistant: Callable[[], Message]) -> list[Message]:
    out: list[Message] = []
    prev_assistant = False
    for m in body["messages"]:
        role = m["role"]
        if role == "assistant":
            if not prev_assistant:  # llm sends one turn as two assistant messages
                out.append(assistant())
        elif role == "tool":
            out.append(
                Message(
                    role="tool",
                    content=[ToolResultPart(tool_call_id=m["tool_call_id"], tool_name="", result=m["content"])],
                )
            )
        else:
            out.append(Message(role=role if role != "developer" else "system", content=[TextPart(text=m["content"])]))
        prev_assistant = role == "assistant"
    return out


def _responses_messages(body: dict[str, Any], assistant: Callable[[], Message]) -> list[Message]:
    out: list[Message] = []
    prev_assistant = False
    for item in body["input"]:
        kind = item.get("type")
        if kind == "function_call_output":
            out.append(
                Message(
                    role="tool",
                    content=[ToolResultPart(tool_call_id=item["call_id"], tool_name="", result=item["output"])],
                )
            )
            prev_assistant = False
        elif item.get("role") == "user":
            out.append(Message.user(item["content"]))
            prev_assistant = False
        else:  # function_call, reasoning, web_search_call, assistant message: one assistant turn
            if not prev_assistant:
                out.append(assistant())
            prev_assistant = True
    return out


def _anthropic_messages(body: dict[str, Any], assistant: Callable[[], Message]) -> list[Message]:
    out: list[Message] = []
    for m in body["messages"]:
        if m["role"] == "assistant":
            out.append(assistant())
            continue
        parts: list[Any] = []
        for b in m["content"]:
            if b["type"] == "text":
                parts.append(TextPart(text=b["text"]))
            elif b["type"] == "tool_result":
                parts.append(ToolResultPart(tool_call_id=b["tool_use_id"], tool_name="", result=b["content"]))
        out.append(Message(role="user", content=parts))
    return out


def _gemini_messages(body: dict[str, Any], assistant: Callable[[], Message]) -> list[Message]:
    out: list[Message] = []
    last: Message | None = None
    for c in body["contents"]:
        if c["role"] == "model":
            last = assistant()
            out.append(last)
            continue
        parts: list[Any] = []
        for p in c["parts"]:
            if "functionResponse" in p:
                fr = p["functionResponse"]
                call = next(t for t in (last.tool_calls if last else []) if t.tool_name == fr["name"])
                parts.append(
                    ToolResultPart(tool_call_id=call.tool_call_id, tool_name=fr["name"], result=fr["response"])
                )
            else:
                parts.append(TextPart(text=p["text"]))
        out.append(Message(role="user", content=parts))
    return out


PROTOCOLS: dict[str, tuple[Callable[[dict[str, Any]], Projection], Callable[..., list[Message]]]] = {
    "openai_chat": (project_chat, _chat_messages),
    "openai_compat_local": (project_chat, _chat_messages),
    "openai_responses": (project_responses, _responses_messages),
    "anthropic": (project_anthropic, _anthropic_messages),
    "gemini": (project_gemini, _gemini_messages),
}

CONVERSATIONS = [
    "openai_chat/llm__test_tool_use_basic.yaml",
    "openai_chat/pydantic-ai__test_complex_agent_run.yaml",
    "openai_chat/pydantic-ai__test_temporal_agent_with_hitl_tool.yaml",
    "openai_compat_local/activeagent__test_agent_common_format_multiple_tools.yml",
    "openai_compat_local/llm__test_tools_streaming_variant_a.yaml",
    "openai_responses/llm__test_responses_tool_use_streaming.yaml",
    "openai_responses/ruby_llm__chat_web_search_with_openai_gpt-5_2_searches_and_records_the_tool_call_items.yml",
    "anthropic/llm-anthropic__test_tools.yaml",
    "anthropic/pydantic-ai__test_anthropic_web_search_tool.yaml",
    "gemini/pydantic-ai__test_google_model_thinking_part.yaml",
    "gemini/ruby_llm__chat_function_calling_gemini_gemini-2_5-flash_can_use_tools_with_multi-turn_streaming_conversations.yml",
    "gemini/ruby_llm__chat_function_calling_thought_signatures_gemini_gemini-3_1-pro-preview_includes_thought_signatures_for_tool_calls.yml",
]


def _turns(rel: str) -> list[tuple[str, int]]:
    path = fixture(rel)
    return [(rel, n) for n in range(1, len(load(path)))] if path.exists() else [(rel, 1)]


def _system_and_tools(folder: str, body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition]]:
    system: list[Message] = []
    if isinstance(body.get("system"), str):
        system.append(Message.system(body["system"]))
    if isinstance(body.get("instructions"), str):
        system.append(Message.system(body["instructions"]))
    for part in (body.get("systemInstruction") or {}).get("parts") or ():
        system.append(Message.system(part["text"]))
    tools = [ToolDefinition(name="t", description="", parameters={"type": "object"})] if body.get("tools") else []
    return system, tools


@pytest.mark.parametrize(("rel", "turn"), [c for rel in CONVERSATIONS for c in _turns(rel)], ids=lambda v: str(v))
def test_next_turn_request_carries_what_the_api_requires(rel: str, turn: int) -> None:
    path: Path = fixture(rel)
    interactions = load(path)
    folder = path.parent.name
    project, rebuild = PROTOCOLS[folder]
    parsed = iter([replay(path, interactions[k]).response.message() for k in range(turn)])
    recorded = interactions[turn].request_json
    messages = rebuild(recorded, lambda: next(parsed))
    system, tools = _system_and_tools(folder, recorded)
    provider = provider_for(path, interactions[turn])
    spec = provider.build_request(ModelCall(provider.model, system + messages, tools=tools))
    ours, theirs = project(spec.json), project(recorded)
    assert ours == theirs
    assert any(
        entry[0] in ("call", "tool_use", "thinking", "reasoning", "model-text", "assistant-text", "assistant")
        for entry in theirs
    ), "the conversation must carry an earlier model turn"


def test_gemini_text_signature_survives_a_round_trip() -> None:
    """A signature Gemini puts on a text part goes back on that text part, not as a thought."""
    rel = "gemini/pydantic-ai__test_google_model_thinking_part.yaml"
    path = fixture(rel)
    first = replay(path, load(path)[0]).response
    provider = provider_for(path, load(path)[0])
    body = provider.build_request(ModelCall(provider.model, [Message.user("q"), first.message()])).json
    model_parts = body["contents"][1]["parts"]
    assert model_parts[0]["thought"] is True and "thoughtSignature" not in model_parts[0]
    assert model_parts[1]["text"].startswith("Crossing the street safely")
    assert model_parts[1]["thoughtSignature"].startswith("EqoeCqceAdHtim+c")


def test_responses_reasoning_item_is_handed_back_with_encrypted_content() -> None:
    rel = "openai_responses/pydantic-ai__test_reasoning_summary_auto.yaml"
    path = fixture(rel)
    first = replay(path, load(path)[0]).response
    provider = provider_for(path, load(path)[0])
    body = provider.build_request(
        ModelCall(provider.model, [Message.user("q"), first.message(), Message.user("more")])
    ).json
    item = body["input"][1]
    assert item["type"] == "reasoning"
    assert item["id"] == "rs_0b028a7a2aca8d68006942f4e0d380819398dfa502c33bce7b"
    assert item["encrypted_content"].startswith("gAAAAABpQvTkJZft62qJKaLhBDFWROAOkMdI5z2GwcO3X4M8u9DV4b2Y")
    assert item["summary"][0]["text"].startswith("**Generating factorial function**")
    assert body["input"][2]["role"] == "assistant" and "def factorial" in body["input"][2]["content"]
