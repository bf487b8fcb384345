"""The agent core end to end: prompt -> inspect -> send -> steps -> result, every option, on MockTransport."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx2
import pytest

from playground import (
    AbortSignal,
    Agent,
    FinishEvent,
    Message,
    ModelSettings,
    OptionsError,
    StepFinishEvent,
    TextDeltaEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
    has_tool_call,
    step_count_is,
    tool,
)
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-abcdefghijklmnop1234"


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Weather for a city.

    Args:
        city: The city.
    """
    return {"city": city, "temp_c": 21}


def make_agent(script: Scripted, **kw: Any) -> Agent:
    kw.setdefault("tools", [get_weather])
    return Agent(
        name="t", instructions="Be brief.", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw
    )


# -- prompt / inspect ---------------------------------------------------------------------------------------------


def test_prompt_sends_nothing_and_preview_equals_sent_body() -> None:
    script = Scripted(completion("4"))
    agent = make_agent(script)
    gen = agent.prompt("What is 2+2?", temperature=0.7, max_output_tokens=50)
    assert script.requests == []
    assert [m.role for m in gen.messages] == ["system", "user"]
    assert gen.instructions == "Be brief."
    assert gen.tools[0]["name"] == "get_weather"
    assert gen.tools[0]["parameters"]["properties"]["city"]["description"] == "The city."
    assert gen.settings == ModelSettings(temperature=0.7, max_output_tokens=50)
    preview = gen.request_preview()
    assert preview["method"] == "POST" and preview["url"] == "https://api.openai.com/v1/chat/completions"
    assert KEY not in json.dumps(preview) and preview["headers"]["Authorization"].startswith("Bearer sk-")
    result = gen.generate_now()
    assert len(script.requests) == 1
    assert script.bodies[0] == preview["body"]
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"  # the real key goes over the wire only
    assert result.text == "4"


def test_unset_settings_are_not_sent() -> None:
    script = Scripted(completion("ok"))
    make_agent(script).generate("hi", model_settings={"topP": 0.5, "seed": 3, "stopSequences": ["END"]})
    body = script.bodies[0]
    assert body["top_p"] == 0.5 and body["seed"] == 3 and body["stop"] == ["END"]
    for absent in ("temperature", "max_completion_tokens", "presence_penalty", "frequency_penalty"):
        assert absent not in body


def test_bad_options_name_the_field() -> None:
    agent = make_agent(Scripted())
    with pytest.raises(OptionsError, match="max_steps"):
        agent.prompt("x", max_steps=0)
    with pytest.raises(OptionsError, match="temperature"):
        agent.prompt("x", temperature=5)
    with pytest.raises(OptionsError, match="unknown option"):
        agent.prompt("x", max_stepz=3)
    with pytest.raises(OptionsError, match="tool_choice"):
        agent.prompt("x", tool_choice=42)
    with pytest.raises(OptionsError, match=r"model_settings\.warmth: unknown setting"):
        agent.prompt("x", model_settings={"warmth": 1})


def test_camel_case_aliases_paste_in() -> None:
    script = Scripted(completion("ok"))
    make_agent(script).generate(
        "hi", maxSteps=2, modelSettings={"maxOutputTokens": 9}, toolChoice={"type": "tool", "toolName": "get_weather"}
    )
    body = script.bodies[0]
    assert body["max_completion_tokens"] == 9
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


# -- message shapes -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "messages, expected",
    [
        ("hello", [{"role": "user", "content": "hello"}]),
        (["a", "b"], [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
        (
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
        ),
        ([Message.user("m")], [{"role": "user", "content": "m"}]),
    ],
)
def test_message_inputs(messages: Any, expected: list[dict[str, Any]]) -> None:
    script = Scripted(completion("ok"))
    make_agent(script, tools=[]).generate(messages)
    assert script.bodies[0]["messages"][1:] == expected


def test_image_and_file_parts() -> None:
    script = Scripted(completion("a cat"))
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "image": "https://example.com/cat.png"},
        {"type": "image", "image": "iVBORw0KGgo=", "mediaType": "image/png"},
        {"type": "file", "data": "JVBERi0=", "mediaType": "application/pdf", "filename": "a.pdf"},
    ]
    make_agent(script, tools=[]).generate([{"role": "user", "content": content}])
    parts = script.bodies[0]["messages"][1]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    assert parts[2]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="
    assert parts[3] == {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
    }


