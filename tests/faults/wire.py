"""Each provider's wire shapes for the fault-injection suite: a good answer (whole and streamed), a stream's partial
events, its finish events, an in-stream error and an error body, all echoing the planted key where a server might."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

KEY = "sk-fault-CANARY-0123456789abcdefXYZ"
"""The planted key: every test asserts it appears nowhere the user can see."""

PARTIAL_TEXT = "Hello world "
"""What every partial stream says before its fault."""


def frame(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


@dataclass(frozen=True)
class Wire:
    name: str
    model: str
    base_url: str | None
    whole: Callable[[str], dict[str, Any]]
    partial: Callable[[], list[bytes]]
    finish: Callable[[], list[bytes]]
    stream_error: Callable[[], bytes]
    error_body: Callable[[int, str], dict[str, Any]]
    error_object_200: Callable[[], dict[str, Any]]


# -- OpenAI Chat Completions (and OpenAI-compatible servers) -------------------------------------------------------

_CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test"}


def _chat_whole(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def _chat_partial() -> list[bytes]:
    return [
        frame({**_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
        *(frame({**_CHUNK, "choices": [{"index": 0, "delta": {"content": w}}]}) for w in ("Hello ", "world ")),
    ]


def _chat_finish() -> list[bytes]:
    return [frame({**_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}), frame("[DONE]")]


def _openai_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error"}}


CHAT = Wire(
    "openai-chat",
    "openai-chat:gpt-test",
    None,
    _chat_whole,
    _chat_partial,
    _chat_finish,
    lambda: frame({"error": {"message": f"boom mid-stream for {KEY}", "type": "server_error"}}),
    _openai_error,
    lambda: {"error": {"message": f"boom for {KEY}", "type": "server_error"}},
)

COMPATIBLE = Wire(
    "openai-compatible",
    "openai-compatible:local-model",
    "http://127.0.0.1:8000/v1",
    _chat_whole,
    _chat_partial,
    _chat_finish,
    CHAT.stream_error,
    _openai_error,
    CHAT.error_object_200,
)

# -- OpenAI Responses ----------------------------------------------------------------------------------------------


def _responses_whole(text: str) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "gpt-test",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    }


def _responses_partial() -> list[bytes]:
    return [
        frame({"type": "response.created", "response": {"id": "resp_1", "model": "gpt-test", "created_at": 1}}),
        frame(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "message", "id": "msg_1", "role": "assistant", "content": []},
            }
        ),
        *(
            frame({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": w})
            for w in ("Hello ", "world ")
        ),
    ]


def _responses_finish() -> list[bytes]:
    whole = _responses_whole(PARTIAL_TEXT)
    return [frame({"type": "response.completed", "response": whole})]


RESPONSES = Wire(
    "openai",
    "openai:gpt-test",
    None,
    _responses_whole,
    _responses_partial,
    _responses_finish,
    lambda: frame({"type": "error", "code": "server_error", "message": f"boom mid-stream for {KEY}"}),
    _openai_error,
    lambda: {"error": {"message": f"boom for {KEY}", "type": "server_error"}, "output": []},
)

# -- Anthropic -----------------------------------------------------------------------------------------------------


def _anthropic_whole(text: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }


def _anthropic_partial() -> list[bytes]:
    return [
        frame(
            {
                "type": "message_start",
                "message": {"id": "msg_1", "model": "claude-test", "usage": {"input_tokens": 3, "output_tokens": 0}},
            },
            "message_start",
        ),
        frame(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        *(
            frame(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}},
                "content_block_delta",
            )
            for w in ("Hello ", "world ")
        ),
    ]


def _anthropic_finish() -> list[bytes]:
    return [
        frame({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        frame(
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
            "message_delta",
        ),
        frame({"type": "message_stop"}, "message_stop"),
    ]


ANTHROPIC = Wire(
    "anthropic",
    "anthropic:claude-test",
    None,
    _anthropic_whole,
    _anthropic_partial,
    _anthropic_finish,
    lambda: frame(
        {"type": "error", "error": {"type": "overloaded_error", "message": f"Overloaded ({KEY})"}}, "error"
    ),
    lambda status, message: {"type": "error", "error": {"type": "api_error", "message": message}},
    lambda: {"type": "error", "error": {"type": "api_error", "message": f"boom for {KEY}"}},
)

# -- Gemini --------------------------------------------------------------------------------------------------------

_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _gemini_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    chunk: dict[str, Any] = {"candidates": [cand], "responseId": "r1", "modelVersion": "gemini-test"}
    if finish:
        chunk["usageMetadata"] = {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}
    return chunk


GEMINI = Wire(
    "gemini",
    "gemini:gemini-test",
    None,
    lambda text: _gemini_chunk(text, "STOP"),
    lambda: [frame(_gemini_chunk(w)) for w in ("Hello ", "world ")],
    lambda: [frame(_gemini_chunk("", "STOP"))],
    lambda: frame({"error": {"code": 500, "message": f"boom mid-stream for {KEY}", "status": "INTERNAL"}}),
    lambda status, message: {
        "error": {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "UNKNOWN")}
    },
    lambda: {"error": {"code": 500, "message": f"boom for {KEY}", "status": "INTERNAL"}},
)

WIRES = [CHAT, RESPONSES, ANTHROPIC, GEMINI, COMPATIBLE]


# -- byte streams that fail part-way -------------------------------------------------------------------------------


class FailingStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """Yields `chunks`, then raises `exc` (a reset or a read timeout) as a real socket would mid-body."""

    def __init__(self, chunks: list[bytes], exc: Exception) -> None:
        self.chunks = chunks
        self.exc = exc

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        raise self.exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for c in self.chunks:
            yield c
        raise self.exc
