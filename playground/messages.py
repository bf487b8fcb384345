"""Messages and their parts, and the normalisation of every accepted input shape into `list[Message]`.

Accepted inputs (as in Mastra's `generate(messages)`): a string, a list of strings, a list of `{"role", "content"}`
dicts (content a string or a list of parts), a list of `Message`, or a mix. Parts may be given in AI-SDK / OpenAI shapes
(`{"type": "image_url", "image_url": {"url": ...}}`, `{"type": "image", "image": ...}`) and are normalised.
Mastra / AI SDK UI messages (`{"id", "role", "parts": [...]}`, also Mastra's stored `content: {"format": 2, "parts"}`)
are accepted: text, reasoning, file, source-url and tool parts (a tool part with its output becomes the call and a
tool message). A message that normalises to nothing (empty text, no parts) is an error, not an empty turn.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .errors import ConfigurationError
from .gc_pause import paused_gc

Role = Literal["system", "user", "assistant", "tool"]


class _Part(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=False)


class TextPart(_Part):
    type: Literal["text"] = "text"
    text: str


class ImagePart(_Part):
    """An image by URL or as base64 data. `media_type` is required with data (e.g. image/png)."""

    type: Literal["image"] = "image"
    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None

    def data_url(self) -> str:
        if self.url:
            return self.url
        return f"data:{self.media_type or 'image/png'};base64,{self.data}"


class FilePart(_Part):
    """A document (PDF, text ...) by URL or as base64 data."""

    type: Literal["file"] = "file"
    url: str | None = None
    data: str | None = None
    media_type: str = "application/octet-stream"
    filename: str | None = None
    provider_options: dict[str, Any] | None = None
    """Per-provider options of this file, e.g. {"anthropic": {"citations": {"enabled": True}}} (cited -> sources)."""

    def data_url(self) -> str:
        if self.url:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"


class ToolCallPart(_Part):
    type: Literal["tool-call"] = "tool-call"
    tool_call_id: str
    tool_name: str
    args: dict[str, Any] = Field(default_factory=dict)
    provider_metadata: dict[str, Any] | None = None


class ToolResultPart(_Part):
    type: Literal["tool-result"] = "tool-result"
    tool_call_id: str
    tool_name: str
    result: Any = None
    is_error: bool = False

    def result_text(self) -> str:
        """The result as the text a provider receives (JSON for structured values)."""
        if isinstance(self.result, str):
            return self.result
        return json.dumps(self.result, ensure_ascii=False, default=str)


class ReasoningPart(_Part):
    """Model reasoning. `signature` / `provider_metadata` carry what a provider needs back on the next turn."""

    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    signature: str | None = None
    redacted: bool = False
    provider_metadata: dict[str, Any] | None = None


class SourcePart(_Part):
    """A source the model cited or searched: a web page (`url`) or a document the caller sent (`source_type`
    "document": its title, the cited text and where it is, e.g. {"start_page_number": 2, "end_page_number": 3})."""

    type: Literal["source"] = "source"
    url: str = ""
    title: str | None = None
    id: str | None = None
    provider_metadata: dict[str, Any] | None = None
    source_type: Literal["url", "document"] = "url"
    cited_text: str | None = None
    location: dict[str, Any] | None = None

    def key(self) -> tuple[Any, ...]:
        """What makes two sources the same one (a URL; for a document, its title, cited text and location)."""
        if self.url:
            return ("url", self.url)
        return ("document", self.title, self.cited_text, json.dumps(self.location, sort_keys=True, default=str))


Part = Annotated[
    TextPart | ImagePart | FilePart | ToolCallPart | ToolResultPart | ReasoningPart | SourcePart,
    Field(discriminator="type"),
]
_part_adapter: TypeAdapter[Any] = TypeAdapter(Part, config=ConfigDict(defer_build=True))


class Message(BaseModel):
    """One message of a conversation. `content` is always a list of parts; `text` joins the text parts."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    role: Role
    content: list[Part] = Field(default_factory=list)
    name: str | None = None
    provider_metadata: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.content if isinstance(p, ToolCallPart)]

    @property
    def tool_results(self) -> list[ToolResultPart]:
        return [p for p in self.content if isinstance(p, ToolResultPart)]

    @property
    def reasoning(self) -> list[ReasoningPart]:
        return [p for p in self.content if isinstance(p, ReasoningPart)]

    @property
    def parsed_json(self) -> Any:
        """JSON parsed out of the text, the ActiveAgent way: first `{`/`[` to the last `}`/`]`; None when it fails."""
        return extract_json(self.text)

    @classmethod
    def user(cls, text: str) -> Message:
        if cls is Message and type(text) is str:  # built as validation would (see _plain_message), on every call
            return _plain_message("user", text, named=False)
        return cls(role="user", content=[TextPart(text=text)])

    @classmethod
    def system(cls, text: str) -> Message:
        if cls is Message and type(text) is str:
            return _plain_message("system", text, named=False)
        return cls(role="system", content=[TextPart(text=text)])

    @classmethod
    def assistant(cls, text: str) -> Message:
        if cls is Message and type(text) is str:
            return _plain_message("assistant", text, named=False)
        return cls(role="assistant", content=[TextPart(text=text)])

    def __repr__(self) -> str:
        summary = self.text[:60] or ", ".join(p.type for p in self.content)
        return f"Message(role={self.role!r}, {summary!r})"


