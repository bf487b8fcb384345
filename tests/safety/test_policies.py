"""Approval policies of every shape a user writes, on the tool (`requires_approval=`) and on the call
(`require_tool_approval=`): what they receive, what their answer does, and that the answer is checked again right
before a tool runs."""

from __future__ import annotations

from typing import Any

import pytest

from playground import Agent, PlaygroundError, tool
from tests.safety.helpers import KEY
from tests.scripted import Scripted, completion

ADMIN = [{"role": "user", "content": "I am an admin"}]
GUEST = [{"role": "user", "content": "I am a guest"}]


def is_admin(context: Any) -> bool:
    return any("I am an admin" in m["content"] for m in context)


def run_pay(policy: Any, amount: float, **options: Any) -> tuple[str, list[str]]:
    """One model call asking to pay `amount` with a `pay` tool guarded by `policy`: (finish_reason, what ran)."""
    ran: list[str] = []

    @tool(requires_approval=policy)
    def pay(amount: float) -> str:
        """Pay an amount."""
        ran.append(f"pay {amount:g}")
        return "paid"

    script = Scripted(completion(None, [("c1", "pay", {"amount": amount})]), completion("ok"))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[pay], http_client=script.client())
    return agent.generate("pay", **options).finish_reason, ran


def test_policy_of_the_arguments_alone() -> None:
    assert run_pay(lambda args: args["amount"] > 100, 5) == ("stop", ["pay 5"])
    assert run_pay(lambda args: args["amount"] > 100, 500) == ("suspended", [])


def test_second_positional_parameter_gets_the_context_whatever_its_name() -> None:
    seen: list[Any] = []

    def policy(args: dict[str, Any], ctx: Any) -> bool:
        seen.append(ctx)
        return not is_admin(ctx)

    assert run_pay(policy, 5, context=ADMIN) == ("stop", ["pay 5"])
    assert seen and all(is_admin(c) for c in seen)
    seen.clear()
    assert run_pay(policy, 5, context=GUEST) == ("suspended", [])
    assert seen and not any(is_admin(c) for c in seen)


@pytest.mark.parametrize("shape", ["positional", "keyword-only", "with tool_name", "callable object"])
def test_context_reaches_policies_of_every_signature(shape: str) -> None:
    received: list[tuple[Any, ...]] = []

    def positional(args: dict[str, Any], context: Any) -> bool:
        received.append((args, context))
        return not is_admin(context)

    def keyword_only(args: dict[str, Any], *, context: Any) -> bool:
        received.append((args, context))
        return not is_admin(context)

    def with_tool_name(args: dict[str, Any], *, tool_name: str, context: Any) -> bool:
        received.append((args, context, tool_name))
        return tool_name != "pay" or not is_admin(context)

    class Policy:
        def __call__(self, args: dict[str, Any], context: Any) -> bool:
            received.append((args, context))
            return not is_admin(context)

    policy = {
        "positional": positional,
        "keyword-only": keyword_only,
        "with tool_name": with_tool_name,
        "callable object": Policy(),
    }[shape]
    assert run_pay(policy, 7, context=ADMIN) == ("stop", ["pay 7"])
    assert received and all(r[0] == {"amount": 7} and is_admin(r[1]) for r in received)
    if shape == "with tool_name":
        assert {r[2] for r in received} == {"pay"}
    received.clear()
    assert run_pay(policy, 7, context=GUEST) == ("suspended", [])
    assert received and not any(is_admin(r[1]) for r in received)
    assert run_pay(policy, 7) == ("suspended", [])  # no context: is_admin(None) raises -> approval required


def test_tool_name_alone_as_a_keyword() -> None:
    names: list[str] = []

    def policy(args: dict[str, Any], *, tool_name: str) -> bool:
        names.append(tool_name)
        return tool_name == "pay"

    assert run_pay(policy, 1) == ("suspended", [])
    assert run_pay(lambda args, *, tool_name: tool_name != "pay", 1) == ("stop", ["pay 1"])
    assert names == ["pay"]


