"""The playgrounds' own traces with no OpenTelemetry set-up: the lean recorder (`LocalTracerProvider`) writes the same
spans the SDK path does (names, parentage, attributes, trace ids, resume links, errors) into the trace store, through
a background writer, so a run never waits for the database and the OpenTelemetry SDK is not needed."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, InMemoryRunStore, ProviderError, ToolContext, tool
from playground.store.traces import TraceStore, default_trace_store
from playground.tracing import LocalSpan, LocalTracerProvider, local_spans, playground_tracer_provider
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-local-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent


def _reset_global_provider() -> None:
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture
def local() -> dict[str, Any]:
    """Call options that record with the playground's own recorder (what the browser, notebook and CLI pass)."""
    _reset_global_provider()
    provider = playground_tracer_provider()
    assert isinstance(provider, LocalTracerProvider)
    return {"tracing_options": {"tracer_provider": provider}}


def named(trace_id: str | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in local_spans(trace_id):
        out.setdefault(s["name"], []).append(s)
    return out


def test_a_tool_run_is_stored_with_the_conventions_spans_and_parentage(local: dict[str, Any]) -> None:
    seen: dict[str, Any] = {}

    @tool
    def lookup(order_id: str, ctx: ToolContext) -> str:
        """Look an order up."""
        seen["span"] = ctx.span
        ctx.span.set_attribute("shop.region", "eu")  # a tool adds its own attributes and events
        ctx.span.add_event("cache miss", {"key": order_id})
        return f"order {order_id}: delivered"

    script = Scripted(completion(None, [("c1", "lookup", {"order_id": "42"})]), completion("Delivered."))
    agent = Agent(name="t", model="openai-chat:gpt-4.1-mini", api_key=KEY, http_client=script.client(),
                  tools=[lookup])
    result = agent.generate("where is 42", temperature=0.2, **local)
    spans = named(result.trace_id)
    run = spans["invoke_agent t"][0]
    chats = spans["chat gpt-4.1-mini"]
    tool_span = spans["execute_tool lookup"][0]
    assert len(chats) == 2 and result.trace_id is not None
    assert {s["trace_id"] for ss in spans.values() for s in ss} == {result.trace_id}
    assert run["parent_id"] is None and run["kind"] == "INTERNAL"
    assert all(c["parent_id"] == run["span_id"] and c["kind"] == "CLIENT" for c in chats)
    assert tool_span["parent_id"] == run["span_id"]
    assert [s.span_id for s in result.steps] == [c["span_id"] for c in chats]
    a = chats[0]["attributes"]
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4.1-mini" and a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert a["gen_ai.usage.input_tokens"] == result.steps[0].usage.input_tokens
    assert a["server.address"] == "api.openai.com"
    r = run["attributes"]
    assert r["gen_ai.agent.name"] == "t" and r["playground.run.id"] == result.run_id
    assert r["gen_ai.usage.output_tokens"] == result.usage.output_tokens and r["playground.steps"] == 2
    t = tool_span["attributes"]
    assert t["gen_ai.tool.name"] == "lookup" and t["gen_ai.tool.call.id"] == "c1" and t["shop.region"] == "eu"
    assert tool_span["events"][0]["name"] == "cache miss" and tool_span["events"][0]["attributes"] == {"key": "42"}
    assert isinstance(seen["span"], LocalSpan) and not seen["span"].is_recording()
    # no content unless asked for, and never the API key
    assert "gen_ai.input.messages" not in a and "gen_ai.tool.call.arguments" not in t
    assert all(s["end_ns"] >= s["start_ns"] > 0 for ss in spans.values() for s in ss)
    assert KEY not in json.dumps(local_spans(result.trace_id))


def test_message_content_when_asked_for(local: dict[str, Any]) -> None:
    agent = Agent(name="c", model="demo", instructions="Be brief.")
    result = agent.generate("secret plans", telemetry={"record_inputs": True, "record_outputs": True}, **local)
    chat = named(result.trace_id)["chat demo-1"][0]["attributes"]
    assert json.loads(chat["gen_ai.input.messages"])[-1]["parts"][0]["content"] == "secret plans"
    assert json.loads(chat["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(chat["gen_ai.output.messages"])[0]["role"] == "assistant"


def test_stream_and_async_runs_are_stored_alike(local: dict[str, Any]) -> None:
    import asyncio

    agent = Agent(name="s", model="demo")
    streamed = agent.stream("stream this", **local)
    streamed.final_result()
    assert streamed.result is not None
    chat = named(streamed.result.trace_id)["chat demo-1"][0]
    assert chat["attributes"]["gen_ai.request.stream"] is True
    assert streamed.result.steps[0].span_id == chat["span_id"]
    result = asyncio.run(agent.generate_async("async please", **local))
    assert set(named(result.trace_id)) == {"invoke_agent s", "chat demo-1"}
    assert result.trace_id != streamed.result.trace_id  # every run starts its own trace


def test_a_provider_error_marks_the_chat_and_run_spans(local: dict[str, Any]) -> None:
    script = Scripted((401, {"error": {"message": "bad key", "code": "invalid_api_key"}}))
    agent = Agent(name="x", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client())
    with pytest.raises(ProviderError) as info:
        agent.generate("hi", **local)
    partial = info.value.result  # type: ignore[attr-defined]
    spans = named(partial.trace_id)
    for s in (spans["chat gpt-test"][0], spans["invoke_agent x"][0]):
        assert s["status"] == "ERROR" and s["attributes"]["error.type"] == "401"
        assert s["events"][0]["name"] == "exception"
        assert s["events"][0]["attributes"]["exception.type"] == "AuthenticationError"
        assert KEY not in json.dumps(s)


def test_approval_suspend_and_resume_continue_one_trace(local: dict[str, Any]) -> None:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

    store = InMemoryRunStore()
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "7"})]), completion("Refunded."))

    def agent() -> Agent:
        return Agent(name="r", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(),
                     tools=[refund], storage=store)

    first = agent().generate("refund 7", **local)
    assert first.finish_reason == "suspended" and first.trace_id is not None
    final = agent().approve_tool_call(run_id=first.run_id, tool_call_id="c1", **local)
    assert final.trace_id == first.trace_id
    spans = named(first.trace_id)
    part1, part2 = sorted(spans["invoke_agent r"], key=lambda s: s["start_ns"])
    assert part2["parent_id"] == part1["span_id"]
    assert part2["links"] == [{"trace_id": first.trace_id, "span_id": part1["span_id"]}]
    assert part1["attributes"]["gen_ai.response.finish_reasons"] == ["suspended"]
    assert part2["attributes"]["playground.resumed"] is True
    wait = spans["await_approval refund"][0]
    assert wait["parent_id"] == part1["span_id"] and wait["start_ns"] >= part1["start_ns"]
    assert wait["attributes"]["playground.approval.decision"] == "approved"
    assert spans["execute_tool refund"][0]["parent_id"] == part2["span_id"]