def extract_json(text: str | None) -> Any:
    """Parse JSON from the first `{` or `[` to the last `}` or `]`; None when there is none or it does not parse."""
    if not text:
        return None
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        return None
    start = min(starts)
    end = max(text.rfind("}"), text.rfind("]"))
    if end < start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except ValueError:
        return None


_DATA_URL = re.compile(r"^data:(?P<mt>[\w.+-]+/[\w.+-]+)?(;[\w-]+=[^;,]+)*;base64,(?P<data>.*)$", re.S)


def _image_or_file(value: Any, media_type: str | None, *, kind: str, extra: dict[str, Any]) -> ImagePart | FilePart:
    url: str | None = None
    data: str | None = None
    if isinstance(value, bytes):
        data = base64.b64encode(value).decode("ascii")
    elif isinstance(value, str):
        m = _DATA_URL.match(value)
        if m:
            data = m.group("data")
            media_type = media_type or m.group("mt")
        elif value.startswith(("http://", "https://", "gs://", "file://")):
            url = value
        else:
            data = value  # already base64
    else:
        raise ConfigurationError(
            f"{kind} part: expected a URL, a data URL, base64 text or bytes, got {type(value).__name__}"
        )
    if kind == "image":
        return ImagePart(url=url, data=data, media_type=media_type, detail=extra.get("detail"))
    return FilePart(
        url=url, data=data, media_type=media_type or "application/octet-stream", filename=extra.get("filename")
    )


def normalize_part(raw: Any) -> Any:
    """One content part from any accepted shape."""
    if isinstance(raw, BaseModel):
        if isinstance(
            raw, TextPart | ImagePart | FilePart | ToolCallPart | ToolResultPart | ReasoningPart | SourcePart
        ):
            return raw
        raw = raw.model_dump()
    if isinstance(raw, str):
        return TextPart(text=raw)
    if not isinstance(raw, dict):
        raise ConfigurationError(f"message content part: expected a dict or str, got {type(raw).__name__}")
    kind = raw.get("type")
    if kind in ("text", "input_text", "output_text"):
        return TextPart(text=str(raw.get("text", "")))
    if kind == "image_url":
        iu = raw.get("image_url")
        url = iu.get("url") if isinstance(iu, dict) else iu
        detail = iu.get("detail") if isinstance(iu, dict) else None
        return _image_or_file(url, None, kind="image", extra={"detail": detail})
    if kind == "image" and ("url" in raw or "data" in raw) and "image" not in raw:
        return ImagePart.model_validate(raw)
    if kind == "image":
        mt = raw.get("media_type") or raw.get("mediaType") or raw.get("mimeType")
        return _image_or_file(raw.get("image"), mt, kind="image", extra=raw)
    if kind == "file" and (raw.get("providerOptions") or raw.get("provider_options")):
        options: Any = raw.get("providerOptions") or raw.get("provider_options")
        plain = {k: v for k, v in raw.items() if k not in ("providerOptions", "provider_options")}
        part = normalize_part(plain)
        if isinstance(part, FilePart) and isinstance(options, dict):
            part.provider_options = {str(k): v for k, v in options.items()}
        return part
    if kind == "file":
        mt = raw.get("media_type") or raw.get("mediaType") or raw.get("mimeType")
        if "url" in raw or "data" in raw:
            value = raw.get("url") or raw.get("data")
            if raw.get("data") and not raw.get("url"):
                return FilePart(
                    data=raw["data"], media_type=mt or "application/octet-stream", filename=raw.get("filename")
                )
        else:
            value = raw.get("file") or raw.get("file_data")
        return _image_or_file(value, mt, kind="file", extra=raw)
    if kind in ("tool-call", "tool_call"):
        return ToolCallPart(
            tool_call_id=raw.get("tool_call_id") or raw.get("toolCallId") or raw["id"],
            tool_name=raw.get("tool_name") or raw.get("toolName") or raw["name"],
            args=raw.get("args") or raw.get("input") or {},
        )
    if kind in ("tool-result", "tool_result"):
        result, is_error = unwrap_tool_output(raw["result"] if "result" in raw else raw.get("output"))
        return ToolResultPart(
            tool_call_id=raw.get("tool_call_id") or raw.get("toolCallId") or "",
            tool_name=raw.get("tool_name") or raw.get("toolName") or "",
            result=result,
            is_error=bool(raw.get("is_error") or raw.get("isError") or is_error),
        )
    try:
        return _part_adapter.validate_python(raw)
    except Exception as exc:
        raise ConfigurationError(
            f"message content part of type {kind!r} is not understood; use text, image, file, tool-call or tool-result"
        ) from exc