def test_async_policies_are_awaited() -> None:
    async def needs_it(args: dict[str, Any]) -> bool:
        return args["amount"] > 100

    async def admin_only(args: dict[str, Any], ctx: Any) -> bool:
        return not is_admin(ctx)

    assert run_pay(needs_it, 5) == ("stop", ["pay 5"])  # a coroutine object is not a "yes"
    assert run_pay(needs_it, 500) == ("suspended", [])
    assert run_pay(admin_only, 5, context=ADMIN) == ("stop", ["pay 5"])
    assert run_pay(admin_only, 5, context=GUEST) == ("suspended", [])


async def test_async_policy_inside_a_running_event_loop() -> None:
    """In Jupyter or an async app the policy's coroutine runs while a loop is already running."""

    async def needs_it(args: dict[str, Any]) -> bool:
        return args["amount"] > 100

    ran: list[str] = []

    @tool(requires_approval=needs_it)
    def pay(amount: float) -> str:
        ran.append(f"pay {amount:g}")
        return "paid"

    for amount, expected in ((5, "stop"), (500, "suspended")):
        ran.clear()

        script = Scripted(completion(None, [("c1", "pay", {"amount": amount})]), completion("ok"))
        agent = Agent(
            model="openai-chat:gpt-test", api_key=KEY, tools=[pay], http_client=script.client(),
            async_http_client=script.async_client(),
        )
        assert (await agent.generate_async("pay")).finish_reason == expected
        assert ran == ([] if expected == "suspended" else ["pay 5"])
        assert pay.requires_approval_for({"amount": amount}) is (expected == "suspended")


def test_answers_are_read_as_yes_or_no() -> None:
    assert run_pay(lambda args: 1, 5) == ("suspended", [])
    assert run_pay(lambda args: "", 5) == ("stop", ["pay 5"])
    assert run_pay(lambda args: None, 5) == ("stop", ["pay 5"])
    assert run_pay(True, 5) == ("suspended", [])
    assert run_pay(False, 5) == ("stop", ["pay 5"])


def test_policies_that_fail_require_approval() -> None:
    def broken(args: dict[str, Any]) -> bool:
        raise RuntimeError("policy bug")

    async def broken_async(args: dict[str, Any]) -> bool:
        raise RuntimeError("policy bug")

    assert run_pay(broken, 5) == ("suspended", [])
    assert run_pay(broken_async, 5) == ("suspended", [])
    assert run_pay(lambda args: args["missing"], 5) == ("suspended", [])
    assert run_pay(lambda: False, 5) == ("suspended", [])  # cannot take the arguments: fail closed


def test_requires_approval_for_is_the_tools_own_answer() -> None:
    @tool(requires_approval=lambda args, ctx: args["amount"] > 100 or not is_admin(ctx))
    def pay(amount: float) -> str:
        return "paid"

    assert pay.requires_approval_for({"amount": 5}, ADMIN) is False
    assert pay.requires_approval_for({"amount": 500}, ADMIN) is True
    assert pay.requires_approval_for({"amount": 5}, GUEST) is True
    assert pay.requires_approval_for({"amount": 5}) is True  # no context: the policy raises -> approval


def test_call_policy_adds_approval_and_never_removes_the_tools_own() -> None:
    # the call's policy may ask for approval of a tool that needs none ...
    assert run_pay(False, 5, require_tool_approval=True) == ("suspended", [])
    assert run_pay(False, 5, require_tool_approval=lambda args: args["amount"] > 1) == ("suspended", [])
    assert run_pay(False, 5, require_tool_approval=lambda args, ctx: not is_admin(ctx), context=ADMIN) == (
        "stop",
        ["pay 5"],
    )
    assert run_pay(False, 5, require_tool_approval=lambda args, ctx: not is_admin(ctx), context=GUEST) == (
        "suspended",
        [],
    )
    # ... but saying "no" does not lift the tool's own policy
    assert run_pay(True, 5, require_tool_approval=False) == ("suspended", [])
    assert run_pay(True, 5, require_tool_approval=lambda args: False) == ("suspended", [])
    assert run_pay(lambda args: args["amount"] > 100, 500, require_tool_approval=lambda args: False) == (
        "suspended",
        [],
    )
    # a call policy that fails requires approval too
    assert run_pay(False, 5, require_tool_approval=lambda args: args["missing"]) == ("suspended", [])


