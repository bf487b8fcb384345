"""OpenTelemetry GenAI spans, seen through the SDK's in-memory exporter on the *global* tracer provider (as a user's
own set-up would be): names, parentage, attributes and trace ids for generate, stream, async, tools, approvals
(suspend + resume), errors and embeddings, on the demo model, on scripted traffic and on recorded provider traffic."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx2
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.util._once import Once

from playground import Agent, InMemoryRunStore, OptionsError, ProviderError, ToolContext, tool
from tests.providers.replay import fixture, load, needs_fixtures
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-tracing-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent


def _reset_global_provider() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A global SDK tracer provider exporting into memory for this test only."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_global_provider()
    trace.set_tracer_provider(provider)
    yield exporter
    _reset_global_provider()
    provider.shutdown()


def by_name(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for s in exporter.get_finished_spans():
        out.setdefault(s.name, []).append(s)
    return out


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def hex_span(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.span_id, "016x")


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"Sunny in {city}"


# -- no set-up: nothing recorded --------------------------------------------------------------------------------


def test_without_a_tracer_provider_nothing_is_recorded_and_trace_id_is_none() -> None:
    _reset_global_provider()
    result = Agent(model="demo").generate("hello")
    assert result.trace_id is None
    assert all(s.span_id is None for s in result.steps)


# -- the demo model ---------------------------------------------------------------------------------------------


def test_generate_on_the_demo_model_makes_an_agent_span_with_a_chat_child(spans: InMemorySpanExporter) -> None:
    agent = Agent(name="helper", model="demo")
    result = agent.generate("hello there", temperature=0.3, max_output_tokens=64)
    named = by_name(spans)
    run = named["invoke_agent helper"][0]
    chat = named["chat demo-1"][0]
    assert result.trace_id == hex_trace(run) == hex_trace(chat)
    assert parent_id(chat) == run.context.span_id  # type: ignore[union-attr]
    assert result.steps[0].span_id == hex_span(chat)
    a = dict(chat.attributes or {})
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "playground.demo"
    assert a["gen_ai.request.model"] == "demo-1"
    assert a["gen_ai.request.temperature"] == 0.3
    assert a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.response.id"] == result.steps[0].response.id
    assert a["gen_ai.response.model"] == result.steps[0].response.model_id
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == result.usage.output_tokens > 0
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["playground.cost.total"] == 0.0
    assert chat.kind == trace.SpanKind.CLIENT
    r = dict(run.attributes or {})
    assert r["gen_ai.operation.name"] == "invoke_agent"
    assert r["gen_ai.agent.name"] == "helper"
    assert r["playground.run.id"] == result.run_id
    # no content unless asked for
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a


def test_stream_and_async_are_traced_alike(spans: InMemorySpanExporter) -> None:
    import asyncio

    agent = Agent(name="s", model="demo")
    streamed = agent.stream("stream this")
    streamed.final_result()
    assert streamed.result is not None and streamed.result.trace_id is not None
    chat = by_name(spans)["chat demo-1"][0]
    assert dict(chat.attributes or {})["gen_ai.request.stream"] is True
    assert streamed.result.steps[0].span_id == hex_span(chat)

    spans.clear()
    result = asyncio.run(agent.generate_async("async please"))
    named = by_name(spans)
    assert result.trace_id == hex_trace(named["invoke_agent s"][0]) == hex_trace(named["chat demo-1"][0])


def test_a_run_nests_under_the_callers_current_span(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request") as outer:
        result = Agent(name="n", model="demo").generate("hi")
    run = by_name(spans)["invoke_agent n"][0]
    assert parent_id(run) == outer.get_span_context().span_id
    assert result.trace_id == format(outer.get_span_context().trace_id, "032x")


def test_tracing_options_join_a_trace_and_add_metadata(spans: InMemorySpanExporter) -> None:
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    result = Agent(name="j", model="demo").generate(
        "hi", tracing_options={"trace_id": trace_id, "parent_span_id": parent, "metadata": {"user": "u1", "n": 3}}
    )
    run = by_name(spans)["invoke_agent j"][0]
    assert result.trace_id == trace_id
    assert format(parent_id(run) or 0, "016x") == parent
    assert dict(run.attributes or {})["playground.metadata.user"] == "u1"
    assert dict(run.attributes or {})["playground.metadata.n"] == 3


def test_tracing_context_is_the_parent_span(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    parent = tracer.start_span("my job")
    Agent(name="c", model="demo").generate("hi", tracing_context=parent)
    parent.end()
    run = by_name(spans)["invoke_agent c"][0]
    assert parent_id(run) == parent.get_span_context().span_id


def test_bad_tracing_options_name_the_field() -> None:
    agent = Agent(model="demo")
    with pytest.raises(OptionsError, match=r"tracing_options.trace_id: expected 32 hex digits"):
        agent.generate("hi", tracing_options={"trace_id": "nope"})
    with pytest.raises(OptionsError, match=r"telemetry.record_input: unknown key"):
        agent.generate("hi", telemetry={"record_input": True})
    with pytest.raises(OptionsError, match="request_context: expected a mapping"):
        agent.generate("hi", request_context=["u1"])


def test_telemetry_disabled_records_nothing(spans: InMemorySpanExporter) -> None:
    result = Agent(model="demo").generate("hi", telemetry={"is_enabled": False})
    assert result.trace_id is None and spans.get_finished_spans() == ()


# -- content capture --------------------------------------------------------------------------------------------


def test_message_content_only_when_enabled_by_option(spans: InMemorySpanExporter) -> None:
    agent = Agent(name="c", model="demo", instructions="Be brief.")
    agent.generate("secret plans", telemetry={"record_inputs": True, "record_outputs": True})
    chat = dict(by_name(spans)["chat demo-1"][0].attributes or {})
    inputs = json.loads(str(chat["gen_ai.input.messages"]))
    assert inputs[-1] == {"role": "user", "parts": [{"type": "text", "content": "secret plans"}]}
    assert json.loads(str(chat["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    outputs = json.loads(str(chat["gen_ai.output.messages"]))
    assert outputs[0]["role"] == "assistant" and outputs[0]["parts"][0]["type"] in ("text", "reasoning")

    spans.clear()
    agent.generate("secret plans", telemetry={"record_inputs": True})
    chat = dict(by_name(spans)["chat demo-1"][0].attributes or {})
    assert "gen_ai.input.messages" in chat and "gen_ai.output.messages" not in chat


def test_message_content_from_the_standard_environment_variable(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    Agent(model="demo").generate("env says record")
    chat = dict(by_name(spans)["chat demo-1"][0].attributes or {})
    assert "env says record" in str(chat["gen_ai.input.messages"])
    assert "gen_ai.output.messages" in chat


# -- tools, approvals, errors -----------------------------------------------------------------------------------


def test_tool_calls_are_execute_tool_spans_under_the_run(spans: InMemorySpanExporter) -> None:
    seen: dict[str, Any] = {}

    @tool
    def lookup(order_id: str, ctx: ToolContext) -> str:
        """Look an order up."""
        seen["request_context"] = ctx.request_context
        seen["span"] = ctx.span
        return f"order {order_id}: delivered"

    script = Scripted(completion(None, [("c1", "lookup", {"order_id": "42"})]), completion("Delivered."))
    agent = Agent(name="t", model="openai-chat:gpt-4.1-mini", api_key=KEY, http_client=script.client(),
                  tools=[lookup])
    result = agent.generate("where is 42", request_context={"user_id": "u1"},
                            telemetry={"record_inputs": True, "record_outputs": True})
    named = by_name(spans)
    run = named["invoke_agent t"][0]
    tool_span = named["execute_tool lookup"][0]
    chats = named["chat gpt-4.1-mini"]
    assert len(chats) == 2
    assert parent_id(tool_span) == run.context.span_id  # type: ignore[union-attr]
    assert all(parent_id(c) == run.context.span_id for c in chats)  # type: ignore[union-attr]
    t = dict(tool_span.attributes or {})
    assert t["gen_ai.operation.name"] == "execute_tool"
    assert t["gen_ai.tool.name"] == "lookup"
    assert t["gen_ai.tool.call.id"] == "c1"
    assert json.loads(str(t["gen_ai.tool.call.arguments"])) == {"order_id": "42"}
    assert json.loads(str(t["gen_ai.tool.call.result"])) == "order 42: delivered"
    assert seen["request_context"] == {"user_id": "u1"}
    assert seen["span"] is not None
    assert [s.span_id for s in result.steps] == [hex_span(c) for c in chats]
    assert dict(chats[0].attributes or {})["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert dict(chats[0].attributes or {})["gen_ai.provider.name"] == "openai"
    assert dict(chats[0].attributes or {})["server.address"] == "api.openai.com"
    # the API key never reaches a span
    for s in spans.get_finished_spans():
        assert KEY not in json.dumps(dict(s.attributes or {}), default=str)


def test_a_failing_tool_sets_error_type_on_its_span(spans: InMemorySpanExporter) -> None:
    @tool
    def explode() -> str:
        """Always fails."""
        raise RuntimeError("boom")

    script = Scripted(completion(None, [("c1", "explode", {})]), completion("It failed."))
    agent = Agent(name="e", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), tools=[explode])
    agent.generate("explode")
    span = by_name(spans)["execute_tool explode"][0]
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "RuntimeError"


def test_a_provider_error_marks_the_chat_and_run_spans(spans: InMemorySpanExporter) -> None:
    script = Scripted((401, {"error": {"message": "bad key", "code": "invalid_api_key"}}))
    agent = Agent(name="x", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client())
    with pytest.raises(ProviderError) as info:
        agent.generate("hi")
    named = by_name(spans)
    chat, run = named["chat gpt-test"][0], named["invoke_agent x"][0]
    for s in (chat, run):
        assert s.status.status_code is StatusCode.ERROR
        assert dict(s.attributes or {})["error.type"] == "401"
    partial = info.value.result  # type: ignore[attr-defined]
    assert partial.trace_id == hex_trace(run)


def test_approval_suspend_and_resume_continue_one_trace(spans: InMemorySpanExporter) -> None:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

    store = InMemoryRunStore()
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "7"})]), completion("Refunded."))
    agent = Agent(name="r", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(),
                  tools=[refund], storage=store)
    first = agent.generate("refund 7")
    assert first.finish_reason == "suspended" and first.trace_id is not None
    stored = store.load(first.run_id)
    assert stored is not None and stored.trace["trace_id"] == first.trace_id

    # a different agent object (as after a restart) resumes it
    agent2 = Agent(name="r", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(),
                   tools=[refund], storage=store)
    final = agent2.approve_tool_call(run_id=first.run_id, tool_call_id="c1")
    assert final.text == "Refunded."
    assert final.trace_id == first.trace_id
    runs = by_name(spans)["invoke_agent r"]
    assert len(runs) == 2
    part1, part2 = runs
    assert hex_trace(part1) == hex_trace(part2) == first.trace_id
    assert parent_id(part2) == part1.context.span_id  # type: ignore[union-attr]
    assert [link.context.span_id for link in part2.links] == [part1.context.span_id]  # type: ignore[union-attr]
    assert dict(part1.attributes or {})["gen_ai.response.finish_reasons"] == ("suspended",)
    wait = by_name(spans)["await_approval refund"][0]
    w = dict(wait.attributes or {})
    assert w["playground.approval.decision"] == "approved" and w["gen_ai.tool.call.id"] == "c1"
    assert wait.start_time is not None and part1.start_time is not None and wait.start_time >= part1.start_time
    assert parent_id(wait) == part1.context.span_id  # type: ignore[union-attr]
    tool_span = by_name(spans)["execute_tool refund"][0]
    assert parent_id(tool_span) == part2.context.span_id  # type: ignore[union-attr]
    assert hex_trace(tool_span) == first.trace_id


# -- embeddings -------------------------------------------------------------------------------------------------


def test_embeddings_span(spans: InMemorySpanExporter) -> None:
    result = Agent(model="demo").embed(["a", "b"]).embed_now()
    span = by_name(spans)["embeddings demo-1"][0]
    a = dict(span.attributes or {})
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert a["gen_ai.embeddings.dimension.count"] == len(result.embeddings[0])
    assert span.kind == trace.SpanKind.CLIENT
    assert result.trace_id == hex_trace(span)
    assert result.cost is not None and result.cost.total == 0


def test_a_failed_embedding_call_is_an_error_span(spans: InMemorySpanExporter) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(500, json={"error": {"message": "down", "code": "server_error"}})

    agent = Agent(model="openai-chat:text-embedding-3-small", api_key=KEY,
                  http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    with pytest.raises(ProviderError):
        agent.embed("x", model="openai-chat:text-embedding-3-small").embed_now()
    span = by_name(spans)["embeddings text-embedding-3-small"][0]
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "500"


# -- recorded provider traffic -----------------------------------------------------------------------------------


def _serve(rel: str) -> httpx2.Client:
    recorded = list(load(fixture(rel)))
    sent: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        it = recorded[len(sent)]
        sent.append(1)
        ctype = "text/event-stream" if it.is_sse else "application/json"
        return httpx2.Response(it.status, content=it.response_body, headers={"content-type": ctype})

    return httpx2.Client(transport=httpx2.MockTransport(handler))


@needs_fixtures
def test_recorded_anthropic_tool_conversation_is_traced(spans: InMemorySpanExporter) -> None:
    names = iter(["Charles", "Sammy"])

    @tool
    def pelican_name_generator() -> str:
        """Generate a name for a pet pelican."""
        return next(names)

    agent = Agent(name="pelican", model="anthropic:claude-haiku-4-5-20251001", tools=[pelican_name_generator],
                  api_key="sk-ant-test", http_client=_serve("anthropic/llm-anthropic__test_tools.yaml"))
    result = agent.stream("Two names for a pet pelican", max_output_tokens=8192).final_result()
    named = by_name(spans)
    chats = named["chat claude-haiku-4-5-20251001"]
    assert len(chats) == 2 and len(named["execute_tool pelican_name_generator"]) == 2
    run = named["invoke_agent pelican"][0]
    assert {hex_trace(s) for s in spans.get_finished_spans()} == {result.trace_id}
    first = dict(chats[0].attributes or {})
    assert first["gen_ai.provider.name"] == "anthropic"
    assert first["gen_ai.response.id"] == result.steps[0].response.id
    assert first["gen_ai.response.model"] == result.steps[0].response.model_id
    assert first["gen_ai.usage.input_tokens"] == result.steps[0].usage.input_tokens
    assert first["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert dict(run.attributes or {})["gen_ai.usage.output_tokens"] == result.usage.output_tokens


@needs_fixtures
def test_recorded_openai_responses_stream_is_traced(spans: InMemorySpanExporter) -> None:
    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    agent = Agent(name="calc", model="openai:gpt-5.5", tools=[multiply], api_key="sk-test",
                  http_client=_serve("openai_responses/llm__test_responses_tool_use_streaming.yaml"))
    result = agent.stream("What is 1231 * 2331? Use the multiply tool.").final_result()
    chats = by_name(spans)["chat gpt-5.5"]
    assert [dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in chats] == [58, 94]
    assert [s.span_id for s in result.steps] == [hex_span(c) for c in chats]


# -- OTLP/HTTP to a real receiver --------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    posts: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).posts.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_otel_exporter_otlp_endpoint_exports_to_a_real_receiver(tmp_path: Path) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    _Receiver.posts = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code = textwrap.dedent(
            """
            from playground import Agent
            r = Agent(name="exported", model="demo").generate("hello")
            print(r.trace_id)
            """
        )
        env = {
            "PATH": "/usr/bin:/bin",
            "PLAYGROUND_HOME": str(tmp_path),
            "PLAYGROUND_DEMO_DELAY": "0",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
            "OTEL_SERVICE_NAME": "tracing-test",
        }
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                             timeout=60, check=True)
        trace_id = out.stdout.strip().splitlines()[-1]
    finally:
        server.shutdown()
    paths = [p for p, _ in _Receiver.posts]
    assert paths and set(paths) == {"/v1/traces"}
    names, traces, services = [], set(), set()
    for _, body in _Receiver.posts:
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        for rs in req.resource_spans:
            services |= {a.value.string_value for a in rs.resource.attributes if a.key == "service.name"}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    names.append(s.name)
                    traces.add(s.trace_id.hex())
    assert sorted(names) == ["chat demo-1", "invoke_agent exported"]
    assert traces == {trace_id}
    assert services == {"tracing-test"}


# -- request_context ----------------------------------------------------------------------------------------------


def test_request_context_reaches_dynamic_instructions_and_processors() -> None:
    seen: dict[str, Any] = {}

    def instructions(request_context: dict[str, Any]) -> str:
        return f"You help {request_context['user']}."

    class Spy:
        def process_input(self, messages: list[Any], ctx: Any) -> None:
            seen["processor"] = ctx.request_context

    agent = Agent(model="demo", instructions=instructions, input_processors=[Spy()])
    gen = agent.prompt("hi", request_context={"user": "Ada"})
    assert gen.instructions == "You help Ada."
    gen.generate_now()
    assert seen["processor"] == {"user": "Ada"}


# -- the playgrounds' local store ---------------------------------------------------------------------------------


def test_the_playground_store_is_added_to_a_users_own_sdk_provider(spans: InMemorySpanExporter) -> None:
    from playground.store.traces import TraceStore
    from playground.tracing import local_spans, playground_tracer_provider

    assert playground_tracer_provider() is None  # the user's provider stays in charge ...
    assert playground_tracer_provider() is None  # ... and gets the store's processor once
    result = Agent(name="mine", model="demo").generate("hi")
    stored = local_spans(result.trace_id)
    assert {s["name"] for s in stored} == {"invoke_agent mine", "chat demo-1"}
    run = next(s for s in stored if s["name"] == "invoke_agent mine")
    chat = next(s for s in stored if s["name"] == "chat demo-1")
    assert chat["parent_id"] == run["span_id"] and run["trace_id"] == result.trace_id
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert TraceStore().traces()[0]["trace_id"] == result.trace_id


def test_with_no_provider_the_playground_uses_its_own_and_leaves_the_global_alone() -> None:
    from playground.tracing import local_spans, playground_tracer_provider

    _reset_global_provider()
    provider = playground_tracer_provider()
    assert provider is not None
    result = Agent(name="local", model="demo").generate("hi", tracing_options={"tracer_provider": provider})
    assert {s["name"] for s in local_spans(result.trace_id)} == {"invoke_agent local", "chat demo-1"}
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # a user may still set theirs
    assert Agent(model="demo").generate("hi").trace_id is None


def test_a_resumption_in_another_process_keeps_telemetry_request_context_and_prices(
    spans: InMemorySpanExporter,
) -> None:
    seen: list[Any] = []

    @tool(requires_approval=True)
    def refund(order_id: str, ctx: ToolContext) -> str:
        """Refund an order."""
        seen.append(ctx.request_context)
        return f"refunded {order_id}"

    store = InMemoryRunStore()
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "7"})]), completion("Refunded."))

    def agent() -> Agent:  # a fresh Agent each time: nothing live is shared, only the store
        return Agent(name="r", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(),
                     tools=[refund], storage=store)

    first = agent().generate(
        "refund 7", telemetry={"record_outputs": True}, request_context={"tenant": "acme"},
        tracing_options={"metadata": {"ticket": "T-1"}}, prices={"input_mtok": 1, "output_mtok": 1},
    )
    final = agent().approve_tool_call(run_id=first.run_id, tool_call_id="c1")
    assert seen == [{"tenant": "acme"}]
    assert final.cost is not None and final.cost.source == "prices= override"
    last_chat = by_name(spans)["chat gpt-test"][-1]
    assert "Refunded." in str(dict(last_chat.attributes or {})["gen_ai.output.messages"])
    resumed = by_name(spans)["invoke_agent r"][-1]
    assert dict(resumed.attributes or {})["playground.metadata.ticket"] == "T-1"


async def test_async_tools_are_traced_under_the_run(spans: InMemorySpanExporter) -> None:
    import asyncio

    @tool
    async def slow_lookup(order_id: str) -> str:
        """Look an order up (async)."""
        inner = trace.get_tracer("tool-code").start_span("db query")  # the tool's own span nests under it
        await asyncio.sleep(0)
        inner.end()
        return f"order {order_id}"

    script = Scripted(completion(None, [("c1", "slow_lookup", {"order_id": "9"}), ("c2", "slow_lookup",
                                                                                  {"order_id": "10"})]),
                      completion("Both found."))
    agent = Agent(name="a", model="openai-chat:gpt-test", api_key=KEY, http_client=script.async_client(),
                  tools=[slow_lookup])
    result = await agent.generate_async("look up 9 and 10", tool_call_concurrency=2)
    named = by_name(spans)
    run = named["invoke_agent a"][0]
    tools = named["execute_tool slow_lookup"]
    assert len(tools) == 2 and all(parent_id(t) == run.context.span_id for t in tools)  # type: ignore[union-attr]
    assert sorted(str(dict(t.attributes or {})["gen_ai.tool.call.id"]) for t in tools) == ["c1", "c2"]
    inner = named["db query"]
    assert {parent_id(i) for i in inner} == {t.context.span_id for t in tools}  # type: ignore[union-attr]
    assert result.trace_id == hex_trace(run)


@needs_fixtures
def test_recorded_anthropic_context_length_error_marks_the_spans(spans: InMemorySpanExporter) -> None:
    from playground import ContextLengthError

    rel = ("anthropic/ruby_llm__chat_real_error_scenarios_anthropic_claude-haiku-4-5_handles_context_length_exceeded_"
           "errors.yml")
    agent = Agent(name="big", model="anthropic:claude-haiku-4-5", api_key="sk-ant-test", http_client=_serve(rel))
    with pytest.raises(ContextLengthError):
        agent.generate("a very long prompt")
    named = by_name(spans)
    chat, run = named["chat claude-haiku-4-5"][0], named["invoke_agent big"][0]
    assert parent_id(chat) == run.context.span_id  # type: ignore[union-attr]
    for s in (chat, run):
        assert s.status.status_code is StatusCode.ERROR
        assert dict(s.attributes or {})["error.type"] == "400"
    assert "sk-ant-test" not in str(chat.status.description) + json.dumps(dict(chat.attributes or {}), default=str)