_OUTPUT_TYPES = frozenset(("text", "json", "error-text", "error-json", "content", "execution-denied"))


def unwrap_tool_output(output: Any) -> tuple[Any, bool]:
    """(value, is_error) of a tool result; AI SDK v5's `{"type": "json", "value": ...}` envelope is unwrapped."""
    if isinstance(output, dict) and output.get("type") in _OUTPUT_TYPES and set(output) <= {"type", "value", "reason"}:
        kind = output["type"]
        if kind == "execution-denied":
            reason = f" Reason: {output['reason']}" if output.get("reason") else ""
            return f"The user declined this tool call.{reason}", False
        if kind == "content":
            value = output.get("value") or []
            texts = [v.get("text", "") for v in value if isinstance(v, dict) and v.get("type") == "text"]
            return ("".join(texts) if len(texts) == len(value) else value), False
        return output.get("value"), kind.startswith("error")
    return output, False


def _ui_message(item: dict[str, Any], index: int) -> list[Message]:
    """A Mastra / AI SDK UI message (`{"id", "role", "parts": [...]}`): text, reasoning, files, sources and tool
    parts (`tool-NAME` / `dynamic-tool`); a tool part with its output becomes the call plus a tool message."""
    role = item.get("role")
    if role not in ("system", "user", "assistant"):
        raise ConfigurationError(
            f"messages[{index}].role: expected one of system, user, assistant for a UI message; got {role!r}",
            field="messages",
        )
    parts: list[Any] = []
    results: list[ToolResultPart] = []
    raw_parts = item["parts"]
    if not isinstance(raw_parts, list):
        raise ConfigurationError(f"messages[{index}].parts: expected a list, got {type(raw_parts).__name__}",
                                 field="messages")
    for j, raw in enumerate(raw_parts):
        if not isinstance(raw, dict):
            raise ConfigurationError(f"messages[{index}].parts[{j}]: expected a dict, got {type(raw).__name__}",
                                     field="messages")
        kind = str(raw.get("type", ""))
        if kind == "text":
            parts.append(TextPart(text=str(raw.get("text", ""))))
        elif kind == "reasoning":
            parts.append(ReasoningPart(text=str(raw.get("text") or raw.get("reasoning") or "")))
        elif kind == "file":
            mt = raw.get("mediaType") or raw.get("media_type") or raw.get("mimeType")
            is_image = str(mt or "").startswith("image/")
            part = _image_or_file(raw.get("url") or raw.get("data"), mt, kind="image" if is_image else "file",
                                  extra={"filename": raw.get("filename")})
            if isinstance(part, FilePart) and isinstance(raw.get("providerOptions"), dict):
                part.provider_options = dict(raw["providerOptions"])
            parts.append(part)
        elif kind == "source-url":
            parts.append(SourcePart(url=str(raw.get("url", "")), title=raw.get("title"), id=raw.get("sourceId")))
        elif kind.startswith("tool-") or kind == "dynamic-tool":
            name = raw.get("toolName") if kind == "dynamic-tool" else kind.removeprefix("tool-")
            call_id = raw.get("toolCallId") or raw.get("tool_call_id") or ""
            args = raw.get("input") or raw.get("args") or {}
            parts.append(ToolCallPart(tool_call_id=call_id, tool_name=str(name or ""), args=args))
            state = raw.get("state")
            if "output" in raw or "result" in raw or state == "output-error":
                if state == "output-error":
                    value, is_error = raw.get("errorText") or "tool error", True
                else:
                    value, is_error = unwrap_tool_output(raw["output"] if "output" in raw else raw["result"])
                results.append(ToolResultPart(tool_call_id=call_id, tool_name=str(name or ""), result=value,
                                              is_error=is_error))
        elif kind in ("step-start", "source-document") or kind.startswith("data-"):
            continue  # markers and app data: nothing a model reads
        else:
            raise ConfigurationError(
                f"messages[{index}].parts[{j}]: part type {kind!r} is not understood; UI messages take text, "
                "reasoning, file, source-url and tool-NAME parts",
                field="messages",
            )
    out = [Message(role=role, content=parts)]
    if results:
        out.append(Message(role="tool", content=list(results)))
    return out