def test_bad_message_names_the_item() -> None:
    with pytest.raises(Exception, match=r"messages\[1\]\.role"):
        make_agent(Scripted()).prompt([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])


# -- the step loop ------------------------------------------------------------------------------------------------


def test_tool_loop_records_every_step() -> None:
    script = Scripted(
        completion(None, [("call_1", "get_weather", {"city": "Paris"})], usage=(20, 7), reasoning="need weather"),
        completion("Sunny in Paris.", usage=(40, 6)),
        headers={"x-ratelimit-remaining-requests": "99", "x-request-id": "req_1"},
    )
    result = make_agent(script).generate("weather in Paris?")
    assert result.text == "Sunny in Paris."
    assert result.finish_reason == "stop"
    assert [s.finish_reason for s in result.steps] == ["tool-calls", "stop"]
    assert result.tool_calls[0].args == {"city": "Paris"}
    assert result.tool_results[0].result == {"city": "Paris", "temp_c": 21}
    assert result.usage.input_tokens == 60 and result.usage.output_tokens == 13 and result.usage.total_tokens == 73
    assert [s.usage.total_tokens for s in result.steps] == [27, 46]
    assert result.prompt_tokens == 60 and result.completion_tokens == 13 and result.total_tokens == 73
    assert result.reasoning_text == "need weather"
    step = result.steps[0]
    assert step.raw_request is not None and step.raw_response is not None
    assert step.raw_response.status == 200 and step.raw_response.body["choices"][0]["finish_reason"] == "tool_calls"
    assert step.rate_limit == {"x-ratelimit-remaining-requests": "99"}
    assert step.response.headers["x-request-id"] == "req_1"
    assert step.started_at is not None and step.finished_at is not None and step.latency_ms is not None
    # the second request carries the tool call and its result, by id
    second = script.bodies[1]["messages"]
    assert second[2]["tool_calls"][0]["id"] == "call_1"
    assert second[3] == {"role": "tool", "tool_call_id": "call_1", "content": '{"city": "Paris", "temp_c": 21}'}
    # Mastra + ActiveAgent fields
    assert result.request.body == script.bodies[1]
    assert result.raw_request is not None and result.raw_request.body == script.bodies[1]
    assert result.message.text == "Sunny in Paris."
    assert [m.role for m in result.response.messages] == ["assistant", "tool", "assistant"]
    assert result.run_id.startswith("run_")


def test_max_steps_stop_says_so() -> None:
    script = Scripted(*[completion(None, [(f"c{i}", "get_weather", {"city": "X"})]) for i in range(3)])
    result = make_agent(script).generate("loop", max_steps=2)
    assert len(result.steps) == 2 and len(script.requests) == 2
    assert any("max_steps=2" in w for w in result.warnings)


def test_stop_when() -> None:
    script = Scripted(*[completion(None, [(f"c{i}", "get_weather", {"city": "X"})]) for i in range(3)])
    result = make_agent(script).generate("loop", stop_when=has_tool_call("get_weather"))
    assert len(result.steps) == 1
    script = Scripted(*[completion(None, [(f"c{i}", "get_weather", {"city": "X"})]) for i in range(3)])
    result = make_agent(script).generate("loop", stop_when=[step_count_is(2)])
    assert len(result.steps) == 2 and result.warnings == []


def test_prepare_step_changes_one_step() -> None:
    seen: list[int] = []

    def prepare(step_number: int, steps: list[Any]) -> dict[str, Any] | None:
        seen.append(step_number)
        if step_number == 0:
            return {"tool_choice": "required", "model_settings": {"temperature": 0.1}, "active_tools": ["get_weather"]}
        return {"tool_choice": "none"}

    script = Scripted(completion(None, [("c1", "get_weather", {"city": "Oslo"})]), completion("done"))
    result = make_agent(script).generate("go", prepare_step=prepare)
    first, second = script.bodies
    assert first["tool_choice"] == "required" and first["temperature"] == 0.1
    assert second["tool_choice"] == "none" and "temperature" not in second
    assert seen == [0, 1] and result.text == "done"