def test_joining_a_trace_and_nesting_a_sub_agent_under_a_tool(local: dict[str, Any]) -> None:
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    result = Agent(name="j", model="demo").generate(
        "hi", tracing_options={**local["tracing_options"], "trace_id": trace_id, "parent_span_id": parent,
                               "metadata": {"user": "u1"}})
    run = named(trace_id)["invoke_agent j"][0]
    assert result.trace_id == trace_id and run["parent_id"] == parent
    assert run["attributes"]["playground.metadata.user"] == "u1"

    helper = Agent(name="helper", model="demo")

    @tool
    def ask_helper(question: str, ctx: ToolContext) -> str:
        """Ask the helper agent."""
        return helper.generate(question, tracing_context=ctx.span, **local).text

    script = Scripted(completion(None, [("c1", "ask_helper", {"question": "hello"})]), completion("Done."))
    outer = Agent(name="outer", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(),
                  tools=[ask_helper]).generate("go", **local)
    spans = named(outer.trace_id)
    assert spans["invoke_agent helper"][0]["parent_id"] == spans["execute_tool ask_helper"][0]["span_id"]


def test_embeddings_are_stored(local: dict[str, Any]) -> None:
    result = Agent(model="demo").embed(["a", "b"], **local).embed_now()
    span = named(result.trace_id)["embeddings demo-1"][0]
    assert span["kind"] == "CLIENT" and span["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert span["attributes"]["gen_ai.embeddings.dimension.count"] == len(result.embeddings[0])


def test_the_run_never_waits_for_the_store_and_a_broken_store_never_breaks_a_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Recording(TraceStore):
        calls: list[tuple[str, int]] = []  # noqa: RUF012

        def add_values(self, values: Any) -> None:
            type(self).calls.append((threading.current_thread().name, len(values)))
            super().add_values(values)

    store = Recording(tmp_path / "t.sqlite3")
    provider = LocalTracerProvider(store)
    result = Agent(name="w", model="demo").generate("hi", tracing_options={"tracer_provider": provider})
    assert all(name == "playground-trace-writer" for name, _ in Recording.calls)  # the run itself wrote nothing
    provider.force_flush()
    assert sum(n for _, n in Recording.calls) == 2  # both spans, in one transaction per batch
    assert {s["name"] for s in store.spans(result.trace_id or "")} == {"invoke_agent w", "chat demo-1"}

    class Broken(TraceStore):
        def add_values(self, values: Any) -> None:
            raise OSError("disk full")

    broken = LocalTracerProvider(Broken(tmp_path / "b.sqlite3"))
    with caplog.at_level(logging.WARNING, logger="playground.traces"):
        for _ in range(3):
            assert Agent(model="demo").generate("hi", tracing_options={"tracer_provider": broken}).text
            broken.force_flush()
    warnings = [r for r in caplog.records if "disk full" in r.getMessage()]
    assert len(warnings) == 1  # said once, not once per batch


def test_the_configured_store_is_read_after_pending_spans_are_written(local: dict[str, Any]) -> None:
    result = Agent(name="p", model="demo").generate("hi", **local)
    store = default_trace_store()
    assert store.path == Path(os.environ["PLAYGROUND_HOME"]) / "traces.sqlite3"
    assert {s["name"] for s in local_spans(result.trace_id)} == {"invoke_agent p", "chat demo-1"}
    assert store.traces()[0]["trace_id"] == result.trace_id and store.traces()[0]["spans"] == 2


def test_without_the_opentelemetry_sdk_the_playground_still_keeps_traces(tmp_path: Path) -> None:
    """The `otel` extra not installed: the playground's own recorder needs none of it; spans buffered at exit are
    written before the process ends."""
    code = textwrap.dedent(
        """
        import sys

        class NoSdk:
            def find_spec(self, name, path=None, target=None):
                if name.startswith("opentelemetry.sdk") or name.startswith("opentelemetry.exporter"):
                    raise ImportError("no " + name)
                return None

        sys.meta_path.insert(0, NoSdk())
        from playground import Agent
        from playground.tracing import playground_tracer_provider
        provider = playground_tracer_provider()
        r = Agent(name="bare", model="demo").generate("hello", tracing_options={"tracer_provider": provider})
        print(type(provider).__name__, r.trace_id, r.steps[0].span_id)
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    env = {"PATH": "/usr/bin:/bin", "PLAYGROUND_HOME": str(tmp_path), "PLAYGROUND_DEMO_DELAY": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                         timeout=60, check=True)
    first, modules = out.stdout.strip().splitlines()[-2:]
    kind, trace_id, span_id = first.split()
    assert kind == "LocalTracerProvider"
    assert modules == "[]"  # nothing of OpenTelemetry imported at all
    stored = TraceStore(tmp_path / "traces.sqlite3").spans(trace_id)
    assert {s["name"] for s in stored} == {"invoke_agent bare", "chat demo-1"}
    assert next(s for s in stored if s["name"] == "chat demo-1")["span_id"] == span_id
