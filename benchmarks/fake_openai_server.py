"""A small, fast OpenAI-compatible server for benchmarks (asyncio, HTTP/1.1 keep-alive), run in its own process.

POST /v1/chat/completions answers:
- a tool call when tools are offered and the last message is the user's, else a short text;
- with "stream": true, N SSE chunks (N from the `x-chunks` header, default 200) then usage and [DONE].
"""

from __future__ import annotations

import asyncio
import json
import sys

TEXT = {
    "id": "chatcmpl-b",
    "object": "chat.completion",
    "created": 1,
    "model": "bench",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from the benchmark server."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
}
TOOL = {
    "id": "chatcmpl-t",
    "object": "chat.completion",
    "created": 1,
    "model": "bench",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
}
TEXT_BYTES = json.dumps(TEXT).encode()
TOOL_BYTES = json.dumps(TOOL).encode()


def stream_body(n: int) -> bytes:
    base = (
        '{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1,"model":"bench","choices":[{"index":0,"delta":'
    )
    parts = [f'data: {base}{{"role":"assistant","content":""}},"finish_reason":null}}]}}\n\n']
    for i in range(n):
        parts.append(f'data: {base}{{"content":"tok{i} "}},"finish_reason":null}}]}}\n\n')
    parts.append(f'data: {base}{{}},"finish_reason":"stop"}}]}}\n\n')
    parts.append(
        'data: {"id":"chatcmpl-s","object":"chat.completion.chunk","created":1,"model":"bench","choices":[],'
        f'"usage":{{"prompt_tokens":10,"completion_tokens":{n},"total_tokens":{n + 10}}}}}\n\n'
    )
    parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


STREAMS: dict[int, bytes] = {}


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            req = json.loads(body) if body else {}
            if req.get("stream"):
                n = int(headers.get("x-chunks", "200"))
                payload = STREAMS.get(n) or STREAMS.setdefault(n, stream_body(n))
                ctype = b"text/event-stream"
            else:
                last = (req.get("messages") or [{}])[-1]
                payload = TOOL_BYTES if req.get("tools") and last.get("role") == "user" else TEXT_BYTES
                ctype = b"application/json"
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: "
                + ctype
                + b"\r\ncontent-length: "
                + str(len(payload)).encode()
                + b"\r\n\r\n"
                + payload
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