def test_active_tools_and_unknown_tool_calls() -> None:
    @tool
    def secret_op() -> str:
        """Should never run in this test."""
        raise AssertionError("inactive tool ran")

    script = Scripted(completion(None, [("c1", "secret_op", {})]), completion("ok"))
    result = make_agent(script, tools=[get_weather, secret_op]).generate("x", active_tools=["get_weather"])
    assert [t["function"]["name"] for t in script.bodies[0]["tools"]] == ["get_weather"]
    assert result.tool_results[0].is_error and "not available" in result.tool_results[0].result
    with pytest.raises(Exception, match="active_tools"):
        make_agent(Scripted()).generate("x", active_tools=["nope"])


def test_invalid_arguments_and_raising_tools_become_error_results() -> None:
    @tool
    def boom(n: int) -> int:
        """Always fails."""
        raise RuntimeError("kaput")

    script = Scripted(
        completion(None, [("c1", "get_weather", {"town": "Paris"}), ("c2", "boom", {"n": 1})]), completion("sorry")
    )
    result = make_agent(script, tools=[get_weather, boom]).generate("x")
    bad_args, raised = result.tool_results
    assert bad_args.is_error and "city: Field required" in bad_args.result
    assert raised.is_error and "RuntimeError: kaput" in raised.result
    tool_msgs = [m for m in script.bodies[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c1", "c2"]
    assert "kaput" in tool_msgs[1]["content"]


def test_async_tools_and_concurrency() -> None:
    barrier = threading.Barrier(2, timeout=5)

    @tool
    def wait_a() -> str:
        """Waits for b."""
        barrier.wait()
        return "a"

    @tool
    def wait_b() -> str:
        """Waits for a."""
        barrier.wait()
        return "b"

    @tool
    async def slow_double(n: int) -> int:
        """Async tool."""
        await asyncio.sleep(0)
        return n * 2

    script = Scripted(
        completion(None, [("c1", "wait_a", {}), ("c2", "wait_b", {}), ("c3", "slow_double", {"n": 4})]),
        completion("done"),
    )
    result = make_agent(script, tools=[wait_a, wait_b, slow_double]).generate("x", tool_call_concurrency=3)
    assert [r.result for r in result.tool_results] == ["a", "b", 8]  # the barrier only passes when run concurrently


def test_toolsets_client_tools_instructions_system_context_provider_options() -> None:
    @tool
    def extra(q: str) -> str:
        """From a toolset."""
        return q.upper()

    script = Scripted(completion(None, [("c1", "extra", {"q": "hi"})]), completion(None, [("c2", "pick_color", {})]))
    result = make_agent(script).generate(
        "x",
        toolsets={"more": [extra]},
        client_tools={
            "pick_color": {"description": "Ask the browser", "parameters": {"type": "object", "properties": {}}}
        },
        instructions="Override.",
        system="Extra system.",
        context=[{"role": "user", "content": "earlier context"}],
        provider_options={"openai": {"user": "u-1", "parallel_tool_calls": False}},
    )
    body = script.bodies[0]
    assert [m["content"] for m in body["messages"][:3]] == ["Override.", "Extra system.", "earlier context"]
    assert {t["function"]["name"] for t in body["tools"]} == {"get_weather", "extra", "pick_color"}
    assert body["user"] == "u-1" and body["parallel_tool_calls"] is False
    assert result.tool_results[0].result == "HI"
    assert result.finish_reason == "tool-calls" and result.tool_calls[-1].client_tool is True


def test_callbacks_and_run_id() -> None:
    calls: dict[str, list[Any]] = {"chunk": [], "step": [], "finish": []}
    script = Scripted(completion(None, [("c1", "get_weather", {"city": "Rome"})]), completion("ok"))
    result = make_agent(script).generate(
        "x",
        run_id="run_custom",
        on_chunk=lambda chunk: calls["chunk"].append(chunk.type),
        on_step_finish=lambda step: calls["step"].append(step.index),
        on_finish=lambda result: calls["finish"].append(result.text),
    )
    assert result.run_id == "run_custom"
    assert calls["step"] == [0, 1] and calls["finish"] == ["ok"]
    assert {"tool-call", "tool-result", "text-delta", "step-finish", "finish"} <= set(calls["chunk"])


def test_on_error_gets_the_provider_error() -> None:
    errors: list[Any] = []
    script = Scripted((400, {"error": {"message": "bad temperature", "type": "invalid_request_error", "code": "x"}}))
    with pytest.raises(Exception, match="bad temperature") as info:
        make_agent(script).generate("x", on_error=lambda error: errors.append(error))
    assert errors and errors[0].status == 400 and info.value.status == 400  # type: ignore[attr-defined]


def test_abort_signal_stops_before_sending_and_calls_on_abort() -> None:
    signal = AbortSignal()
    signal.abort("user stop")
    aborted: list[Any] = []
    script = Scripted(completion("never"))
    result = make_agent(script).generate("x", abort_signal=signal, on_abort=lambda event: aborted.append(event))
    assert result.finish_reason == "aborted" and script.requests == [] and len(aborted) == 1


# -- approval -----------------------------------------------------------------------------------------------------

ran: list[str] = []


@tool(requires_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    ran.append(order_id)
    return f"refunded {order_id}"


def test_approval_suspends_then_approve_runs_once() -> None:
    ran.clear()
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "42"})]), completion("Refunded."))
    agent = make_agent(script, tools=[refund])
    result = agent.generate("refund 42")
    assert result.finish_reason == "suspended" and ran == []
    p = result.suspend_payload
    assert p is not None and (p.tool_call_id, p.tool_name, p.args) == ("c1", "refund", {"order_id": "42"})
    resumed = agent.approve_tool_call(run_id=result.run_id, tool_call_id="c1")
    assert ran == ["42"] and resumed.text == "Refunded." and resumed.finish_reason == "stop"
    assert resumed.tool_results[0].approval == "approved"
    with pytest.raises(Exception, match="no suspended run"):
        agent.approve_tool_call(run_id=result.run_id, tool_call_id="c1")
    assert ran == ["42"]


