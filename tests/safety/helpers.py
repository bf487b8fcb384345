"""Shared set-up of the safety tests: a support agent whose `refund` tool needs approval, scripted model answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playground import Agent, tool
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-safety-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


def refund_tools(log: list[str]) -> list[Any]:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        log.append(f"refund {order_id}")
        return f"refunded {order_id}"

    @tool
    def lookup(order_id: str) -> str:
        """Look an order up."""
        log.append(f"lookup {order_id}")
        return f"order {order_id}: delivered"

    return [refund, lookup]


def support_agent(log: list[str], *answers: dict[str, Any], **kw: Any) -> Agent:
    kw.setdefault("tools", refund_tools(log))
    script = Scripted(*answers)
    return Agent(name="support", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)


def refund_call(call_id: str, order_id: str) -> dict[str, Any]:
    return completion(None, [(call_id, "refund", {"order_id": order_id})])


def pending_ids(result: Any) -> list[str]:
    assert result.finish_reason == "suspended" and result.suspend_payload is not None
    return [c.tool_call_id for c in result.suspend_payload.pending]


def agent_on(script: Scripted, log: list[str], **kw: Any) -> Agent:
    """A support agent answering from `script` (to read the requests it was sent)."""
    kw.setdefault("tools", refund_tools(log))
    return Agent(name="support", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)
