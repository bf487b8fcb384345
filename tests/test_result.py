from __future__ import annotations

from playground import GenerationResult, Message, Step, Usage
from playground.result import RawResponse, ResponseInfo, fast_construct


def test_fast_construct_equals_validated_construction() -> None:
    values = {"index": 2, "text": "hi", "usage": Usage(input_tokens=3, output_tokens=1, total_tokens=4)}
    fast = fast_construct(Step, **values)
    assert fast == Step(**values)
    assert fast.model_dump() == Step(**values).model_dump()
    assert fast.tool_calls == [] and fast.tool_calls is not fast_construct(Step, **values).tool_calls  # fresh lists
    assert fast.model_fields_set == set(values)
    result = fast_construct(
        GenerationResult, text="x", messages=[Message.user("q")], response=fast_construct(ResponseInfo)
    )
    assert result == GenerationResult(text="x", messages=[Message.user("q")], response=ResponseInfo())
    assert GenerationResult.model_validate_json(result.model_dump_json()) == result
    raw = fast_construct(RawResponse, status=200, headers={}, body=["a"], stream=True)
    assert raw == RawResponse(status=200, headers={}, body=["a"], stream=True)


def test_activeagent_accessors() -> None:
    result = GenerationResult(
        text='Here: {"a": 1} done',
        usage=Usage(input_tokens=5, output_tokens=2, total_tokens=7),
        messages=[Message.user("q"), Message.assistant('Here: {"a": 1} done')],
    )
    assert result.parsed_json == {"a": 1} and result.message.parsed_json == {"a": 1}
    assert (result.prompt_tokens, result.completion_tokens, result.total_tokens) == (5, 2, 7)
    assert Message.assistant("no json here").parsed_json is None
    assert str(result) == result.text and "finish_reason" in repr(result)