def _is_empty(message: Message) -> bool:
    return all(isinstance(p, TextPart) and not p.text.strip() for p in message.content)


_PLAIN_ROLES = frozenset(("user", "assistant", "system"))


# BaseModel's slots, set directly (what model_construct does, without its per-field loop)
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _plain_message(role: str, text: str, named: bool = True) -> Message:
    """`Message(role=role, content=[TextPart(text=text)], name=None)` (or without `name=` when `named` is False, as
    `Message.user(text)` builds it) for a role and a str already checked: the same objects (fields, fields set,
    equality), without validating them again (a long history has a thousand of these)."""
    part = _new(TextPart)
    _set_dict(part, {"type": "text", "text": text})
    _set_fields_set(part, {"text"})
    _set_extra(part, None)
    _set_private(part, None)
    message = _new(Message)
    _set_dict(message, {"role": role, "content": [part], "name": None, "provider_metadata": None})
    _set_fields_set(message, {"role", "content", "name"} if named else {"role", "content"})
    _set_extra(message, None)
    _set_private(message, None)
    return message


def text_part(text: str) -> TextPart:
    """`TextPart(text=text)`: constructed for a str (what validation keeps as is), validated otherwise."""
    if text.__class__ is not str:
        return TextPart(text=text)
    part = _new(TextPart)
    _set_dict(part, {"type": "text", "text": text})
    _set_fields_set(part, {"text"})
    _set_extra(part, None)
    _set_private(part, None)
    return part


_PART_TYPES = frozenset((TextPart, ImagePart, FilePart, ToolCallPart, ToolResultPart, ReasoningPart, SourcePart))


def parts_message(role: Role, parts: list[Any]) -> Message:
    """`Message(role=role, content=parts)` for parts a parser built: constructed when every part is already one of
    ours (what validation would keep as is), validated otherwise."""
    for p in parts:
        if p.__class__ not in _PART_TYPES:
            return Message(role=role, content=parts)
    message = _new(Message)
    _set_dict(message, {"role": role, "content": list(parts), "name": None, "provider_metadata": None})
    _set_fields_set(message, {"role", "content"})
    _set_extra(message, None)
    _set_private(message, None)
    return message


def _normalize_item(item: Any, index: int) -> list[Message]:
    """One input item -> its messages (a UI message with tool outputs becomes two); empty ones are an error."""
    if type(item) is dict and len(item) == 2:  # the common {"role", "content": "text"}: what the general path builds
        role, content = item.get("role"), item.get("content")
        if type(content) is str and role in _PLAIN_ROLES and content.strip():
            return [_plain_message(role, content)]
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, dict) and isinstance(content.get("parts"), list):  # Mastra's stored format 2
        out = _ui_message({**item, "parts": content["parts"]}, index)
    elif isinstance(item, dict) and "parts" in item and not isinstance(content, str | list):
        out = _ui_message(item, index)
    else:
        out = [_normalize_one(item, index)]
    if not isinstance(item, Message) and _is_empty(out[0]):
        raise ConfigurationError(
            f"messages[{index}]: the message has no content (empty text, no parts): {item!r:.80}; "
            "pass the text to send, or leave the message out",
            field="messages",
        )
    return out


