"""A tool that fails is marked as failed in the conversation the model reads next, whether it ran at once or after an
approval (providers that carry the flag, such as Anthropic's `is_error`, send it on)."""

from __future__ import annotations

from typing import Any

from playground import tool
from tests.safety.helpers import agent_on
from tests.scripted import Scripted, completion


def tool_parts(messages: list[Any]) -> list[tuple[str, Any, bool]]:
    return [(p.tool_call_id, p.result, p.is_error) for m in messages if m.role == "tool" for p in m.content]


def test_failed_and_successful_tools_are_told_apart_in_the_conversation() -> None:
    @tool
    def lookup(order_id: str) -> str:
        """Look an order up."""
        if order_id == "missing":
            raise ValueError("no such order")
        return f"order {order_id}"

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        if order_id == "2":
            raise RuntimeError("bank unreachable")
        return f"refunded {order_id}"

    script = Scripted(
        completion(None, [("c1", "lookup", {"order_id": "missing"}), ("c2", "lookup", {"order_id": "7"})]),
        completion(None, [("c3", "refund", {"order_id": "2"}), ("c4", "refund", {"order_id": "7"})]),
        completion("Refunded 7 only."),
    )
    agent = agent_on(script, [], tools=[lookup, refund])
    result = agent.generate("look up and refund")
    assert [(p[0], p[2]) for p in tool_parts(result.messages)] == [("c1", True), ("c2", False)]
    assert "no such order" in str(tool_parts(result.messages)[0][1])
    agent.approve_tool_call(result.run_id, "c3")
    final = agent.approve_tool_call(result.run_id, "c4")
    assert final.text.strip() == "Refunded 7 only."
    parts = tool_parts(final.messages)
    assert [(p[0], p[2]) for p in parts] == [("c1", True), ("c2", False), ("c3", True), ("c4", False)]
    assert "bank unreachable" in str(parts[2][1]) and parts[3][1] == "refunded 7"


def test_the_models_error_is_raised_even_when_the_store_cannot_record_the_failure() -> None:
    """After an approval, the model call fails and the store then fails too: the person sees the model's error (with
    the tool's result on it), not the store's."""
    from playground import InMemoryRunStore, ProviderError, RunState, StorageError
    from tests.safety.helpers import refund_call, support_agent

    class BrokenAfterwards(InMemoryRunStore):
        def save(self, state: RunState) -> None:
            if state.status == "failed":
                raise StorageError("disk full", path="nowhere")
            super().save(state)

    store = BrokenAfterwards()
    log: list[str] = []
    run_id = support_agent(log, refund_call("c1", "42"), storage=store).generate("refund 42").run_id
    failing = agent_on(Scripted((400, {"error": {"message": "bad request", "code": "bad"}})), log, storage=store)
    try:
        failing.approve_tool_call(run_id, "c1")
    except ProviderError as exc:
        assert "bad request" in str(exc)
        assert exc.result.tool_results[0].result == "refunded 42"  # type: ignore[attr-defined]
    else:
        raise AssertionError("the model's error was not raised")
    assert log == ["refund 42"]
