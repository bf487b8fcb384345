# ruff: noqa: E501  (a table of recorded values: long file names and URLs read better unbroken)
"""Every recorded exchange in ../shared/fixtures/recorded replayed through its adapter, against values read from it.

EXPECTED has one entry per recorded file and one expectation per interaction in it, in order: X (a model answer),
E (an error body) or S (an exchange that is not a model call). The values were read from the recordings: distinctive
text, tool call ids and parsed arguments, reasoning text and signature prefix, the first source, and usage exactly as
the wire reports it (in our Usage fields; see each adapter's docstring for how it sums them). U(...) is
(input, output, total, reasoning, cached_input, cache_creation_input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from playground.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from playground.events import ReasoningDeltaEvent, TextDeltaEvent
from playground.result import Usage

from .conformance_cases import KEY, is_stream, provider_for, replay
from .replay import RECORDED, SKIP_REASON, load, needs_fixtures, recorded_files

pytestmark = [pytest.mark.fixtures, needs_fixtures]


def U(inp: int, out: int, total: int, reasoning: int = 0, cached: int = 0, created: int = 0) -> Usage:
    return Usage(
        input_tokens=inp, output_tokens=out, total_tokens=total, reasoning_tokens=reasoning,
        cached_input_tokens=cached, cache_creation_input_tokens=created,
    )


@dataclass(frozen=True)
class X:
    """A model answer. `text` is a substring of the answer ("" means no text at all)."""

    text: str
    usage: Usage
    finish: str
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    reasoning: str | None = None
    signature: str | None = None
    sources: list[tuple[str, str | None]] = field(default_factory=list)
    n_sources: int = 0


@dataclass(frozen=True)
class E:
    """An error answer: the class, status and code our adapter must produce, and a substring of the message."""

    cls: type[ProviderError]
    status: int
    code: str | None
    message: str
    as_status: int | None = None  # the recording kept the body but not the status (vercel-ai *.json)


@dataclass(frozen=True)
class S:
    """An exchange that is not a model call (e.g. Gemini cache management); only its presence is checked."""

    why: str


EXPECTED: dict[str, list[X | E | S]] = {
    "anthropic/llm-anthropic__test_stream_events_text.yaml": [
        X(text='Hello', usage=U(10, 4, 14, 0, 0, 0), finish='stop'),
    ],
    "anthropic/llm-anthropic__test_stream_events_thinking.yaml": [
        X(text='1. **Pouch** - references their iconic bill p', reasoning='The user wants two names for a pet pelic', signature='EuYDCmMIDBgCKkC0', usage=U(46, 133, 179, 0, 0, 0), finish='stop'),
    ],
    "anthropic/llm-anthropic__test_stream_events_tool_calls.yaml": [
        X(text="", tools=[('toolu_01CzN6riCPqw4pVSuTd9Dwn7', 'pelican_name_generator', {})], usage=U(543, 40, 583, 0, 0, 0), finish='tool-calls'),
    ],
    "anthropic/llm-anthropic__test_tools.yaml": [
        X(text="", tools=[('toolu_01LtHJmixrs9NcWQkK8hu8hj', 'pelican_name_generator', {}), ('toolu_01N8a4jWyf116qKTMqKKmjyt', 'pelican_name_generator', {})], usage=U(542, 62, 604, 0, 0, 0), finish='tool-calls'),
        X(text='Here are two great names for your pet pelican', usage=U(678, 82, 760, 0, 0, 0), finish='stop'),
    ],
    "anthropic/llm-anthropic__test_web_search.yaml": [
        X(text="Based on the search results, here's the curre", sources=[('https://www.accuweather.com/en/us/san-francisco/94103/weather-forecast/347629', 'San Francisco, CA Weather Forecast | AccuWeather')], n_sources=10, usage=U(10423, 341, 10764, 0, 0, 0), finish='stop'),
    ],
    "anthropic/pydantic-ai__test_anthropic_model_thinking_part_stream.yaml": [
        X(text='Here are the basic steps for safely crossing ', reasoning='This is a straightforward question about', signature='EvMCCkYICxgCKkCH', usage=U(43, 282, 325, 0, 0, 0), finish='stop'),
    ],
    "anthropic/pydantic-ai__test_anthropic_web_search_tool.yaml": [
        X(text="Based on the search results, here's the weath", reasoning='The user is asking about the weather in ', signature='Et0ECkYIBxgCKkCX', sources=[('https://www.accuweather.com/en/us/san-francisco/94103/weather-forecast/347629', 'San Francisco, CA Weather Forecast | AccuWeather')], n_sources=10, usage=U(8984, 520, 9504, 0, 0, 0), finish='stop'),
        X(text="Based on the search results, here's the weath", reasoning='The user is now asking about the weather', signature='EqgCCkYIBxgCKkAh', sources=[('https://weather.com/weather/today/l/6121681b2c5df01145b9723d497c595c53ae08104787aa1c26bafdf2fb875c07', 'Weather Forecast and Conditions for Mexico City, Mexico - The Weather Channel | Weather.com')], n_sources=10, usage=U(19859, 544, 20403, 0, 0, 0), finish='stop'),
    ],
    "anthropic/pydantic-ai__test_model_name_suggestion[anthropic].yaml": [
        E(NotFoundError, 404, 'not_found_error', 'model: claude-sonet-4-5'),
    ],
    "anthropic/ruby_llm__chat_prompt_cache_round-trip_anthropic_claude-haiku-4-5_writes_then_reads_the_prompt_cache.yml": [
        X(text='OK', usage=U(7361, 4, 7365, 0, 0, 7351), finish='stop'),
        X(text='OK', usage=U(7361, 4, 7365, 0, 7351, 0), finish='stop'),
    ],
    "anthropic/ruby_llm__chat_real_error_scenarios_anthropic_claude-haiku-4-5_handles_context_length_exceeded_errors.yml": [
        E(ContextLengthError, 400, 'invalid_request_error', 'prompt is too long: 3333404 tokens > 200'),
    ],
    "gemini/llm-gemini__test_prompt.yaml": [
        X(text='Scoop', reasoning="**Considering the Constraint**\n\nI'm focu", signature='Eq0JCqoJARFNMg+W', usage=U(11, 293, 304, 291, 0, 0), finish='stop'),
    ],
    "gemini/pydantic-ai__test_google_model.yaml": [
        X(text='Hello! How can I help you today?', usage=U(9, 43, 52, 34, 0, 0), finish='stop'),
    ],
    "gemini/pydantic-ai__test_google_model_thinking_part.yaml": [
        X(text='Crossing the street safely is a fundamental s', reasoning='**A Safe Street-Crossing Guide: My Thoug', signature='EqoeCqceAdHtim+c', usage=U(29, 1737, 1766, 1001, 0, 0), finish='stop'),
        X(text='Crossing a river is deceptively similar to cr', reasoning="**Navigating Nature's Road: Thinking Thr", signature='EschCsQhAdHtim8j', usage=U(1280, 2073, 3353, 1115, 0, 0), finish='stop'),
    ],
    "gemini/pydantic-ai__test_model_name_suggestion[google].yaml": [
        E(NotFoundError, 404, 'NOT_FOUND', 'models/gemini-3.6-flahs is not found for'),
    ],
    "gemini/ruby_llm__cachedcontent_explicit_caching_round-trip_gemini_gemini-2_5-flash_creates_uses_extends_and_deletes_a_cache.yml": [
        S("POST cachedContents: creates the cache (not a model call)"),
        X(text='The RubyLLM release engineering handbook desc', usage=U(9622, 171, 9793, 136, 9609, 0), finish='stop'),
        S("PATCH cachedContents/...: extends the TTL (not a model call)"),
        S("DELETE cachedContents/...: deletes the cache (not a model call)"),
    ],
    "gemini/ruby_llm__chat_citations_with_gemini_gemini-2_5-flash_returns_grounding_citations_when_search_is_enabled.yml": [
        X(text='The latest stable version of Ruby is 4.0.6.', sources=[('https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQH97MfdmLSsypNdtOkimF5dYCut50s9XfHEDao0Ipe1ve8AxusE3KAfp_MCiho8qC8czcj8KwmEhBsuhqgYkrHJROkihbpqxafC5SCqLmLoZ64tPjoRY9UAD1GzBKrzfHJnGA==', 'ruby-lang.org')], n_sources=3, usage=U(83, 139, 222, 109, 0, 0), finish='stop'),
    ],
    "gemini/ruby_llm__chat_error_handling_with_gemini_gemini-2_5-flash_raises_appropriate_auth_error.yml": [
        E(AuthenticationError, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid A'),
    ],
    "gemini/ruby_llm__chat_function_calling_gemini_gemini-2_5-flash_can_use_tools_with_multi-turn_streaming_conversations.yml": [
        X(text="", tools=[('call_f91e6d165971137e', 'weather', {'latitude': '52.5200', 'longitude': '13.4050'})], usage=U(103, 73, 176, 43, 0, 0), finish='tool-calls'),
        X(text='The weather in Berlin is 15°C with a wind of ', usage=U(233, 21, 254, 0, 0, 0), finish='stop'),
        X(text="", tools=[('call_bf490c5fa7b7c875', 'weather', {'longitude': '2.3514', 'latitude': '48.8575'})], usage=U(238, 29, 267, 0, 0, 0), finish='tool-calls'),
        X(text='The weather in Paris is 15°C with a wind of 1', signature='CnQBEU0yD8pMLy5t', usage=U(323, 95, 418, 74, 0, 0), finish='stop'),
    ],
    "gemini/ruby_llm__chat_function_calling_thought_signatures_gemini_gemini-3_1-pro-preview_includes_thought_signatures_for_tool_calls.yml": [
        X(text="", tools=[('call_883098', 'weather', {'latitude': '52.5200', 'longitude': '13.4050'})], reasoning="**My Analysis of the User's Weather Quer", usage=U(120, 164, 284, 132, 0, 0), finish='tool-calls'),
        X(text='The current weather in Berlin is 15°C with a ', reasoning="Okay, here's my take on those thoughts, ", signature='ErYCCrMCARFNMg9d', usage=U(339, 74, 413, 51, 0, 0), finish='stop'),
    ],
    "gemini/ruby_llm__chat_streaming_responses_gemini_gemini-2_5-flash_supports_streaming_responses.yml": [
        X(text='1, 2, 3', usage=U(8, 27, 35, 20, 0, 0), finish='stop'),
    ],
    "openai_chat/llm__test_tool_use_basic.yaml": [
        X(text="", tools=[('call_1EYWDzueHEp8OsB8jJSEp7WB', 'multiply', {'a': 1231, 'b': 2331})], usage=U(54, 20, 74, 0, 0, 0), finish='tool-calls'),
        X(text='The result of \\( 1231 \\times 2331 \\) is \\( 2,', usage=U(87, 26, 113, 0, 0, 0), finish='stop'),
    ],
    "openai_chat/pydantic-ai__test_complex_agent_run.yaml": [
        X(text="", tools=[('call_q2UyBRP7eXNTzAoR8lEhjc9Z', 'get_country', {}), ('call_b51ijcpFkDiTQG1bQzsrmtW5', 'get_product_name', {})], usage=U(364, 40, 404, 0, 0, 0), finish='tool-calls'),
        X(text="", tools=[('call_LwxJUB9KppVyogRRLQsamRJv', 'get_weather', {'city': 'Mexico City'})], usage=U(423, 15, 438, 0, 0, 0), finish='tool-calls'),
        X(text="", tools=[('call_CCGIWaMeYWmxOQ91orkmTvzn', 'final_result', {'answers': [{'label': 'Capital', 'answer': 'The capital of Mexico is Mexico City.'}, {'label': 'Weather', 'answer': 'The weather in Mexico City is currently sunny.'}, {'label': 'Product Name', 'answer': 'The product name is Pydantic AI.'}]})], usage=U(448, 62, 510, 0, 0, 0), finish='tool-calls'),
    ],
    "openai_chat/pydantic-ai__test_model_name_suggestion[openai-chat].yaml": [
        E(NotFoundError, 404, 'model_not_found', 'The model `gpt-5.2-proo` does not exist '),
    ],
    "openai_chat/pydantic-ai__test_openai_chat_prompt_cache_e2e.yaml": [
        X(text='OK', usage=U(4020, 4, 4024, 0, 0, 4012), finish='stop'),
        X(text='OK', usage=U(4020, 4, 4024, 0, 4012, 0), finish='stop'),
    ],
    "openai_chat/pydantic-ai__test_openai_o1_mini_system_role[developer].yaml": [
        E(InvalidRequestError, 400, 'unsupported_value', "Unsupported value: 'messages[0].role' do"),
    ],
    "openai_chat/pydantic-ai__test_temporal_agent_with_hitl_tool.yaml": [
        X(text="", tools=[('call_jYdIdRZHxZTn5bWCq5jlMrJi', 'delete_file', {'path': '.env'}), ('call_TmlTVWQbzrXCZ4jNsCVNbNqu', 'create_file', {'path': 'test.txt'})], usage=U(71, 46, 117, 0, 0, 0), finish='tool-calls'),
        X(text='The file `.env` has been deleted and `test.tx', usage=U(133, 19, 152, 0, 0, 0), finish='stop'),
    ],
    "openai_chat/vercel-ai__openai-text.chunks.txt": [
        X(text='**Holiday Name:** Harmony Day\n\n**Date:** Cele', usage=U(16, 300, 316, 0, 0, 0), finish='stop'),
    ],
    "openai_chat/vercel-ai__openai-text.json": [
        X(text='**Holiday Name:** Galaxy Day  \n\n**Date:** Oct', usage=U(16, 363, 379, 0, 0, 0), finish='stop'),
    ],
    "openai_compat_local/activeagent__test_agent_common_format_multiple_tools.yml": [
        X(text="", tools=[('call_nwftoaxi', 'get_weather', {'location': 'NYC'}), ('call_vialglfv', 'calculate', {'a': 5, 'b': 3, 'operation': 'add'})], reasoning="Okay, let's tackle this user query. The ", usage=U(215, 285, 500, 0, 0, 0), finish='tool-calls'),
        X(text='The current weather in NYC is 72°F and sunny.', reasoning="Okay, let's see. The user asked for two ", usage=U(535, 151, 686, 0, 0, 0), finish='stop'),
    ],
    "openai_compat_local/llm__test_tools_streaming_variant_a.yaml": [
        X(text="", tools=[('0', 'llm_version', {})], usage=U(57, 17, 74, 0, 0, 0), finish='tool-calls'),
        X(text='The current version of *llm* is **0.fixed-ver', usage=U(107, 15, 122, 0, 0, 0), finish='stop'),
    ],
    "openai_compat_local/pydantic-ai__test_ollama_local_native_output_uses_json_schema.yaml": [
        X(text='{ "city": "Paris", "country": "France" }', reasoning='Okay, the user is asking for the capital', usage=U(136, 15, 151, 0, 0, 0), finish='stop'),
    ],
    "openai_compat_local/ruby_llm__chat_basic_chat_functionality_gpustack_qwen3_can_have_a_basic_conversation.yml": [
        X(text='The sum of 2 and 2 is **4**. \n\n$$\n2 + 2 = 4\n$', reasoning='Okay, the user asked, "What\'s 2 + 2?" Th', usage=U(16, 335, 351, 293, 0, 0), finish='stop'),
    ],
    "openai_compat_local/ruby_llm__chat_error_handling_with_ollama_cloud_gpt-oss_120b_raises_appropriate_auth_error.yml": [
        E(AuthenticationError, 401, 'api_error', 'Unauthorized'),
    ],
    "openai_compat_local/ruby_llm__chat_real_error_scenarios_ollama_cloud_gpt-oss_120b_handles_context_length_exceeded_errors.yml": [
        E(ContextLengthError, 400, 'invalid_request_error', 'prompt too long; exceeded max context le'),
    ],
    "openai_compat_local/ruby_llm__chat_streaming_responses_gpustack_qwen3_supports_streaming_responses.yml": [
        X(text='1, 2, 3.', reasoning='Okay, the user wants me to count from 1 ', usage=U(15, 171, 186, 160, 0, 0), finish='stop'),
    ],
    "openai_compat_local/ruby_llm__chat_streaming_responses_ollama_qwen3_supports_streaming_responses.yml": [
        X(text='1  \n2  \n3', reasoning='Okay, the user wants me to count from 1 ', usage=U(17, 289, 306, 0, 0, 0), finish='stop'),
    ],
    "openai_responses/llm__test_responses_basic_streaming.yaml": [
        X(text='pong', usage=U(11, 5, 16, 0, 0, 0), finish='stop'),
    ],
    "openai_responses/llm__test_responses_tool_use_streaming.yaml": [
        X(text="", tools=[('call_sVidsfFJ6zlzRpelrPkTPlpd', 'multiply', {'a': 1231, 'b': 2331})], usage=U(58, 23, 81, 0, 0, 0), finish='tool-calls'),
        X(text='1231 × 2331 = **2,869,461**', usage=U(94, 18, 112, 0, 0, 0), finish='stop'),
    ],
    "openai_responses/pydantic-ai__test_openai_include_raw_annotations_streaming.yaml": [
        X(text='The tallest mountain in Alberta is **Mount Co', sources=[('https://www.britannica.com/place/Mount-Columbia?utm_source=openai', 'Mount Columbia | mountain, Alberta, Canada | Britannica')], n_sources=1, usage=U(12243, 140, 12383, 100, 0, 0), finish='stop'),
        X(text='Alberta’s tallest mountain (highest point) is', sources=[('https://www.britannica.com/place/Mount-Columbia?utm_source=openai', 'Mount Columbia | mountain, Alberta, Canada | Britannica')], n_sources=1, usage=U(8234, 79, 8313, 34, 0, 0), finish='stop'),
        X(text='2+2 = 4', usage=U(20, 10, 30, 0, 0, 0), finish='stop'),
    ],
    "openai_responses/pydantic-ai__test_openai_responses_model_http_error.yaml": [
        E(InvalidRequestError, 400, 'decimal_below_min_value', "Invalid 'temperature': decimal below min"),
    ],
    "openai_responses/pydantic-ai__test_openai_responses_thinking_part_iter.yaml": [
        X(text="I'm not a road safety professional, but here ", reasoning='**Providing street crossing instructions', usage=U(13, 1680, 1693, 1408, 0, 0), finish='stop'),
    ],
    "openai_responses/pydantic-ai__test_reasoning_summary_auto.yaml": [
        X(text='```python\ndef factorial(n: int) -> int:\n    "', reasoning='**Generating factorial function**\n\nI nee', usage=U(34, 226, 260, 59, 0, 0), finish='stop'),
    ],
    "openai_responses/ruby_llm__chat_error_handling_with_openai_gpt-5-nano_raises_appropriate_auth_error.yml": [
        E(AuthenticationError, 401, 'invalid_api_key', 'Incorrect API key provided: invalid-key.'),
    ],
    "openai_responses/ruby_llm__chat_prompt_cache_round-trip_openai_gpt-5_2_reuses_the_prompt_cache_with_a_shared_key.yml": [
        X(text='OK', usage=U(6165, 5, 6170, 0, 0, 0), finish='stop'),
        X(text='OK', usage=U(6165, 5, 6170, 0, 6016, 0), finish='stop'),
    ],
    "openai_responses/ruby_llm__chat_web_search_with_openai_gpt-5_2_searches_and_records_the_tool_call_items.yml": [
        X(text='The latest stable Ruby (MRI/CRuby) version is', sources=[('https://www.ruby-lang.org/en/downloads/?utm_source=openai', 'Download Ruby | Ruby')], n_sources=1, usage=U(8614, 95, 8709, 48, 0, 0), finish='stop'),
        X(text='OK', usage=U(4565, 5, 4570, 0, 4352, 0), finish='stop'),
    ],
    "openai_responses/vercel-ai__openai-error.1.json": [
        E(RateLimitError, 429, 'insufficient_quota', 'You exceeded your current quota', as_status=429),
    ],
}


def _cases() -> list[Any]:
    return [
        pytest.param(p, i, id=f"{p.parent.name}/{p.name}[{i}]")
        for p in recorded_files()
        for i in range(len(load(p)))
    ]


def test_every_recorded_file_has_an_expectation() -> None:
    """A new recording without an expectation fails here (and an expectation for a vanished file too)."""
    on_disk = {f"{p.parent.name}/{p.name}" for p in recorded_files()}
    assert on_disk, SKIP_REASON
    assert sorted(on_disk - EXPECTED.keys()) == [], "recorded files without an expectation in EXPECTED"
    assert sorted(EXPECTED.keys() - on_disk) == [], "expectations for files that are not recorded"


@pytest.mark.parametrize("path", [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in recorded_files()])
def test_expectation_per_interaction(path: Path) -> None:
    key = f"{path.parent.name}/{path.name}"
    assert key in EXPECTED, f"{key}: new recording; add its expected values to EXPECTED"
    assert len(EXPECTED[key]) == len(load(path)), f"{key}: one expectation per recorded interaction"


@pytest.mark.parametrize(("path", "index"), _cases())
def test_replay(path: Path, index: int) -> None:
    key = f"{path.parent.name}/{path.name}"
    expected = EXPECTED[key][index]
    it = load(path)[index]
    if isinstance(expected, S):
        assert it.method in ("POST", "PATCH", "DELETE") and "cachedContents" in it.uri
        return
    if isinstance(expected, E):
        status = expected.as_status or it.status
        assert status == expected.status
        err = provider_for(path, it).parse_error(status, it.response_headers, it.response_body)
        assert type(err) is expected.cls
        assert (err.status, err.code) == (expected.status, expected.code)
        assert expected.message in err.message
        assert KEY not in str(err.to_dict())
        return
    replayed = replay(path, it)
    resp = replayed.response
    if expected.text:
        assert expected.text in resp.text
    else:
        assert resp.text.strip() == ""
    assert [(t.tool_call_id, t.tool_name, t.args) for t in resp.tool_calls] == expected.tools
    reasoning = "".join(r.text for r in resp.reasoning)
    if expected.reasoning is None:
        assert reasoning.strip() == ""
    else:
        assert expected.reasoning in reasoning
    signatures = [r.signature for r in resp.reasoning if r.signature]
    if expected.signature is None:
        assert signatures == []
    else:
        assert signatures[0].startswith(expected.signature) and len(signatures[0]) > 40
    assert len(resp.sources) == expected.n_sources
    for (url, title), src in zip(expected.sources, resp.sources, strict=False):
        assert (src.url, src.title) == (url, title)
    assert resp.usage == expected.usage
    assert resp.finish_reason == expected.finish
    if is_stream(path, it):
        streamed_text = "".join(e.text for e in replayed.events if isinstance(e, TextDeltaEvent))
        streamed_reasoning = "".join(e.text for e in replayed.events if isinstance(e, ReasoningDeltaEvent))
        assert streamed_text == resp.text
        assert streamed_reasoning == reasoning


def test_recorded_folder_is_where_the_helper_looks() -> None:
    assert RECORDED.name == "recorded" and RECORDED.parent.name == "fixtures"
