"""A finished stream keeps its raw events compactly (RawEvents) and every reader sees the list of str it saw before."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, RawEvents
from playground.display import step_html, to_json
from playground.report_html import report_html
from playground.result import GenerationResult, RawResponse, fast_construct
from playground.ui.render import raw_responses

EVENTS = ['{"id": "c1", "choices": [{"delta": {"content": "Hi"}}]}', "", "héllo 🌊 wave", "\ud800 lone", "[DONE]"]
WIRE = [e for e in EVENTS if "\ud800" not in e]  # what JSON can carry (a lone surrogate is kept, not serialised)


def _stream(agent: Agent, prompt: str = "Tell me about tide pools") -> GenerationResult:
    run = agent.stream(prompt)
    for _ in run:
        pass
    assert run.result is not None
    return run.result


def _sse_data(chunks: list[str]) -> list[str]:
    """The data of every SSE event in a body as received (single-line `data:` events, as the providers send)."""
    events = "".join(chunks).replace("\r\n", "\n").split("\n\n")
    out = []
    for ev in events:
        data = [line[5:].removeprefix(" ") for line in ev.split("\n") if line.startswith("data:")]
        if data:
            out.append("\n".join(data))
    return out


def test_reads_as_the_list_it_replaces() -> None:
    body = RawEvents(EVENTS)
    assert isinstance(body, Sequence) and len(body) == 5 and bool(body) and not RawEvents()
    assert body[0] == EVENTS[0] and body[-1] == "[DONE]" and body[2] == "héllo 🌊 wave" and body[3] == "\ud800 lone"
    assert body[1] == "" and body[-5] == EVENTS[0]
    with pytest.raises(IndexError):
        body[5]
    with pytest.raises(IndexError):
        body[-6]
    assert body[1:3] == EVENTS[1:3] and isinstance(body[1:3], list) and body[::-1] == EVENTS[::-1] and body[9:] == []
    assert list(body) == EVENTS and body.tolist() == EVENTS and list(reversed(body)) == EVENTS[::-1]
    assert body == EVENTS and EVENTS == body and body == tuple(EVENTS) and body == RawEvents(EVENTS)  # noqa: SIM300  (the list on the left too)
    assert body != EVENTS[:-1] and body != [*EVENTS[:-1], "[DONE] "] and body != "[DONE]" and body != RawEvents(["x"])
    assert RawEvents(["ab", "c"]) != RawEvents(["a", "bc"])  # same joined data, other events
    assert repr(body) == repr(EVENTS) and str(body) == str(EVENTS)
    assert "[DONE]" in body and "DONE" not in body and body.index("[DONE]") == 4 and body.count("") == 1
    assert hash(body) == hash(RawEvents(EVENTS))
    assert pickle.loads(pickle.dumps(body)) == EVENTS and copy.deepcopy(body) == EVENTS
    assert json.dumps(body.tolist()) == json.dumps(EVENTS)


def test_serialises_exactly_as_the_list_did() -> None:
    def response(body: Any) -> RawResponse:
        return fast_construct(RawResponse, status=200, headers={"content-type": "text/event-stream"}, body=body,
                              stream=True)

    compact, listed = response(RawEvents(WIRE)), response(list(WIRE))
    assert compact.model_dump_json() == listed.model_dump_json()
    assert compact.model_dump(mode="json") == listed.model_dump(mode="json") == {
        "status": 200, "headers": {"content-type": "text/event-stream"}, "body": WIRE, "stream": True}
    assert type(compact.model_dump()["body"]) is list
    assert compact.model_dump_json(fallback=str) == listed.model_dump_json()  # as a run store dumps (no str(obj))
    assert to_json({"body": compact.body}) == to_json({"body": WIRE})  # notebook views and the HTML report
    back = RawResponse.model_validate_json(compact.model_dump_json())
    assert back.body == compact.body == WIRE


def test_a_finished_stream_keeps_every_event_as_received_compactly(tmp_path: Path) -> None:
    """The cassette holds the body as it came over the wire: the raw events are exactly its SSE data, in order, and a
    replay of it gives the same raw events again."""
    path = tmp_path / "demo.cassette"
    recorded = _stream(Agent(model="demo", record=path))
    body = recorded.steps[-1].raw_response.body  # type: ignore[union-attr]
    assert isinstance(body, RawEvents) and body[-1] == "[DONE]" and len(body) > 10
    interactions = json.loads(path.read_text())["interactions"]
    wire = _sse_data([c for _, c in interactions[-1]["response"]["chunks"]])
    assert body == wire
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in body[:-1]
                   if json.loads(e)["choices"])
    assert text == recorded.text

    replayed = _stream(Agent(model=f"replay:{path}"))
    again = replayed.steps[-1].raw_response.body  # type: ignore[union-attr]
    assert isinstance(again, RawEvents) and again == body and replayed.text == recorded.text
    assert replayed.steps[-1].raw_response.model_dump() == recorded.steps[-1].raw_response.model_dump()  # type: ignore[union-attr]


def test_every_view_shows_every_event() -> None:
    result = _stream(Agent(model="demo"))
    step = result.steps[-1]
    body = step.raw_response.body  # type: ignore[union-attr]
    panel = raw_responses(result.steps)["step 1"]
    assert panel["stream"] is True and len(panel["body"]) == len(body)
    assert panel["body"][:-1] == [json.loads(e) for e in body[:-1]] and panel["body"][-1] == "[DONE]"
    html = step_html(step)
    assert "Raw response (stream events)" in html and html.count("[DONE]") == 1
    assert html.count("chat.completion.chunk") == len(body) - 1
    report = report_html([result])
    assert report.count("chat.completion.chunk") == len(body) - 1 and "[DONE]" in report
    dumped = json.loads(result.model_dump_json())
    assert dumped["steps"][-1]["raw_response"]["body"] == list(body)


async def test_a_saved_session_loads_with_the_same_raw_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    from playground.ui.session import PlaygroundSession

    session = PlaygroundSession()
    _ = [ev async for ev in session.send("Tell me about tide pools")]
    result = session.exchanges[-1].result
    assert result is not None, session.exchanges[-1].error
    body = result.steps[-1].raw_response.body  # type: ignore[union-attr]
    assert isinstance(body, RawEvents) and body[-1] == "[DONE]"
    saved = session.save()
    assert json.loads(saved)["exchanges"][-1]["result"]["steps"][-1]["raw_response"]["body"] == list(body)
    other = PlaygroundSession()
    assert other.load(saved) == []
    loaded = other.exchanges[-1].result
    assert loaded is not None and loaded.steps[-1].raw_response.body == body  # type: ignore[union-attr]
    assert raw_responses(loaded.steps) == raw_responses(result.steps)


def test_memory_per_event_against_a_list_of_str() -> None:
    """tracemalloc: what 2,000 typical ~150-byte stream events keep as RawEvents and as the list of str they were."""
    events = [f'{{"id":"chatcmpl-{i:06d}","object":"chat.completion.chunk","created":1796153915,"model":"m",'
              f'"choices":[{{"index":0,"delta":{{"content":"w{i}"}},"finish_reason":null}}]}}' for i in range(2000)]
    data_bytes = sum(len(e) for e in events) / len(events)

    def kept(build: Any) -> float:
        source = "\n".join(events)  # the events come from elsewhere: only what is built is measured
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        value = build(source)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(value) == len(events)
        return (after - before) / len(events)

    as_list = kept(lambda s: s.split("\n"))
    compact = kept(lambda s: RawEvents(s.split("\n")))
    assert 140 < data_bytes < 170
    assert as_list > data_bytes + 50  # a pointer and a str object per event
    # the data, a 4-byte offset per event and the offsets array's growth
    assert compact < data_bytes + 10, (data_bytes, compact)
    assert compact < as_list - 40
    assert RawEvents(events) == events, (as_list, compact)
