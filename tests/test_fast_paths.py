"""The hot path's shortcuts (issue 18) build exactly what the general code builds: same messages, same wire dicts."""

from __future__ import annotations

import copy
import pickle
from typing import Any

from playground import Message, TextPart
from playground.messages import Role, _normalize_one, normalize_messages
from playground.providers.openai_chat import OpenAIChatProvider

PLAIN: list[dict[str, Any]] = [
    {"role": "user", "content": "Where is Oslo?"},
    {"role": "assistant", "content": "In Norway."},
    {"role": "system", "content": "  Be brief.  "},
]


def test_plain_text_history_normalises_like_the_general_path() -> None:
    fast = normalize_messages(PLAIN)
    general = [_normalize_one(m, i) for i, m in enumerate(PLAIN)]
    assert fast == general
    for a, b in zip(fast, general, strict=True):
        assert a.model_fields_set == b.model_fields_set
        assert a.content[0].model_fields_set == b.content[0].model_fields_set
        assert a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True)
        assert a.model_dump_json() == b.model_dump_json()
        assert copy.deepcopy(a) == b and pickle.loads(pickle.dumps(a)) == b
        assert a.model_copy(update={"name": "x"}).name == "x"
    assert fast[0].content[0] is not fast[1].content[0]
    fast[0].content.append(TextPart(text=" And Rome?"))  # each message has its own, mutable list
    assert fast[0].text == "Where is Oslo? And Rome?" and normalize_messages(PLAIN)[0].text == "Where is Oslo?"


def test_shortcut_leaves_other_shapes_to_the_general_path() -> None:
    named = normalize_messages([{"role": "user", "content": "hi", "name": "ada"}])[0]
    assert named.name == "ada"
    blank = [{"role": "user", "content": "   "}]
    try:
        normalize_messages(blank)
    except Exception as exc:  # an empty message is still refused, naming the item
        assert "messages[0]" in str(exc)
    else:
        raise AssertionError("an empty message was accepted")
    assert normalize_messages([{"role": "developer", "content": "x"}])[0].role == "system"


def test_plain_text_turns_map_to_the_same_wire_dicts() -> None:
    provider = OpenAIChatProvider("gpt-test")
    messages = [
        Message.user("hi"),
        Message.assistant("hello"),
        Message(role="assistant", content=[TextPart(text="")]),
        Message(role="user", content=[TextPart(text="")]),
        Message(role="user", content=[TextPart(text="hi")], name="ada"),
        Message.system("sys"),
    ]
    general = []
    for m in messages:
        if m.role == "user":
            general.append(provider._map_user(m))  # pyright: ignore[reportPrivateUsage]
        elif m.role == "assistant":
            general.append(provider._map_assistant(m))  # pyright: ignore[reportPrivateUsage]
        else:
            general.append({"role": provider.system_role, "content": m.text})
    assert provider._map_messages(messages) == general  # pyright: ignore[reportPrivateUsage]


def test_message_builders_build_what_validation_builds() -> None:
    roles: tuple[tuple[Any, Role], ...] = (
        (Message.user, "user"), (Message.system, "system"), (Message.assistant, "assistant")
    )
    for build, role in roles:
        for text in ("hi", "", "  padded  "):
            fast = build(text)
            general = Message(role=role, content=[TextPart(text=text)])  # what the builders validated before
            assert fast == general and type(fast) is Message
            assert fast.model_fields_set == general.model_fields_set == {"role", "content"}
            assert fast.content[0].model_fields_set == general.content[0].model_fields_set
            assert fast.model_dump(exclude_unset=True) == general.model_dump(exclude_unset=True)
            assert fast.model_dump_json() == general.model_dump_json()
            assert copy.deepcopy(fast) == general and pickle.loads(pickle.dumps(fast)) == general
    try:
        Message.user(3)  # type: ignore[arg-type]  # not a str: validated, so refused as before
    except Exception as exc:
        assert "text" in str(exc)
    else:
        raise AssertionError("a non-str text was accepted")


