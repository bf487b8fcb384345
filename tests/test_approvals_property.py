"""Property: a tool that needs approval never runs unapproved, whatever the mix of toolsets, client tools,
active_tools, prepare_step, tool_call_concurrency, streaming and driver (sync or async).

The model is scripted (Chat Completions JSON on httpx2.MockTransport): random steps of random tool calls, then text.
An oracle evaluates the approval policies independently; every execution the tools record must be one the oracle
allows, or one a person approved. 200 derandomized examples, so CI sees the same cases every time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from playground import Agent, ApprovalError, InMemoryRunStore, OptionsError, Tool
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-property-0123456789"
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


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


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=SUPPRESSED)
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


# ----------------------------------------------------------------------------------------------------------------
# The same claim against what an attacker or an unlucky user brings: ids from the model that are empty or reused,
# a run_id that is already stored, Mastra-shaped dict tools, NaN and infinities in arguments, several approvers at
# once, and a process that dies while an approved tool runs.


class Crash(BaseException):
    """A kill, as seen from inside the tool: nothing catches it."""


NON_FINITE = [float("nan"), float("inf"), float("-inf")]
NUMBER_SCHEMA = {"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"]}
HARD_TOOL_POLICIES: dict[str, Any] = {
    "never": False,
    "always": True,
    "big": lambda args: args["n"] > 5,  # NaN > 5 is False: a non-finite number must not slip past it
    "raises": _raises,
}


def finite(n: Any) -> bool:
    return isinstance(n, int | float) and n == n and n not in (float("inf"), float("-inf"))


hard_call = st.tuples(
    st.integers(0, 4),  # tool index (4 may name an unknown tool)
    st.one_of(st.integers(0, 9), st.sampled_from(NON_FINITE)),
    st.sampled_from(["uniq", "uniq", "empty", "dup", "first"]),  # the id the model sends
)
hard_scenario = st.fixed_dictionaries(
    {
        "tools": st.lists(
            st.tuples(
                st.sampled_from(["never", "always", "always", "big", "raises"]),
                st.sampled_from(["agent", "dict_camel", "dict_snake", "toolset", "client"]),
            ),
            min_size=1,
            max_size=4,
        ),
        "steps": st.lists(st.lists(hard_call, min_size=1, max_size=3), min_size=1, max_size=3),
        "call_policy": st.sampled_from(["off", "on", "big"]),
        "stream": st.booleans(),
        "driver": st.sampled_from(["sync", "async"]),
        "reuse_run_id": st.sampled_from([False] * 7 + [True]),
        "approver": st.sampled_from(["crash_retry", "concurrent", "crash_decline", "decline", "wire_id", "first"]),
    }
)


class World:
    """Tools that record every execution, the approvals a person gave, and the oracle's verdict."""

    def __init__(self, sc: dict[str, Any]) -> None:
        self.sc = sc
        self.ran: list[tuple[str, Any]] = []
        self.crash_next: list[str] = []
        self.policies: dict[str, Any] = {}
        self.approved: dict[str, tuple[str, Any]] = {}  # our call id -> (tool, n), one entry per approval given
        self.retries: list[tuple[str, Any]] = []
        self.call_policy = {"off": False, "on": True, "big": HARD_TOOL_POLICIES["big"]}[sc["call_policy"]]

    def fn(self, name: str) -> Any:
        def run(n: float) -> str:
            if self.crash_next and self.crash_next[0] == name:
                self.crash_next.pop()
                self.ran.append((name, n))
                raise Crash()
            self.ran.append((name, n))
            return f"{name} ran with {n}"

        return run

    def needs(self, name: str, n: Any) -> bool:
        return oracle(self.call_policy, {"n": n}) or oracle(self.policies[name], {"n": n})

    def check(self) -> None:
        """0 unapproved runs: no non-finite argument ever ran; a guarded call ran only as often as it was approved."""
        assert all(finite(n) for _, n in self.ran), self.ran
        guarded = [(name, n) for name, n in self.ran if self.needs(name, n)]
        allowance = list(self.approved.values()) + self.retries
        for item in set(guarded):
            assert guarded.count(item) <= allowance.count(item), (item, self.ran, self.approved)


def build_hard(
    sc: dict[str, Any], world: World, store: Any, replies: list[dict[str, Any]] | None = None
) -> tuple[Agent, dict[str, Any]]:
    """The scenario's agent and options; `replies` replaces the model's script (another process resuming)."""
    agent_tools: list[Any] = []
    toolsets: dict[str, list[Any]] = {}
    client: list[Any] = []
    for i, (policy_name, where) in enumerate(sc["tools"]):
        name = f"t{i}"
        policy = HARD_TOOL_POLICIES[policy_name]
        world.policies[name] = policy
        execute = None if where == "client" else world.fn(name)
        if where.startswith("dict"):
            key = "requireApproval" if where == "dict_camel" else "requires_approval"
            agent_tools.append({"id": name, "description": f"tool {i}", "inputSchema": NUMBER_SCHEMA,
                                "execute": execute, key: policy})
            continue
        t = Tool(name, f"tool {i}", NUMBER_SCHEMA, execute, requires_approval=policy)
        {"agent": agent_tools, "client": client}.get(where, toolsets.setdefault("extra", [])).append(t)
    options: dict[str, Any] = {"require_tool_approval": world.call_policy, "max_steps": 6}
    if toolsets:
        options["toolsets"] = toolsets
    if client:
        options["client_tools"] = client
    if replies is not None:
        script = Scripted(*replies)
        agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=agent_tools, storage=store,
                      http_client=script.client(), async_http_client=script.async_client())
        return agent, options
    replies = []
    for s, calls in enumerate(sc["steps"]):
        wire = []
        for j, (idx, n, id_kind) in enumerate(calls):
            cid = {"uniq": f"c{s}_{j}", "empty": "", "dup": "dup", "first": "c0_0"}[id_kind]
            wire.append((cid, f"t{idx}", {"n": n}))
        replies.append(completion(None, wire))
    replies += [completion("done")] * 4
    script = Scripted(*replies)
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=agent_tools, storage=store,
                  http_client=script.client(), async_http_client=script.async_client())
    return agent, options


