"""Record against a real local server (http.server on 127.0.0.1, started here), then replay with no server running."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from playground import Agent, tool
from playground.errors import ConfigurationError, ProviderError
from playground.replay import CASSETTE_VERSION, Cassette, ReplayMismatchError

KEY = "sk-test-SECRET-replay-0123456789abcdef"
CHUNK_DELAY = 0.03
WORDS = ["Sunny ", "in ", "Paris, ", "21 ", "degrees ", "and ", "a ", "light ", "breeze."]


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-rec",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta or finish else [],
    }
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n".encode()


class FakeOpenAI(BaseHTTPRequestHandler):
    """Chat Completions: a get_weather call when tools are offered and the user spoke last, else a paced text."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        type(self).seen.append({"auth": self.headers.get("authorization"), "body": body})
        last = body["messages"][-1]
        wants_tool = bool(body.get("tools")) and last["role"] == "user"
        city = "Rome" if "Rome" in json.dumps(body["messages"]) else "Paris"
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": "".join(WORDS)}
            if wants_tool:
                message = {"role": "assistant", "content": None, "tool_calls": [{
                    "id": "call_w1", "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}]}
            data = json.dumps({"id": "chatcmpl-rec", "object": "chat.completion", "created": 1, "model": "gpt-test",
                               "choices": [{"index": 0, "message": message,
                                            "finish_reason": "tool_calls" if wants_tool else "stop"}],
                               "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("set-cookie", "session=abc123secretcookie")
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        if wants_tool:
            self.wfile.write(_chunk({"role": "assistant", "tool_calls": [{
                "index": 0, "id": "call_w1", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}))
            self.wfile.flush()
            time.sleep(CHUNK_DELAY)
            args = json.dumps({"city": city})
            self.wfile.write(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}))
            self.wfile.write(_chunk({}, "tool_calls"))
        else:
            self.wfile.write(_chunk({"role": "assistant", "content": ""}))
            for word in WORDS:
                self.wfile.flush()
                time.sleep(CHUNK_DELAY)
                self.wfile.write(_chunk({"content": word}))
            self.wfile.write(_chunk({}, "stop"))
        self.wfile.write(_chunk({}, usage={"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@pytest.fixture
def server() -> Iterator[str]:
    FakeOpenAI.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def weather_tools(log: list[str], *, approval: bool = False) -> list[Any]:
    @tool(requires_approval=approval)
    def get_weather(city: str) -> str:
        """The weather in a city."""
        log.append(city)
        return f"{city}: 21 degrees, sunny"

    return [get_weather]


def recording_agent(base_url: str, path: Path, log: list[str], **kw: Any) -> Agent:
    return Agent(name="weather", instructions="You report the weather.", model="openai-chat:gpt-test",
                 api_key=KEY, base_url=base_url, record=str(path), tools=weather_tools(log, **kw))


def replay_agent(path: Path, log: list[str], speed: str = "inf", **kw: Any) -> Agent:
    return Agent(name="weather", instructions="You report the weather.", model=f"replay:{path}?speed={speed}",
                 tools=weather_tools(log, **kw))


def panels(result: Any) -> list[tuple[Any, Any]]:
    return [(s.raw_request.model_dump(), s.raw_response.model_dump()) for s in result.steps]


def stop(url: str) -> None:
    """The server is gone: a request to it now fails (so a replay that passed cannot have reached it)."""
    import httpx2

    with pytest.raises(httpx2.TransportError):
        httpx2.get(url, timeout=1)


def test_record_then_replay_offline_panels_identical(server: str, tmp_path: Path) -> None:
    path = tmp_path / "demo.cassette"
    log: list[str] = []
    run = recording_agent(server, path, log).stream("What is the weather in Paris?")
    for _ in run:
        pass
    recorded = run.result
    assert recorded is not None and recorded.text == "".join(WORDS)
    assert log == ["Paris"] and len(recorded.steps) == 2
    assert FakeOpenAI.seen[0]["auth"] == f"Bearer {KEY}"  # the live run really sent the key ...

    text = path.read_text()
    assert KEY not in text and "abc123secretcookie" not in text  # ... and the cassette never holds it
    data = json.loads(text)
    assert data["format"] == "playground-cassette" and data["version"] == CASSETTE_VERSION
    assert data["model"] == "openai-chat:gpt-test" and len(data["interactions"]) == 2
    assert len(text) < 20_000

    sent_live = len(FakeOpenAI.seen)
    log2: list[str] = []
    run2 = replay_agent(path, log2).stream("What is the weather in Paris?")
    events = [type(e).__name__ for e in run2]
    replayed = run2.result
    assert replayed is not None
    assert len(FakeOpenAI.seen) == sent_live  # nothing reached the server
    assert replayed.text == recorded.text
    assert log2 == ["Paris"]  # the tool ran again
    assert panels(replayed) == panels(recorded)
    assert [s.tool_calls for s in replayed.steps] == [s.tool_calls for s in recorded.steps]
    assert replayed.usage == recorded.usage
    assert events.count("TextDeltaEvent") >= len(WORDS) or len(events) > len(WORDS)
    shown = json.dumps([panels(replayed)], default=str)
    assert KEY not in shown and "Bearer sk-...cdef" in shown


def test_replay_with_the_server_stopped(tmp_path: Path) -> None:
    """The replay above could in principle have used the server; here it is not running at all."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    # record on a server that then goes away
    FakeOpenAI.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", port), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    path = tmp_path / "s.cassette"
    log: list[str] = []
    recorded = recording_agent(url, path, log).generate("What is the weather in Paris?")
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)
    stop(url)
    replayed = replay_agent(path, []).generate("What is the weather in Paris?")
    assert replayed.text == recorded.text and panels(replayed) == panels(recorded)
    assert "abc123secretcookie" not in path.read_text()


def test_replay_async_and_twice(server: str, tmp_path: Path) -> None:
    path = tmp_path / "a.cassette"
    recorded = asyncio.run(recording_agent(server, path, []).generate_async("What is the weather in Paris?"))
    agent = replay_agent(path, [])
    first = asyncio.run(agent.generate_async("What is the weather in Paris?"))
    second = agent.generate("What is the weather in Paris?")  # a demo shown twice: the recording again
    assert panels(first) == panels(recorded) == panels(second)


def test_replay_pace_is_the_recorded_pace_and_speed_divides_it(server: str, tmp_path: Path) -> None:
    path = tmp_path / "pace.cassette"
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, base_url=server, record=str(path))
    for _ in agent.stream("Tell me the weather."):
        pass
    chunks = json.loads(path.read_text())["interactions"][0]["response"]["chunks"]
    first = next(t for t, c in chunks if f'"content": "{WORDS[0]}"' in c)
    last = next(t for t, c in chunks if f'"content": "{WORDS[-1]}"' in c)
    span = (last - first) / 1000  # seconds between the first and the last word, as recorded

    def replay_gaps(speed: str) -> tuple[float, float]:
        run = Agent(model=f"replay:{path}?speed={speed}").stream("Tell me the weather.")
        times: list[float] = []
        started = time.perf_counter()
        for ev in run:
            if type(ev).__name__ == "TextDeltaEvent":
                times.append(time.perf_counter())
        assert run.result is not None and run.result.text == "".join(WORDS)
        return times[-1] - times[0], time.perf_counter() - started

    fast_span, fast_total = replay_gaps("inf")
    normal_span, _ = replay_gaps("1")
    quick_span, _ = replay_gaps("4")
    assert span > 0
    # at speed 1 the text arrives over the recorded span (never faster; slower by no more than the overhead measured
    # in the speed=inf replay plus a quarter); speed 4 takes about a quarter of it
    assert normal_span >= span * 0.9
    assert normal_span <= span * 1.25 + fast_total * 2
    assert quick_span < normal_span / 2
    assert quick_span >= span / 4 * 0.9
    assert fast_span < normal_span / 4


def test_a_mismatching_request_shows_what_changed(server: str, tmp_path: Path) -> None:
    path = tmp_path / "m.cassette"
    recording_agent(server, path, []).generate("What is the weather in Paris?", temperature=0.2)
    agent = replay_agent(path, [])
    with pytest.raises(ReplayMismatchError) as err:
        agent.generate("What is the weather in Rome?", temperature=0.2)
    msg = str(err.value)
    assert isinstance(err.value, ProviderError)
    changed = "body.messages[1].content: recorded 'What is the weather in Paris?', now 'What is the weather in Rome?'"
    assert changed in msg
    assert "m.cassette" in msg and "record" in msg
    with pytest.raises(ReplayMismatchError) as err2:
        agent.generate("What is the weather in Paris?", temperature=0.7)
    assert "body.temperature: recorded 0.2, now 0.7" in str(err2.value)
    assert err2.value.differences == ["body.temperature: recorded 0.2, now 0.7"]
    # the recorded request still replays
    assert agent.generate("What is the weather in Paris?", temperature=0.2).text == "".join(WORDS)


def test_approvals_pause_in_the_replay_as_they_did(server: str, tmp_path: Path) -> None:
    path = tmp_path / "ap.cassette"
    log: list[str] = []
    rec_agent = recording_agent(server, path, log, approval=True)
    first = rec_agent.generate("What is the weather in Paris?")
    assert first.suspended and log == []
    assert first.suspend_payload is not None
    done = rec_agent.approve_tool_call(first.run_id, first.suspend_payload.tool_call_id)
    assert log == ["Paris"]

    log2: list[str] = []
    agent = replay_agent(path, log2, approval=True)
    again = agent.generate("What is the weather in Paris?")
    assert again.suspended and log2 == []
    assert again.suspend_payload is not None and again.suspend_payload.tool_name == "get_weather"
    finished = agent.approve_tool_call(again.run_id, again.suspend_payload.tool_call_id)
    assert log2 == ["Paris"] and finished.text == done.text
    assert panels(finished) == panels(done)


def test_cassette_errors_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match=r"no cassette at .*record one first"):
        Agent(model=f"replay:{tmp_path / 'missing.cassette'}").generate("hi")
    bad = tmp_path / "bad.cassette"
    bad.write_text(json.dumps({"format": "playground-cassette", "version": CASSETTE_VERSION + 1, "interactions": []}))
    with pytest.raises(ConfigurationError, match=r"version 2.*reads version 1"):
        Agent(model=f"replay:{bad}").generate("hi")
    bad.write_text("not json")
    with pytest.raises(ConfigurationError, match="not a cassette"):
        Cassette.load(bad)
    good = tmp_path / "good.cassette"
    Cassette(model="openai-chat:gpt-test", path=str(good)).save()
    with pytest.raises(ConfigurationError, match="speed"):
        Agent(model=f"replay:{good}?speed=fast").generate("hi")
    with pytest.raises(ConfigurationError, match="unknown replay option 'pace'"):
        Agent(model=f"replay:{good}?pace=2").generate("hi")
    monkeypatch.setenv("PLAYGROUND_REPLAY_SPEED", "0")
    with pytest.raises(ConfigurationError, match="PLAYGROUND_REPLAY_SPEED"):
        Agent(model=f"replay:{good}").generate("hi")
    with pytest.raises(ConfigurationError, match="record: expected a cassette file path"):
        Agent(record=42)  # type: ignore[arg-type]


def test_recording_the_demo_model_offline(tmp_path: Path) -> None:
    path = tmp_path / "demo.cassette"
    recorded = Agent(model="demo", record=path).generate("hello there")
    replayed = Agent(model=f"replay:{path}").generate("hello there")
    assert replayed.text == recorded.text and panels(replayed) == panels(recorded)


async def test_playground_session_records_a_real_provider_and_replays_it(server: str, tmp_path: Path) -> None:
    """The session's own async client (which counts attempts) records too; the typed key never reaches the file."""
    from playground.ui.session import PlaygroundSession

    session = PlaygroundSession()
    session.set_provider("openai-compatible")
    session.set_base_url(server)
    session.set_model("gpt-test")
    session.set_api_key(KEY)
    path = tmp_path / "session.cassette"
    session.set_record(path)
    _ = [ev async for ev in session.send("Tell me the weather.")]
    recorded = session.exchanges[-1].result
    assert recorded is not None and recorded.text == "".join(WORDS), session.exchanges[-1].error
    assert FakeOpenAI.seen[-1]["auth"] == f"Bearer {KEY}"
    assert session.attempt >= 1  # the attempt counter still ran while recording
    session.set_record(None)
    text = path.read_text()
    assert KEY not in text and json.loads(text)["model"] == "openai-compatible:gpt-test"
    sent = len(FakeOpenAI.seen)
    session.reset()
    session.set_provider("replay")
    session.set_model(f"{path}?speed=inf")
    _ = [ev async for ev in session.send("Tell me the weather.")]
    replayed = session.exchanges[-1].result
    assert replayed is not None and replayed.text == recorded.text, session.exchanges[-1].error
    assert panels(replayed) == panels(recorded)
    assert len(FakeOpenAI.seen) == sent


def test_no_key_reaches_the_cassette_wherever_it_hides(tmp_path: Path) -> None:
    """A key in a header, the URL's query, the request body and echoed back in the response: all masked."""
    import httpx2

    from playground.replay import Recorder, recording_clients

    def echo(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"set-cookie": f"s={KEY}", "x-echo": KEY},
                               json={"echo": request.content.decode(), "url": str(request.url)})

    class Keyed:
        base_url = f"https://api.example.com/v1?key={KEY}"

        def secrets(self) -> list[str]:
            return [KEY]

    path = tmp_path / "k.cassette"
    mock = httpx2.Client(transport=httpx2.MockTransport(echo))
    client, _ = recording_clients(Recorder(path), Keyed(), "gemini:x", mock, None)
    assert client is not None
    client.post(f"https://api.example.com/v1/x?key={KEY}&alt=sse", headers={"x-goog-api-key": KEY},
                json={"note": f"my key is {KEY}"}).read()
    text = path.read_text()
    assert KEY not in text and "SECRET-replay-0123" not in text  # not even a part beyond the masked form's tail
    data = json.loads(text)
    assert data["interactions"][0]["request"]["headers"]["x-goog-api-key"] != KEY
    assert "key=****" in data["interactions"][0]["request"]["url"] and "key=****" in data["base_url"]