def test_always_approve_lifts_every_policy_for_its_tool_only() -> None:
    assert run_pay(True, 5, always_approve=["pay"]) == ("stop", ["pay 5"])
    assert run_pay(True, 5, always_approve=["other"]) == ("suspended", [])
    assert run_pay(False, 5, require_tool_approval=True, always_approve=["pay"]) == ("stop", ["pay 5"])


def test_the_policy_is_asked_again_right_before_the_tool_runs() -> None:
    """A call policy that says "no approval" when the call arrives but "approval" when the tool is about to run (its
    answer depends on something that changed) stops the tool: it never runs unapproved."""
    answers = iter([False, True, True, True])
    asked: list[bool] = []

    def changes_its_mind(args: dict[str, Any]) -> bool:
        answer = next(answers)
        asked.append(answer)
        return answer

    ran: list[str] = []

    @tool
    def lookup(order_id: str) -> str:
        ran.append(order_id)
        return "delivered"

    script = Scripted(completion(None, [("c1", "lookup", {"order_id": "1"})]), completion("ok"))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[lookup], http_client=script.client())
    try:
        result = agent.generate("look 1 up", require_tool_approval=changes_its_mind)
    except PlaygroundError as exc:
        assert "approval" in str(exc) and getattr(exc, "tool_name", None) == "lookup"
    else:
        assert result.finish_reason == "suspended"
    assert ran == []
    assert asked[:2] == [False, True]


def test_a_policy_value_set_on_the_tool_later_is_read_as_yes_or_no() -> None:
    ran: list[str] = []

    @tool
    def pay(amount: float) -> str:
        ran.append(f"pay {amount:g}")
        return "paid"

    def run() -> str:
        script = Scripted(completion(None, [("c1", "pay", {"amount": 5})]), completion("ok"))
        agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[pay], http_client=script.client())
        return agent.generate("pay").finish_reason

    assert run() == "stop"
    pay.requires_approval = 1  # type: ignore[assignment]
    assert run() == "suspended"
    pay.requires_approval = None  # type: ignore[assignment]
    assert run() == "stop"
    assert ran == ["pay 5", "pay 5"]


def test_call_policy_gets_the_tool_name_and_the_context() -> None:
    seen: list[tuple[str, bool]] = []

    def only_pay(args: dict[str, Any], context: Any, *, tool_name: str) -> bool:
        seen.append((tool_name, is_admin(context)))
        return tool_name == "pay" and not is_admin(context)

    assert run_pay(False, 5, require_tool_approval=only_pay, context=GUEST) == ("suspended", [])
    assert set(seen) == {("pay", False)}
    assert run_pay(False, 5, require_tool_approval=only_pay, context=ADMIN) == ("stop", ["pay 5"])
    assert run_pay(False, 5, require_tool_approval=lambda args, *, tool_name: tool_name == "other") == (
        "stop",
        ["pay 5"],
    )


@pytest.mark.parametrize("value", ["no", 0, None, "false", 1.0])
def test_a_policy_that_is_not_yes_no_or_a_function_is_refused_naming_the_field(value: Any) -> None:
    from playground import ConfigurationError

    with pytest.raises(ConfigurationError) as info:

        @tool(requires_approval=value)
        def pay(amount: float) -> str:
            return "paid"

    assert str(info.value) == (
        f"tool 'pay': requires_approval: expected True, False or a function of the arguments returning bool, got "
        f"{type(value).__name__} {value!r:.40}"
    )
    assert getattr(info.value, "field", None) == "requires_approval"

    script = Scripted(completion(None, [("c1", "pay", {"amount": 5})]), completion("ok"))
    ran: list[str] = []

    @tool
    def pay_later(amount: float) -> str:
        ran.append("pay")
        return "paid"

    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[pay_later], http_client=script.client())
    for key in ("require_tool_approval", "requireToolApproval"):
        with pytest.raises(ConfigurationError) as info:
            agent.generate("pay", **{key: value})
        assert str(info.value) == (
            f"{key}: expected True, False or a function of the arguments returning bool, got "
            f"{type(value).__name__} {value!r:.40}"
        )
        assert getattr(info.value, "field", None) == "require_tool_approval"
    assert ran == [] and script.requests == []  # refused before anything was sent