def _normalize_one(item: Any, index: int) -> Message:
    if isinstance(item, Message):
        return item
    if isinstance(item, str):
        return Message.user(item)
    if isinstance(item, BaseModel):
        item = item.model_dump()
    if not isinstance(item, dict):
        raise ConfigurationError(
            f"messages[{index}]: expected a str, a dict with 'role' and 'content', or a Message; "
            f"got {type(item).__name__}",
            field="messages",
        )
    role = item.get("role")
    if role not in ("system", "user", "assistant", "tool", "developer"):
        raise ConfigurationError(
            f"messages[{index}].role: expected one of system, user, assistant, tool; got {role!r}", field="messages"
        )
    if role == "developer":
        role = "system"
    content = item.get("content")
    parts: list[Any]
    if content is None:
        parts = []
    elif isinstance(content, str):
        parts = [TextPart(text=content)]
    elif isinstance(content, list):
        parts = [normalize_part(p) for p in content]
    else:
        parts = [normalize_part(content)]
    # OpenAI-shaped assistant tool calls and tool messages paste in too.
    for tc in item.get("tool_calls") or []:
        fn = tc.get("function", {})
        args = fn.get("arguments")
        parts.append(
            ToolCallPart(
                tool_call_id=tc.get("id", ""),
                tool_name=fn.get("name", ""),
                args=json.loads(args) if isinstance(args, str) and args else (args or {}),
            )
        )
    if role == "tool" and item.get("tool_call_id"):
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        parts = [ToolResultPart(tool_call_id=item["tool_call_id"], tool_name=item.get("name") or "", result=text)]
    return Message(role=role, content=parts, name=item.get("name") if role != "tool" else None)


def normalize_messages(messages: Any) -> list[Message]:
    """Every accepted input shape -> `list[Message]`. Raises ConfigurationError naming the bad item."""
    if messages is None:
        return []
    if isinstance(messages, str | Message | dict):
        return _normalize_item(messages, 0)
    if isinstance(messages, list | tuple) and len(messages) > BULK_MESSAGES:
        with paused_gc():
            return _normalize_many(messages)
    if isinstance(messages, Iterable):
        return _normalize_many(messages)
    raise ConfigurationError(
        f"messages: expected a str, a list of str, dicts or Message; got {type(messages).__name__}", field="messages"
    )


BULK_MESSAGES = 100
"""A history longer than this is normalised with the cyclic garbage collector paused (gc_pause.py)."""


def _normalize_many(messages: Iterable[Any]) -> list[Message]:
    out: list[Message] = []
    append = out.append
    for i, item in enumerate(messages):
        if type(item) is dict and len(item) == 2:  # _normalize_item's shortcut, inline: most of a long history
            role, content = item.get("role"), item.get("content")
            if type(content) is str and role in _PLAIN_ROLES and content.strip():
                append(_plain_message(role, content))
                continue
        out += _normalize_item(item, i)
    return out


def normalize_input(messages: Any) -> list[Message]:
    """The messages of `generate(messages)` / `prompt(messages)`: like `normalize_messages`, but there must be some."""
    if messages is None or (isinstance(messages, list | tuple) and not messages):
        raise ConfigurationError(
            f"messages: nothing to send ({messages!r}); pass the user's text, e.g. agent.generate(\"Hello\"), "
            "or a list of messages",
            field="messages",
        )
    return normalize_messages(messages)


def system_messages(value: Any, field: str) -> list[Message]:
    """`instructions=` / `system=` accept a str, a list of str, a system message dict or a list of them."""
    if value is None:
        return []
    items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
    out: list[Message] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(Message.system(item))
        elif isinstance(item, Message) and item.role == "system":
            out.append(item)
        elif isinstance(item, dict) and item.get("role") in ("system", "developer"):
            out.append(_normalize_one(item, i))
        else:
            raise ConfigurationError(f"{field}: expected a string or a system message, got {item!r:.80}", field=field)
    return out