def test_parser_built_messages_equal_validated_ones() -> None:
    from playground.messages import ReasoningPart, ToolCallPart, ToolResultPart, parts_message, text_part
    from playground.result import Usage, no_usage, usage_of

    parts: list[Any] = [ReasoningPart(text="think"), text_part("answer"), ToolCallPart(tool_call_id="c", tool_name="t")]
    for role, given in (("assistant", parts), ("tool", [ToolResultPart(tool_call_id="c", tool_name="t", result=1)])):
        fast = parts_message(role, given)  # type: ignore[arg-type]
        general = Message(role=role, content=list(given))  # type: ignore[arg-type]
        assert fast == general and fast.model_fields_set == general.model_fields_set
        assert fast.model_dump_json() == general.model_dump_json() and fast.content is not given
    assert text_part("x") == TextPart(text="x") and text_part("x").model_fields_set == {"text"}
    try:
        parts_message("assistant", [{"type": "text", "text": "a dict"}, "not a part"])
    except Exception as exc:  # anything but our parts is validated, so refused as before
        assert "content" in str(exc)
    else:
        raise AssertionError("a non-part was accepted")
    counts = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert usage_of(**counts) == Usage(**counts) and usage_of(**counts).model_fields_set == Usage(**{
        **counts, "reasoning_tokens": 0, "cached_input_tokens": 0, "cache_creation_input_tokens": 0}).model_fields_set
    assert usage_of(input_tokens="4") == Usage(input_tokens=4)  # type: ignore[arg-type]  # a server's "4": converted
    assert no_usage() == Usage() and no_usage().model_fields_set == set()


def test_prompt_of_plain_text_builds_what_normalize_input_builds() -> None:
    import pytest

    from playground import Agent
    from playground.errors import ConfigurationError
    from playground.messages import normalize_input

    agent = Agent(model="openai-chat:m", api_key="sk-test-key-0000")
    for text in ("Where is Oslo?", "  padded  \n"):
        fast = agent.prompt(text)._input
        general = normalize_input(text)
        assert fast == general
        assert [m.model_fields_set for m in fast] == [m.model_fields_set for m in general]
        assert fast[0].model_dump_json() == general[0].model_dump_json()
    for blank in ("", "   "):  # still refused, with normalize_input's message
        with pytest.raises(ConfigurationError) as err:
            agent.prompt(blank)
        with pytest.raises(ConfigurationError) as want:
            normalize_input(blank)
        assert str(err.value) == str(want.value)


def test_request_body_bytes_are_what_json_dumps_writes() -> None:
    """The body is serialised by pydantic-core (a fifth of json.dumps's cost on a long history): the same bytes as
    `json.dumps(ensure_ascii=False, separators=(",", ":"))`, non-ASCII text kept as UTF-8, key order kept."""
    import json

    from playground.providers.base import HttpRequestSpec

    body = {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": 'Quote "exactly" \\ and\nnew lines\t, tabs'},
            {"role": "user", "content": "Crème brûlée? 東京 🚀 \u2028 \x07"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "function": {"arguments": "{}"}}]},
        ],
        "temperature": 0.7,
        "max_tokens": 12,
        "top_p": 1.0,
        "stream": False,
        "seed": 12345678901234567890,
        "stop": ["\n\n", "END"],
        "z_last": {},
    }
    spec = HttpRequestSpec("POST", "https://example.test/v1/chat/completions", {}, body)
    sent = spec.body_bytes()
    assert sent == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert json.loads(sent) == body and list(json.loads(sent)) == list(body)
    assert spec.body_bytes() is sent  # serialised once
    assert HttpRequestSpec("GET", "https://example.test/v1/models", {}).body_bytes() == b""


def test_fast_replace_copies_as_model_copy_does() -> None:
    from playground.result import fast_replace
    from playground.settings import AbortSignal, CallOptions

    options = CallOptions(max_steps=3, request_context={"user": "ada"})
    abort = AbortSignal()
    fast, slow = fast_replace(options, abort_signal=abort), options.model_copy(update={"abort_signal": abort})
    assert fast == slow and fast.abort_signal is abort and options.abort_signal is None
    assert fast.model_fields_set == slow.model_fields_set == {"max_steps", "request_context", "abort_signal"}
    assert fast.__dict__ is not options.__dict__ and fast.model_fields_set is not options.model_fields_set
    fast.max_steps = 9  # its own fields: the original is untouched
    assert options.max_steps == 3
