"""A scripted OpenAI Chat Completions server on httpx2.MockTransport: answers in order, records every request."""

from __future__ import annotations

import json
from typing import Any

import httpx2


def completion(
    content: str | None = None,
    tool_calls: list[tuple[str, str, dict[str, Any]]] | None = None,
    *,
    finish: str | None = None,
    usage: tuple[int, int] = (10, 5),
    reasoning: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for cid, name, args in tool_calls
        ]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-test",
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish or ("tool_calls" if tool_calls else "stop")}
        ],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def sse(chunks: list[dict[str, Any] | str]) -> bytes:
    return b"".join(f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks)


def stream_of(body: dict[str, Any]) -> bytes:
    """A completion as the chunks a real server would stream (content word by word, tool args in two pieces)."""
    msg = body["choices"][0]["message"]
    base = {"id": body["id"], "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
    chunks: list[dict[str, Any] | str] = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    for word in (msg.get("content") or "").split(" "):
        if word:
            chunks.append({**base, "choices": [{"index": 0, "delta": {"content": word + " "}}]})
    for i, tc in enumerate(msg.get("tool_calls") or []):
        args = tc["function"]["arguments"]
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": i,
                                    "id": tc["id"],
                                    "type": "function",
                                    "function": {"name": tc["function"]["name"], "arguments": args[:3]},
                                }
                            ]
                        },
                    }
                ],
            }
        )
        chunks.append(
            {
                **base,
                "choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, "function": {"arguments": args[3:]}}]}}],
            }
        )
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": body["choices"][0]["finish_reason"]}]}
    )
    chunks.append({**base, "choices": [], "usage": body["usage"]})
    chunks.append("[DONE]")
    return sse(chunks)


class Scripted:
    """Answers each request with the next scripted reply (dict -> JSON or SSE; (status, body) -> an error)."""

    def __init__(self, *replies: Any, headers: dict[str, str] | None = None) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []
        self.headers = headers or {}

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.replies:
            return httpx2.Response(500, json={"error": {"message": "script exhausted", "code": "test"}})
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, tuple):
            status, body = reply[0], reply[1]
            headers = reply[2] if len(reply) > 2 else {}
            return httpx2.Response(status, json=body, headers={**self.headers, **headers})
        if json.loads(request.content or b"{}").get("stream"):
            return httpx2.Response(
                200, content=stream_of(reply), headers={**self.headers, "content-type": "text/event-stream"}
            )
        return httpx2.Response(200, json=reply, headers=self.headers)

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))

    def async_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))
