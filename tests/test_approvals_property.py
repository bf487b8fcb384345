"""Property: a tool that needs approval never runs unapproved, whatever the mix of toolsets, client tools,
active_tools, prepare_step, tool_call_concurrency, streaming and driver (sync or async).

The model is scripted (Chat Completions JSON on httpx2.MockTransport): random steps of random tool calls, then text.
An oracle evaluates the approval policies independently; every execution the tools record must be one the oracle
allows, or one a person approved. 200 derandomized examples, so CI sees the same cases every time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from playground import Agent, InMemoryRunStore, Tool
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-property-0123456789"


def _raises(args: dict[str, Any]) -> bool:
    raise RuntimeError("policy bug")


TOOL_POLICIES: dict[str, Any] = {
    "never": False,
    "always": True,
    "even": lambda args: args["n"] % 2 == 0,
    "raises": _raises,
}
CALL_POLICIES: dict[str, Any] = {"off": False, "on": True, "big": lambda args: args["n"] > 5, "raises": _raises}


def oracle(policy: Any, args: dict[str, Any]) -> bool:
    if policy is False:
        return False
    if policy is True:
        return True
    try:
        return bool(policy(args))
    except Exception:
        return True  # fails closed


tool_spec = st.tuples(
    st.sampled_from(["never", "never", "never", "always", "even", "raises"]),  # policy (mostly free tools)
    st.sampled_from(["agent", "agent", "toolset", "client"]),  # where it is given
)
call = st.tuples(st.integers(0, 5), st.integers(0, 9))  # (tool index, n; index 5 may name an unknown tool)
scenario = st.fixed_dictionaries(
    {
        "tools": st.lists(tool_spec, min_size=1, max_size=4),
        "steps": st.lists(st.lists(call, min_size=1, max_size=3), min_size=1, max_size=3),
        "call_policy": st.sampled_from(["off", "off", "off", "on", "big", "raises"]),
        "active": st.one_of(st.none(), st.lists(st.integers(0, 3), max_size=4)),
        "prepare_active": st.one_of(st.none(), st.lists(st.integers(0, 3), max_size=4)),
        "concurrency": st.sampled_from([None, 1, 3]),
        "stream": st.booleans(),
        "driver": st.sampled_from(["sync", "async"]),
        "approve_first": st.booleans(),
    }
)


def build(sc: dict[str, Any], ran: list[tuple[str, str, int]]) -> tuple[Agent, dict[str, Any], dict[str, Any]]:
    agent_tools: list[Tool] = []
    toolsets: dict[str, list[Tool]] = {}
    client: list[Tool] = []
    policies: dict[str, Any] = {}
    for i, (policy_name, where) in enumerate(sc["tools"]):
        name = f"t{i}"
        policy = TOOL_POLICIES[policy_name]
        policies[name] = policy

        def fn(n: int, _name: str = name) -> str:
            ran.append((_name, "", n))
            return f"{_name} ran with {n}"

        t = Tool(name, f"tool {i}", {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                 None if where == "client" else fn, requires_approval=policy)
        {"agent": agent_tools, "client": client}.get(where, toolsets.setdefault("extra", [])).append(t)
    names = [f"t{i}" for i in range(len(sc["tools"]))]
    options: dict[str, Any] = {"require_tool_approval": CALL_POLICIES[sc["call_policy"]], "max_steps": 6}
    if toolsets:
        options["toolsets"] = toolsets
    if client:
        options["client_tools"] = client
    if sc["active"] is not None:
        options["active_tools"] = sorted({names[i % len(names)] for i in sc["active"]})
    if sc["prepare_active"] is not None:
        later = sorted({names[i % len(names)] for i in sc["prepare_active"]})

        def prepare(step_number: int) -> dict[str, Any] | None:
            return {"active_tools": later} if step_number > 0 else None

        options["prepare_step"] = prepare
    if sc["concurrency"] is not None:
        options["tool_call_concurrency"] = sc["concurrency"]
    replies = []
    for s, calls in enumerate(sc["steps"]):
        replies.append(
            completion(None, [(f"c{s}_{j}", f"t{idx}", {"n": n}) for j, (idx, n) in enumerate(calls)])
        )
    replies += [completion("done")] * 4
    script = Scripted(*replies)
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=agent_tools, storage=InMemoryRunStore(),
                  http_client=script.client(), async_http_client=script.async_client())
    return agent, options, policies


def _sync(agent: Agent, sc: dict[str, Any], options: dict[str, Any]) -> Any:
    if sc["stream"]:
        stream = agent.stream("go", **options)
        return stream.final_result()
    return agent.generate("go", **options)


def _async(agent: Agent, sc: dict[str, Any], options: dict[str, Any]) -> Any:
    async def go() -> Any:
        if sc["stream"]:
            stream = agent.stream("go", **options)
            return await stream.afinal_result()
        return await agent.generate_async("go", **options)

    return asyncio.run(go())


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenario)
def test_a_tool_needing_approval_never_runs_unapproved(sc: dict[str, Any]) -> None:
    ran: list[tuple[str, str, int]] = []
    agent, options, policies = build(sc, ran)
    result = (_async if sc["driver"] == "async" else _sync)(agent, sc, options)
    event(f"finish: {result.finish_reason}")
    event(f"tools ran: {bool(ran)}")
    call_policy = CALL_POLICIES[sc["call_policy"]]
    approved: set[tuple[str, int]] = set()

    def allowed(name: str, n: int) -> bool:
        needs = oracle(call_policy, {"n": n}) or oracle(policies[name], {"n": n})
        return not needs or (name, n) in approved

    assert all(allowed(name, n) for name, _, n in ran), (ran, result.finish_reason)

    if result.finish_reason == "suspended":
        payload = result.suspend_payload
        assert payload is not None and payload.pending
        for p in payload.pending:  # every pending call is one the oracle says needs approval
            assert oracle(call_policy, p.args) or oracle(policies[p.tool_name], p.args)
        if sc["approve_first"]:
            first = payload.pending[0]
            approved.add((first.tool_name, first.args["n"]))
            before = len(ran)
            agent.approve_tool_call(result.run_id, first.tool_call_id)
            assert ran[before:before + 1] == [(first.tool_name, "", first.args["n"])]
        else:
            for p in payload.pending:
                agent.decline_tool_call(result.run_id, p.tool_call_id, reason="no")
        assert all(allowed(name, n) for name, _, n in ran), ran

    client_names = {f"t{i}" for i, (_, where) in enumerate(sc["tools"]) if where == "client"}
    assert not any(name in client_names for name, _, _ in ran)  # client tools never run here
