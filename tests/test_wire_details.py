"""Wire details of issue 10: provider_options in the seeds' spelling, options a provider does not know, Responses
penalties, Ollama's tool_choice="none", and citations of every kind as sources (streamed and not)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playground import Agent
from playground.messages import Message
from playground.providers.anthropic import AnthropicProvider
from playground.providers.base import ModelCall, SSEEvent, ToolDefinition
from playground.providers.compatible import OllamaProvider
from playground.providers.gemini import GeminiProvider
from playground.providers.openai_chat import OpenAIChatProvider
from playground.providers.openai_responses import OpenAIResponsesProvider
from playground.providers.options import camel, snake
from playground.settings import ModelSettings
from tests.scripted import Scripted, completion

TOOL = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def body_of(provider: Any, **call: Any) -> tuple[dict[str, Any], list[str]]:
    spec = provider.build_request(ModelCall(provider.model, [Message.user("Hi")], **call))
    return spec.json, spec.warnings


# -- provider_options ---------------------------------------------------------------------------------------------


def test_openai_camel_case_reasoning_effort_reaches_both_apis() -> None:
    options = {"openai": {"reasoningEffort": "low", "parallelToolCalls": False, "textVerbosity": "low"}}
    body, warnings = body_of(OpenAIResponsesProvider("gpt-5", api_key="k"), tools=[TOOL], provider_options=options)
    assert body["reasoning"] == {"effort": "low"} and body["parallel_tool_calls"] is False
    assert body["text"] == {"verbosity": "low"} and warnings == []
    body, warnings = body_of(OpenAIChatProvider("gpt-5", api_key="k"), tools=[TOOL], provider_options=options)
    assert body["reasoning_effort"] == "low" and body["parallel_tool_calls"] is False
    assert body["verbosity"] == "low" and warnings == []
    assert "reasoningEffort" not in body


def test_anthropic_camel_case_thinking_budget_is_translated() -> None:
    options = {"anthropic": {"thinking": {"type": "enabled", "budgetTokens": 1024}, "disableParallelToolUse": True}}
    body, _ = body_of(
        AnthropicProvider("claude-sonnet-4-5", api_key="k"),
        tools=[TOOL],
        settings=ModelSettings(max_output_tokens=4000),
        provider_options=options,
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert "disableParallelToolUse" not in body and "disable_parallel_tool_use" not in body


@pytest.mark.parametrize("namespace", ["google", "gemini"])
def test_google_is_an_alias_of_gemini_and_snake_case_is_translated(namespace: str) -> None:
    thinking = {"thinking_budget": 512, "include_thoughts": True}
    options = {namespace: {"thinking_config": thinking, "cachedContent": "c/1"}}
    body, warnings = body_of(GeminiProvider("gemini-2.5-flash", api_key="k"), provider_options=options)
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 512, "includeThoughts": True}
    assert body["cachedContent"] == "c/1" and warnings == []


@pytest.mark.parametrize(
    ("provider", "options", "name"),
    [
        (OpenAIResponsesProvider("gpt-5", api_key="k"), {"openai": {"reasoningEfort": "low"}}, "reasoningEfort"),
        (OpenAIChatProvider("gpt-5", api_key="k"), {"openai": {"max_tokens_please": 5}}, "max_tokens_please"),
        (AnthropicProvider("claude-sonnet-4-5", api_key="k"), {"anthropic": {"budgetTokens": 9}}, "budgetTokens"),
        (GeminiProvider("gemini-2.5-flash", api_key="k"), {"google": {"thinkingBudget": 9}}, "thinkingBudget"),
    ],
)
def test_an_option_the_provider_does_not_know_is_a_warning_and_not_sent(provider: Any, options: Any, name: str) -> None:
    body, warnings = body_of(provider, provider_options=options)
    assert any(f".{name} is not an option" in w and "was not sent" in w for w in warnings), warnings
    flat = json.dumps(body)
    assert name not in flat and snake(name) not in flat and camel(name) not in flat


def test_a_namespace_no_provider_has_is_a_warning_and_other_providers_options_are_left_alone() -> None:
    options = {"opneai": {"user": "u"}, "anthropic": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}
    body, warnings = body_of(OpenAIChatProvider("gpt-4.1", api_key="k"), provider_options=options)
    assert "thinking" not in body and "user" not in body
    assert len(warnings) == 1 and "provider_options.opneai: no provider is named 'opneai'" in warnings[0]


def test_provider_option_warnings_reach_the_result() -> None:
    script = Scripted(completion("ok"))
    agent = Agent(model="openai-chat:gpt-4.1", api_key="k", http_client=script.client())
    result = agent.generate("hi", provider_options={"openai": {"reasoningEffort": "low", "colour": "blue"}})
    assert script.bodies[0]["reasoning_effort"] == "low" and "colour" not in script.bodies[0]
    assert any("provider_options.openai.colour" in w for w in result.warnings)


def test_demo_model_options_are_checked_too() -> None:
    result = Agent(model="demo").generate("hi", provider_options={"demo": {"temperature_boost": 2}})
    assert any("provider_options.demo.temperature_boost is not an option" in w for w in result.warnings)
    assert "temperature_boost" not in json.dumps(result.request.body)


def test_compatible_servers_get_their_own_extensions_as_given() -> None:
    body, _ = body_of(OllamaProvider("llama3.2"), provider_options={"ollama": {"keep_alive": "5m"}})
    assert body["keep_alive"] == "5m"


# -- settings and tool choice -------------------------------------------------------------------------------------


def test_responses_api_leaves_out_penalties_with_a_warning() -> None:
    settings = ModelSettings(presence_penalty=0.5, frequency_penalty=0.2, temperature=0.3)
    body, warnings = body_of(OpenAIResponsesProvider("gpt-4.1", api_key="k"), settings=settings)
    assert "presence_penalty" not in body and "frequency_penalty" not in body and body["temperature"] == 0.3
    assert "presence_penalty is not supported by the Responses API and was not sent" in warnings
    assert "frequency_penalty is not supported by the Responses API and was not sent" in warnings


def test_ollama_with_tool_choice_none_sends_no_tools() -> None:
    body, _ = body_of(OllamaProvider("llama3.2"), tools=[TOOL], tool_choice="none")
    assert "tools" not in body and "tool_choice" not in body
    body, _ = body_of(OllamaProvider("llama3.2"), tools=[TOOL], tool_choice="auto")
    assert body["tools"][0]["function"]["name"] == "get_weather"


# -- citations ----------------------------------------------------------------------------------------------------

DOC_CITATIONS = [
    {
        "type": "char_location",
        "cited_text": "The grass is green.",
        "document_index": 0,
        "document_title": "Nature facts",
        "start_char_index": 0,
        "end_char_index": 20,
    },
    {
        "type": "page_location",
        "cited_text": "Revenue grew 12%.",
        "document_index": 1,
        "document_title": "Annual report.pdf",
        "start_page_number": 3,
        "end_page_number": 4,
    },
    {
        "type": "content_block_location",
        "cited_text": "Water boils at 100 C.",
        "document_index": 2,
        "document_title": None,
        "start_block_index": 1,
        "end_block_index": 2,
    },
]
EXPECTED = [
    ("Nature facts", "The grass is green.", {"document_index": 0, "start_char_index": 0, "end_char_index": 20}),
    ("Annual report.pdf", "Revenue grew 12%.", {"document_index": 1, "start_page_number": 3, "end_page_number": 4}),
    ("document 3", "Water boils at 100 C.", {"document_index": 2, "start_block_index": 1, "end_block_index": 2}),
]


def _anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "text", "text": "According to the documents: "},
            {"type": "text", "text": "the grass is green", "citations": DOC_CITATIONS[:1]},
            {"type": "text", "text": ", revenue grew", "citations": DOC_CITATIONS[1:2]},
            {"type": "text", "text": " and water boils at 100 C.", "citations": DOC_CITATIONS[2:]},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def _shown(sources: list[Any]) -> list[tuple[Any, Any, Any]]:
    return [(s.title, s.cited_text, s.location) for s in sources]


def test_anthropic_document_citations_become_sources() -> None:
    provider = AnthropicProvider("claude-sonnet-4-5", api_key="k")
    resp = provider.parse_response(200, {}, json.dumps(_anthropic_message()).encode())
    assert _shown(resp.sources) == EXPECTED
    assert all(s.source_type == "document" and s.url == "" for s in resp.sources)


def test_anthropic_streamed_document_citations_become_sources() -> None:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "model": "claude-sonnet-4-5", "usage": {}}},
    ]
    for i, cit in enumerate(DOC_CITATIONS):
        events += [
            {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": "", "citations": []}},
            {"type": "content_block_delta", "index": i, "delta": {"type": "citations_delta", "citation": cit}},
            {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": f"fact {i}. "}},
            {"type": "content_block_stop", "index": i},
        ]
    events += [
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    parser = AnthropicProvider("claude-sonnet-4-5", api_key="k").stream_parser(ModelCall("c", []))
    streamed = [ev for e in events for ev in parser.feed(SSEEvent(json.dumps(e), e["type"]))]
    resp = parser.finish()
    assert _shown(resp.sources) == EXPECTED
    assert [ev.title for ev in streamed if ev.type == "source"] == ["Nature facts", "Annual report.pdf", "document 3"]


def test_document_citations_reach_the_result_and_the_cli_output() -> None:
    import httpx2

    from playground.cli import _print_result

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=_anthropic_message())

    agent = Agent(model="anthropic:claude-sonnet-4-5", api_key="k",
                  http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    result = agent.generate("What do the documents say?")
    assert _shown(result.sources) == EXPECTED
    import io

    out = io.StringIO()
    _print_result(result, out)
    assert 'Annual report.pdf, page 3: "Revenue grew 12%."' in out.getvalue()
    assert 'Nature facts, characters 0-20: "The grass is green."' in out.getvalue()
    from playground.ui.render import sources_markdown

    shown = sources_markdown(result)  # the Sources panel of the browser and notebook playgrounds
    assert "3. document 3, blocks 1-2" in shown and "Revenue grew 12%" in shown and "]()" not in shown


def test_a_document_sent_with_citations_enabled_shows_its_citations_as_sources() -> None:
    """The user's whole path: send a document with citations on (the AI SDK's part-level providerOptions)."""
    import base64

    import httpx2

    sent: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        return httpx2.Response(200, json=_anthropic_message())

    agent = Agent(model="anthropic:claude-sonnet-4-5", api_key="k",
                  http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    pdf = base64.b64encode(b"%PDF-1.4 annual report").decode()
    result = agent.generate([{"role": "user", "content": [
        {"type": "file", "data": pdf, "mediaType": "application/pdf", "filename": "Annual report.pdf",
         "providerOptions": {"anthropic": {"citations": {"enabled": True}}}},
        {"type": "text", "text": "How did revenue do?"},
    ]}])
    document = sent[0]["messages"][0]["content"][0]
    assert document["type"] == "document" and document["citations"] == {"enabled": True}
    assert document["title"] == "Annual report.pdf"
    assert _shown(result.sources) == EXPECTED


def test_anthropic_web_citations_stay_url_sources() -> None:
    cit = {"type": "web_search_result_location", "url": "https://example.com/a", "title": "A", "cited_text": "x",
           "encrypted_index": "e"}
    message = {**_anthropic_message(), "content": [{"type": "text", "text": "Hi", "citations": [cit]}]}
    resp = AnthropicProvider("c", api_key="k").parse_response(200, {}, json.dumps(message).encode())
    assert [(s.source_type, s.url, s.title, s.cited_text) for s in resp.sources] == [
        ("url", "https://example.com/a", "A", "x")
    ]


def test_openai_responses_file_citations_become_sources() -> None:
    ann = {"type": "file_citation", "file_id": "file-123", "filename": "handbook.pdf", "index": 42}
    data = {
        "id": "resp_1",
        "model": "gpt-4.1",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "See the handbook.", "annotations": [ann]}],
            }
        ],
        "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
    }
    provider = OpenAIResponsesProvider("gpt-4.1", api_key="k")
    resp = provider.parse_response(200, {}, json.dumps(data).encode())
    assert [(s.source_type, s.title, s.id, s.location) for s in resp.sources] == [
        ("document", "handbook.pdf", "file-123", {"file_id": "file-123", "index": 42})
    ]
    parser = provider.stream_parser(ModelCall("gpt-4.1", []))
    event = {"type": "response.output_text.annotation.added", "annotation": ann}
    streamed = parser.feed(SSEEvent(json.dumps(event), event["type"]))
    assert [ev.title for ev in streamed if ev.type == "source"] == ["handbook.pdf"]


def test_gemini_recitations_and_retrieved_documents_become_sources() -> None:
    data = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Quoted text."}]},
                "finishReason": "STOP",
                "citationMetadata": {
                    "citationSources": [{"startIndex": 0, "endIndex": 12, "uri": "https://example.com/poem"}]
                },
                "groundingMetadata": {
                    "groundingChunks": [
                        {"retrievedContext": {"title": "policies.md", "text": "Refunds take 5 days."}},
                        {"web": {"uri": "https://example.com/a", "title": "A"}},
                    ]
                },
            }
        ],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
    }
    resp = GeminiProvider("gemini-2.5-flash", api_key="k").parse_response(200, {}, json.dumps(data).encode())
    shown = [(s.source_type, s.url, s.title, s.cited_text, s.location) for s in resp.sources]
    assert shown == [
        ("document", "", "policies.md", "Refunds take 5 days.", None),
        ("url", "https://example.com/a", "A", None, None),
        ("url", "https://example.com/poem", None, None, {"startIndex": 0, "endIndex": 12}),
    ]