def test_decline_reaches_the_model() -> None:
    ran.clear()
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "42"})]), completion("OK, not refunded."))
    agent = make_agent(script, tools=[refund])
    result = agent.generate("refund 42")
    resumed = agent.decline_tool_call(run_id=result.run_id, tool_call_id="c1", reason="too large")
    assert ran == []
    tool_msg = script.bodies[1]["messages"][-1]
    assert tool_msg["role"] == "tool" and "declined" in tool_msg["content"] and "too large" in tool_msg["content"]
    assert resumed.text == "OK, not refunded."


def test_require_tool_approval_option_bool_and_callable() -> None:
    script = Scripted(completion(None, [("c1", "get_weather", {"city": "Paris"})]))
    assert make_agent(script).generate("x", require_tool_approval=True).finish_reason == "suspended"
    script = Scripted(completion(None, [("c1", "get_weather", {"city": "Paris"})]), completion("fine"))
    result = make_agent(script).generate("x", require_tool_approval=lambda args: args["city"] == "Berlin")
    assert result.finish_reason == "stop"

    def broken(args: dict[str, Any]) -> bool:
        raise ValueError("policy bug")

    script = Scripted(completion(None, [("c1", "get_weather", {"city": "Paris"})]))
    assert make_agent(script).generate("x", require_tool_approval=broken).finish_reason == "suspended"


