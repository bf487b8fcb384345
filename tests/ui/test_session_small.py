"""The smaller items of issue 17 (item 14) in PlaygroundSession, shared by both playgrounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from playground.ui.render import chat_messages, exchange_panels
from playground.ui.session import CompareColumn, PlaygroundSession, load_agents

AGENTS = Path(__file__).resolve().parents[2] / "agents"


@pytest.fixture
def session() -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("support")
    return s


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


async def test_invalid_edited_arguments_say_what_is_expected_in_words(session: PlaygroundSession) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await collect(session.approve(session.pending.tool_call_id, '{"order_id": 42, "amount": "x"}'))
    notice = session.notice or ""
    assert "order_id" in notice and "expected arguments: order_id (string, required)" in notice
    assert "{'" not in notice and "additionalProperties" not in notice  # no Python dict dump of the schema
    assert session.pending is not None  # still decidable


def test_unchecking_the_chosen_tool_is_no_error(session: PlaygroundSession) -> None:
    assert session.configure(tool_choice="refund") == []
    # what the page sends when the person unchecks refund: the new tools and the dropdown's old value together
    assert session.configure(active_tools=["lookup_order"], tool_choice="refund") == []
    assert session.tool_choice == "auto"
    assert "not an active tool" in session.configure(tool_choice="refund")[0]  # asked for on its own: an error


@pytest.mark.parametrize("value", ["1.5", 1.5, "two", "0"])
def test_max_steps_must_be_a_whole_number_in_range(session: PlaygroundSession, value: Any) -> None:
    problems = session.configure(max_steps=value)
    assert problems and problems[0].startswith("Max steps") and session.max_steps == 5


async def test_dropped_settings_are_said_below_the_reply(session: PlaygroundSession) -> None:
    session.set_settings({"top_k": 5})
    await collect(session.send("2+2"))
    text = json.dumps(chat_messages(session.exchanges)[0])
    assert "Warning:" in text and "top_k" in text and "not sent" in text


async def test_steps_are_numbered_one_by_one_across_an_approval(session: PlaygroundSession) -> None:
    await collect(session.send("look up order 42"))
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    await collect(session.approve(session.pending.tool_call_id))
    panels = exchange_panels(session.exchanges[-1])
    keys = list(json.loads(panels.raw_request))
    assert keys == [f"step {i}" for i in range(1, len(keys) + 1)] and len(keys) >= 2
    assert [r["step"] for r in panels.usage_rows] == list(range(1, len(keys) + 1))


async def test_compare_streams_as_chat_does(session: PlaygroundSession) -> None:
    session.set_agent("research")
    outcomes = await session.compare("What is RAG?", [CompareColumn(provider="demo")])
    assert outcomes[0].request is not None and outcomes[0].request["body"].get("stream") is True
    await collect(session.send("What is RAG?"))
    chat = session.exchanges[-1].result
    assert chat is not None and chat.steps[0].time_to_first_chunk_ms is not None  # both measured the same way


def test_chat_markdown_never_carries_live_html() -> None:
    """Item 9 at the view-model level: text outside code is escaped, images are not fetched, and a tool's arguments
    (model-controlled) cannot close their code fence to inject markup."""
    from playground.ui.render import Block, safe_markdown, tool_block_markdown

    shown = safe_markdown('<b>x</b> ![p](http://h/p.png) `<i>kept in code</i>`')
    assert "<b>" not in shown and "&lt;b&gt;" in shown and "![" not in shown and "`<i>kept in code</i>`" in shown
    block = Block("tool", args_text='{"x":\n"```\n<img src=x>"}', reason="<b>no</b>")
    md = tool_block_markdown(block)
    fence = md.split("\n")[1].removesuffix("json")
    assert len(fence) > 3 and md.count(fence) == 2  # the fence outlasts the backticks inside
    assert "<b>" not in md