def resumer(world: World, store: Any) -> Agent:
    """Another process's agent: the same tools (recording into `world`), its own model script, the same store."""
    return build_hard(world.sc, world, store, replies=[completion("done")] * 6)[0]


def wait_interrupted(store: Any, run_id: str) -> None:
    for _ in range(500):
        state = store.load(run_id)
        if state is not None and state.lifecycle() == "interrupted":
            return
        time.sleep(0.01)
    raise AssertionError("an interrupted call never showed as interrupted")


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=SUPPRESSED)
@given(hard_scenario)
def test_no_unapproved_run_with_untrusted_ids_reused_run_ids_dict_tools_nan_concurrency_and_crashes(
    sc: dict[str, Any],
) -> None:
    crashing = sc["approver"].startswith("crash")
    store = InMemoryRunStore(lease_seconds=0.05 if crashing else 60.0)
    world = World(sc)
    agent, options = build_hard(sc, world, store)

    if sc["reuse_run_id"]:  # another run is stored under the id this run asks for
        prior_ran: list[float] = []
        prior_tool = Tool("prior", "prior", NUMBER_SCHEMA, lambda n: prior_ran.append(n) or "ok",
                          requires_approval=True)
        prior_script = Scripted(completion(None, [("p1", "prior", {"n": 1})]), completion("prior done"))
        prior = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[prior_tool], storage=store,
                      http_client=prior_script.client())
        assert prior.generate("prior", run_id="shared").finish_reason == "suspended"
        with pytest.raises(OptionsError, match="'shared' is the id of a stored run"):
            (_async if sc["driver"] == "async" else _sync)(agent, sc, {**options, "run_id": "shared"})
        assert world.ran == []
        assert prior.approve_tool_call("shared", "p1").text == "prior done"
        assert prior_ran == [1]  # the stored call's own arguments
        event("reused run_id refused")
        return

    result = (_async if sc["driver"] == "async" else _sync)(agent, sc, options)
    event(f"finish: {result.finish_reason}")
    world.check()
    if result.finish_reason != "suspended":
        return
    payload = result.suspend_payload
    assert payload is not None and payload.pending
    ids = [p.tool_call_id for p in payload.pending]
    assert len(set(ids)) == len(ids) and all(ids)  # every pending call has an id of its own
    for p in payload.pending:
        assert finite(p.args["n"]) and world.needs(p.tool_name, p.args["n"])
    first = payload.pending[0]
    mode = sc["approver"]
    event(f"approver: {mode}")

    if mode == "first":
        world.approved[first.tool_call_id] = (first.tool_name, first.args["n"])
        agent.approve_tool_call(result.run_id, first.tool_call_id)
    elif mode == "decline":
        for p in payload.pending:
            agent.decline_tool_call(result.run_id, p.tool_call_id, reason="no")
    elif mode == "wire_id":
        state = store.load(result.run_id)
        assert state is not None
        wire = next(p.wire_id for p in state.pending if p.tool_call_id == first.tool_call_id)
        named = [p for p in state.pending if p.wire_id == wire] + [p for p in state.resolved if p.wire_id == wire]
        if wire and len(named) == 1:
            world.approved[first.tool_call_id] = (first.tool_name, first.args["n"])
            agent.approve_tool_call(result.run_id, wire)
        else:
            before = list(world.ran)
            with pytest.raises(ApprovalError):
                agent.approve_tool_call(result.run_id, wire)
            assert world.ran == before
            event("ambiguous provider id refused")
    elif mode == "concurrent":
        targets = [payload.pending[i % len(payload.pending)] for i in range(4)]
        for t in targets:
            world.approved.setdefault(t.tool_call_id, (t.tool_name, t.args["n"]))
        approvers = [resumer(world, store) for _ in targets]
        barrier = threading.Barrier(len(targets))
        outcomes: list[str] = []

        def approve(a: Agent, call_id: str) -> None:
            barrier.wait()
            try:
                outcomes.append(a.approve_tool_call(result.run_id, call_id).finish_reason)
            except ApprovalError:
                outcomes.append("refused")

        threads = [
            threading.Thread(target=approve, args=(a, t.tool_call_id))
            for a, t in zip(approvers, targets, strict=True)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        event(f"concurrent refusals: {outcomes.count('refused')}")
    else:  # a process dies while the approved tool runs
        world.approved[first.tool_call_id] = (first.tool_name, first.args["n"])
        world.crash_next.append(first.tool_name)
        with pytest.raises(Crash) as crashed:  # held, as Jupyter holds the last traceback: the process lives on
            agent.approve_tool_call(result.run_id, first.tool_call_id)
        world.check()
        before = list(world.ran)
        wait_interrupted(store, result.run_id)
        assert crashed.traceback
        assert world.ran == before  # nothing re-ran it on its own
        again = resumer(world, store)
        if mode == "crash_retry":
            world.retries.append((first.tool_name, first.args["n"]))
            again.approve_tool_call(result.run_id, first.tool_call_id)
        else:
            again.decline_tool_call(result.run_id, first.tool_call_id, reason="do it by hand")
            assert world.ran == before
    world.check()