def test_mixed_step_runs_free_tools_and_holds_approval_ones() -> None:
    ran.clear()
    script = Scripted(
        completion(None, [("c1", "get_weather", {"city": "Paris"}), ("c2", "refund", {"order_id": "7"})]),
        completion("done"),
    )
    agent = make_agent(script, tools=[get_weather, refund])
    result = agent.generate("x")
    assert result.finish_reason == "suspended" and [r.tool_name for r in result.tool_results] == ["get_weather"]
    resumed = agent.approve_tool_call(result.run_id, "c2")
    tool_msgs = [m for m in script.bodies[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c1", "c2"] and ran == ["7"]
    assert resumed.text == "done"


# -- streaming ----------------------------------------------------------------------------------------------------


def test_stream_events_end_with_the_generate_result() -> None:
    def script() -> Scripted:
        return Scripted(completion(None, [("c1", "get_weather", {"city": "Lima"})]), completion("Warm in Lima today."))

    expected = make_agent(script()).generate("weather in Lima")
    run = make_agent(script()).stream("weather in Lima")
    events = list(run)
    types = [e.type for e in events]
    assert types[0] == "step-start" and types[-1] == "finish"
    assert "tool-call-delta" in types and "tool-call" in types and "tool-result" in types
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == "Warm in Lima today. "
    final = events[-1]
    assert isinstance(final, FinishEvent) and final.result is run.result
    got = final.result
    assert got.text.strip() == expected.text and got.usage == expected.usage
    assert [c.args for c in got.tool_calls] == [c.args for c in expected.tool_calls]
    assert [s.finish_reason for s in got.steps] == [s.finish_reason for s in expected.steps]
    assert got.steps[0].raw_response is not None and got.steps[0].raw_response.stream
    assert next(e for e in events if isinstance(e, StepFinishEvent)).step.index == 0


async def test_async_generate_stream_and_sync_inside_running_loop() -> None:
    script = Scripted(completion("async hi"), completion("stream hi"), completion("sync hi"))
    agent = Agent(
        model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), async_http_client=script.async_client()
    )
    assert (await agent.generate_async("a")).text == "async hi"
    texts = [e.text async for e in agent.stream("b") if isinstance(e, TextDeltaEvent)]
    assert "".join(texts).strip() == "stream hi"
    assert agent.generate("c").text == "sync hi"  # a sync call inside a running event loop (as in Jupyter)


def test_stream_announces_approval_requests() -> None:
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "1"}), ("c2", "refund", {"order_id": "2"})]))
    run = make_agent(script, tools=[refund]).stream("x")
    approvals = [e for e in run if isinstance(e, ToolApprovalEvent)]
    assert [a.tool_call_id for a in approvals] == ["c1", "c2"]
    assert run.result is not None and [c.tool_call_id for c in run.result.suspend_payload.pending] == ["c1", "c2"]  # type: ignore[union-attr]


def test_stream_abort_mid_stream_keeps_partial_text() -> None:
    script = Scripted(completion("one two three four five six"))
    run = make_agent(script, tools=[]).stream("x")
    seen = []
    for ev in run:
        if isinstance(ev, TextDeltaEvent):
            seen.append(ev.text)
            if len(seen) == 2:
                run.abort()
    assert run.result is not None and run.result.finish_reason == "aborted"
    assert run.result.text == "one two "


# -- background and embeddings ------------------------------------------------------------------------------------


def test_generate_later_runs_in_background() -> None:
    job = Agent(model="demo").prompt("What is 6 * 7?").generate_later(queue="agents")
    result = job.result(timeout=10)
    assert "= 42" in result.text and job.status == "succeeded" and job.queue == "agents"


def test_demo_embeddings_are_deterministic_and_similar_for_similar_text() -> None:
    agent = Agent(model="demo")
    res = agent.embed(["the cat sat", "the cat sat!", "quantum chromodynamics"]).embed_now()
    a, b, c = res.embeddings
    assert len(a) == 64 and res.usage.input_tokens > 0 and res.raw_request is not None
    dot = lambda x, y: sum(i * j for i, j in zip(x, y, strict=True))  # noqa: E731
    assert dot(a, b) > dot(a, c)
    assert agent.embed("the cat sat").embed_now().embeddings[0] == a


def test_tool_calls_event_carries_client_flag() -> None:
    script = Scripted(completion(None, [("c1", "ask_user", {})]))
    run = make_agent(script).stream(
        "x", client_tools={"ask_user": {"description": "ask", "parameters": {"type": "object"}}}
    )
    calls = [e for e in run if isinstance(e, ToolCallEvent)]
    assert calls[0].client_tool is True and run.result is not None and run.result.finish_reason == "tool-calls"


def test_tool_result_events_in_generate_now_callbacks() -> None:
    got: list[ToolResultEvent] = []
    script = Scripted(completion(None, [("c1", "get_weather", {"city": "Kyiv"})]), completion("ok"))
    make_agent(script).generate(
        "x", on_chunk=lambda chunk: got.append(chunk) if isinstance(chunk, ToolResultEvent) else None
    )
    assert got[0].result == {"city": "Kyiv", "temp_c": 21} and got[0].duration_ms >= 0


def test_http_client_injection_is_used_for_every_request() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(200, json=completion("hi"))

    agent = Agent(
        model="openai-chat:gpt-x", api_key=KEY, http_client=httpx2.Client(transport=httpx2.MockTransport(handler))
    )
    agent.generate("a")
    agent.prompt("b").generate_now()
    assert seen == ["https://api.openai.com/v1/chat/completions"] * 2


async def test_on_chunk_takes_the_event_positionally_sync_and_async() -> None:
    seen: list[str] = []
    agent = Agent(model="demo")
    agent.generate("What is 1+1?", on_chunk=lambda event: seen.append(event.type))

    async def async_cb(e: Any) -> None:
        seen.append("async:" + e.type)

    await agent.generate_async("What is 1+1?", on_chunk=async_cb)
    assert "text-delta" in seen and "finish" in seen and "async:finish" in seen


def test_finished_runs_leave_no_live_state_behind() -> None:
    ran.clear()
    agent = Agent(model="demo", tools=[refund])
    for _ in range(5):
        agent.generate("What is 1+1?")
    assert agent._live == {}  # nothing kept for runs that finished
    suspended = agent.generate("refund order 9", on_finish=lambda result: None)
    assert list(agent._live) == [suspended.run_id]  # callbacks kept for an in-process resume
    assert suspended.suspend_payload is not None
    agent.approve_tool_call(suspended.run_id, suspended.suspend_payload.tool_call_id)
    assert agent._live == {} and ran == ["9"]


# -- issue 10: abort, re-running a generation, the preview runs input processors ------------------------------------


@tool
def _side_effect(city: str) -> str:
    """Records that it ran."""
    _side_effects.append(city)
    return "ran"


_side_effects: list[str] = []


def _abort_during_call(signal: AbortSignal, reply: dict[str, Any]) -> Scripted:
    """A server that answers with tool calls, while the user presses Stop during the (non-streaming) call."""

    class AbortingScript(Scripted):
        def handler(self, request: httpx2.Request) -> httpx2.Response:
            signal.abort("user pressed stop")
            return super().handler(request)

    return AbortingScript(reply)


def test_abort_during_a_non_streaming_call_runs_no_tool_of_that_step() -> None:
    _side_effects.clear()
    signal = AbortSignal()
    script = _abort_during_call(signal, completion(None, [("c1", "_side_effect", {"city": "Paris"})]))
    result = make_agent(script, tools=[_side_effect]).generate("weather", abort_signal=signal)
    assert result.finish_reason == "aborted"
    assert _side_effects == [] and result.tool_results == []
    assert len(script.requests) == 1
    assert all(not m.tool_calls for m in result.messages)  # no unanswered tool call left in the conversation


async def test_abort_during_a_non_streaming_call_runs_no_tool_async() -> None:
    _side_effects.clear()
    signal = AbortSignal()
    script = _abort_during_call(signal, completion(None, [("c1", "_side_effect", {"city": "Paris"})]))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[_side_effect],
                  async_http_client=script.async_client())
    result = await agent.generate_async("weather", abort_signal=signal)
    assert result.finish_reason == "aborted" and _side_effects == []


def test_a_stopped_stream_does_not_stop_the_generation_for_good() -> None:
    script = Scripted(completion("one two three four"), completion("again"), completion("later"), completion("more"))
    gen = make_agent(script, tools=[]).prompt("x")
    run = gen.stream()
    for ev in run:
        if isinstance(ev, TextDeltaEvent):
            run.abort()
    assert run.result is not None and run.result.finish_reason == "aborted"
    assert gen.generate_now().text == "again"
    assert gen.stream().final_result().text.strip() == "later"
    assert gen.generate_later().result(timeout=10).text == "more"


def test_request_preview_runs_the_input_processors() -> None:
    from playground import PIIRedactor

    script = Scripted(completion("ok"))
    agent = make_agent(script, tools=[], input_processors=[PIIRedactor()])
    gen = agent.prompt("Mail ada@example.com")
    preview = gen.request_preview()
    assert "ada@example.com" not in json.dumps(preview["body"])
    assert "[EMAIL]" in json.dumps(preview["body"])
    gen.generate_now()
    assert preview["body"] == script.bodies[0]  # the preview is the request that was sent


def test_request_preview_applies_prepare_step_of_the_first_step() -> None:
    script = Scripted(completion("ok"))

    def prepare(step_number: int) -> dict[str, Any]:
        return {"system": f"Step {step_number}: be terse."}

    gen = make_agent(script, tools=[]).prompt("x", prepare_step=prepare)
    preview = gen.request_preview()
    gen.generate_now()
    assert preview["body"] == script.bodies[0]
    assert "Step 0: be terse." in json.dumps(preview["body"])


def test_request_preview_reports_a_tripwire_instead_of_crashing() -> None:
    from playground import PIIRedactor

    gen = make_agent(Scripted(), tools=[], input_processors=[PIIRedactor(strategy="block")]).prompt("ada@example.com")
    preview = gen.request_preview()
    assert any("would stop this run" in w and "email" in w for w in preview["warnings"])


# -- issue 10: errors in a stream, raising callbacks, context ------------------------------------------------------


def test_stream_reports_a_provider_error_as_an_error_event_before_raising() -> None:
    from playground import ErrorEvent, ProviderError

    script = Scripted((500, {"error": {"message": "upstream exploded", "code": "server_error"}}))
    agent = make_agent(script, tools=[])
    run = agent.stream("x", max_retries=0)
    seen: list[Any] = []
    with pytest.raises(ProviderError, match="upstream exploded"):
        for ev in run:
            seen.append(ev)
    assert isinstance(seen[-1], ErrorEvent) and "upstream exploded" in str(seen[-1].error)
    assert run.error is seen[-1].error and run.result is not None and run.result.finish_reason == "error"


async def test_async_stream_reports_a_provider_error_as_an_error_event() -> None:
    from playground import ErrorEvent, ProviderError

    script = Scripted((400, {"error": {"message": "bad request here", "code": "x"}}))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, async_http_client=script.async_client())
    seen: list[Any] = []
    with pytest.raises(ProviderError):
        async for ev in agent.stream("x"):
            seen.append(ev)
    assert isinstance(seen[-1], ErrorEvent)


@pytest.mark.parametrize("callback", ["on_step_finish", "on_finish", "on_chunk"])
def test_a_raising_callback_calls_on_error_and_keeps_the_partial_result(callback: str) -> None:
    errors: list[Any] = []

    def boom(*args: Any, **kwargs: Any) -> None:
        if callback != "on_chunk" or isinstance(args[0], TextDeltaEvent):  # on_chunk: once the text arrives
            raise ValueError("my callback broke")

    script = Scripted(completion("the answer"))
    options: dict[str, Any] = {callback: boom, "on_error": lambda error: errors.append(error)}
    with pytest.raises(ValueError, match="my callback broke") as info:
        make_agent(script, tools=[]).generate("x", **options)
    assert len(errors) == 1 and errors[0] is info.value
    partial = info.value.result  # type: ignore[attr-defined]
    assert partial.finish_reason == "error" and partial.error is info.value
    assert len(partial.steps) == 1 and partial.steps[0].text == "the answer"


def test_result_context_is_the_context_that_was_sent() -> None:
    script = Scripted(completion("ok"))
    result = make_agent(script, tools=[]).generate("What now?", context=[{"role": "user", "content": "Earlier note"}])
    sent = script.bodies[-1]["messages"]
    assert [m.role for m in result.context] == [m["role"] for m in sent] == ["system", "user", "user"]
    assert [m.text for m in result.context] == ["Be brief.", "Earlier note", "What now?"]
