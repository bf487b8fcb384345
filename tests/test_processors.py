"""Processors: every hook, tripwires, retries with feedback, and the two built-ins (PII redactor, token limiter)."""

from __future__ import annotations

from typing import Any

import pytest

from playground import (
    Agent,
    ConfigurationError,
    Message,
    PIIRedactor,
    Processor,
    ProcessorContext,
    Step,
    TextDeltaEvent,
    TokenLimiter,
)
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-processors-0123456789"
SECRETS = (
    "Mail ada@example.com or call +1 (415) 555-0132; key sk-proj-abcdefghijklmnopqrstuv, "
    "aws AKIAIOSFODNN7EXAMPLE, header Bearer eyJhbGciOiJIUzI1NiJ9.payload"
)
REDACTED = "Mail [EMAIL] or call [PHONE]; key [API_KEY], aws [API_KEY], header Bearer [TOKEN]"


def scripted_agent(script: Scripted, **kw: Any) -> Agent:
    return Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)


def test_pii_redactor_redacts_text() -> None:
    r = PIIRedactor()
    assert r.redact(SECRETS) == REDACTED
    assert r.redact("Order 42 shipped on 2024-05-01, total 89.50") == "Order 42 shipped on 2024-05-01, total 89.50"
    assert [k for k, _ in r.find(SECRETS)] == ["api_key", "api_key", "bearer", "email", "phone"]
    assert PIIRedactor(["email"]).redact(SECRETS).startswith("Mail [EMAIL] or call +1 (415) 555-0132")
    with pytest.raises(ConfigurationError, match="unknown \\['ssn'\\]"):
        PIIRedactor(["ssn"])  # type: ignore[list-item]


def test_pii_redactor_as_input_processor_keeps_secrets_from_the_model() -> None:
    script = Scripted(completion("Noted."))
    result = scripted_agent(script, input_processors=[PIIRedactor()]).generate(SECRETS)
    assert script.bodies[0]["messages"][-1]["content"] == REDACTED
    assert result.messages[0].text == REDACTED


def test_pii_redactor_as_output_processor_redacts_stream_and_result() -> None:
    answer = "Write to ada@example.com with key sk-abcdefghijklmnopqrstuvwx please"
    run = scripted_agent(Scripted(completion(answer)), output_processors=[PIIRedactor()]).stream("x")
    streamed = "".join(e.text for e in run if isinstance(e, TextDeltaEvent))
    assert streamed.strip() == "Write to [EMAIL] with key [API_KEY] please"
    assert run.result is not None and run.result.text.strip() == "Write to [EMAIL] with key [API_KEY] please"
    assert "ada@example.com" not in run.result.message.text

    result = scripted_agent(Scripted(completion(answer)), output_processors=[PIIRedactor()]).generate("x")
    assert result.text == "Write to [EMAIL] with key [API_KEY] please"
    assert result.steps[0].text == result.text


def test_pii_block_strategy_trips_the_run_before_any_request() -> None:
    script = Scripted(completion("never"))
    result = scripted_agent(script, input_processors=[PIIRedactor(strategy="block")]).generate("mail ada@example.com")
    assert result.finish_reason == "tripwire" and script.requests == []
    assert result.tripwire is not None
    assert result.tripwire.reason == "blocked: the text contains email"
    assert result.tripwire.processor_id == "pii-redactor"
    assert result.tripwire.metadata == {"kinds": ["email"]}


def test_token_limiter_input_truncates_oldest_or_trips() -> None:
    history = [
        {"role": "user", "content": "one two three four five six seven eight"},
        {"role": "assistant", "content": "alpha beta gamma delta"},
        {"role": "user", "content": "last question here"},
    ]
    script = Scripted(completion("ok"))
    scripted_agent(script, instructions="Sys.", input_processors=[TokenLimiter(8)]).generate(history)
    sent = [m["content"] for m in script.bodies[0]["messages"]]
    assert sent == ["Sys.", "alpha beta gamma delta", "last question here"]

    script = Scripted(completion("ok"))
    result = scripted_agent(script).generate(history, input_processors=[TokenLimiter(8, strategy="abort")])
    assert result.finish_reason == "tripwire" and script.requests == []
    assert result.tripwire is not None
    assert result.tripwire.reason == "the input has about 15 tokens, over the budget of 8"


def test_token_limiter_output_cuts_stream_and_result() -> None:
    answer = "one two three four five six seven"
    run = scripted_agent(Scripted(completion(answer)), output_processors=[TokenLimiter(3)]).stream("x")
    assert "".join(run.text_stream()) == "one two three "
    assert run.result is not None and run.result.text == "one two three"
    assert "the answer was cut to 3 tokens by the token limiter" in run.result.warnings

    result = scripted_agent(Scripted(completion(answer))).generate(
        "x", output_processors=[TokenLimiter(3, strategy="abort")]
    )
    assert result.finish_reason == "tripwire" and result.tripwire is not None
    assert result.tripwire.processor_id == "token-limiter"


class NoApologies(Processor):
    """Asks for a retry while the answer apologises."""

    id = "no-apologies"

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def process_output_step(self, step: Step, ctx: ProcessorContext) -> None:
        self.seen.append((step.index, ctx.retry_count))
        if "sorry" in step.text.lower():
            ctx.abort("Do not apologise; just answer.", retry=True)


def test_output_step_retry_sends_feedback_and_succeeds() -> None:
    script = Scripted(completion("Sorry, I cannot."), completion("The answer is 4."))
    proc = NoApologies()
    result = scripted_agent(script, output_processors=[proc]).generate("2+2?")
    assert result.finish_reason == "stop" and result.text == "The answer is 4."
    assert proc.seen == [(0, 0), (1, 1)]
    second = script.bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[-1]["content"] == "Please answer again. Feedback on your last answer: Do not apologise; just answer."
    assert "no-apologies asked for a retry: Do not apologise; just answer." in result.warnings


def test_output_step_retry_trips_after_max_processor_retries() -> None:
    script = Scripted(*[completion("Sorry!") for _ in range(5)])
    result = scripted_agent(script, output_processors=[NoApologies()], max_processor_retries=1).generate("x")
    assert result.finish_reason == "tripwire" and len(script.requests) == 2
    assert result.tripwire is not None and result.tripwire.reason == (
        "Do not apologise; just answer. (still failing after 1 retries; raise max_processor_retries to allow more)"
    )


async def test_async_hooks_and_input_step_hook() -> None:
    calls: list[str] = []

    class Shout(Processor):
        async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
            calls.append(f"input {ctx.run_id == ''}")
            return [Message.user(m.text.upper()) if m.role == "user" else m for m in messages]

        def process_input_step(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
            calls.append(f"step {ctx.step_number}")
            return [*messages, Message.system("Step hint.")]

    script = Scripted(completion("ok"))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, async_http_client=script.async_client())
    result = await agent.generate_async("hello", input_processors=[Shout()])
    assert result.text == "ok" and calls == ["input False", "step 0"]
    assert [(m["role"], m["content"]) for m in script.bodies[0]["messages"]] == [
        ("user", "HELLO"),
        ("system", "Step hint."),
    ]
    assert [m.text for m in result.messages] == ["HELLO", "ok"]  # the step hint is not stored


def test_output_result_hook_replaces_the_result_and_stream_hook_drops_chunks() -> None:
    class Censor(Processor):
        def process_output_stream(self, chunk: Any, ctx: ProcessorContext) -> Any:
            if isinstance(chunk, TextDeltaEvent) and "darn" in chunk.text:
                return None
            return chunk

        def process_output_result(self, result: Any, ctx: ProcessorContext) -> Any:
            result.text = result.text.strip() + " (censored)"
            return result

    run = scripted_agent(Scripted(completion("well darn it")), output_processors=[Censor()]).stream("x")
    assert "".join(run.text_stream()) == "well it "
    assert run.result is not None and run.result.text == "well it (censored)"  # the dropped chunk stays dropped


def test_processor_without_hooks_is_rejected_naming_the_option() -> None:
    from playground.processors import check_processors

    with pytest.raises(ConfigurationError, match=r"output_processors\[0\]: .* has none of the hooks"):
        check_processors([object()], "output_processors")


# -- issue 10: what process_output_stream makes of the stream is the result ----------------------------------------


class Shout(Processor):
    """Changes only chunks (no result hook): upper-cases text, drops reasoning that mentions a secret."""

    def process_output_stream(self, chunk: Any, ctx: ProcessorContext) -> Any:
        from playground.events import ReasoningDeltaEvent

        if isinstance(chunk, TextDeltaEvent):
            chunk.text = chunk.text.upper()
        elif isinstance(chunk, ReasoningDeltaEvent) and "secret" in chunk.text:
            return None
        return chunk


@pytest.mark.parametrize("streamed", [False, True])
def test_stream_hook_changes_reach_result_text_and_reasoning(streamed: bool) -> None:
    script = Scripted(completion("quiet words", reasoning="the secret plan"))
    agent = scripted_agent(script, output_processors=[Shout()])
    if streamed:
        run = agent.stream("x")
        seen = "".join(ev.text for ev in run if isinstance(ev, TextDeltaEvent))
        result = run.final_result()
        assert seen.strip() == "QUIET WORDS"
    else:
        result = agent.generate("x")
    assert result.text.strip() == "QUIET WORDS"
    assert result.steps[0].text.strip() == "QUIET WORDS"
    assert result.reasoning == [] and result.reasoning_text is None
    assert result.response.messages[-1].text.strip() == "QUIET WORDS"


def test_demo_model_stream_hook_reaches_the_result() -> None:
    result = Agent(model="demo", output_processors=[Shout()]).generate("hello")
    assert result.text == result.text.upper() and result.text.strip()


@pytest.mark.parametrize("where", ["input_processors", "output_processors"])
def test_an_object_with_no_processor_hook_is_an_error(where: str) -> None:
    class NotAProcessor:
        def process(self, messages: Any) -> Any:  # Mastra-shaped name, but not a hook
            return messages

    with pytest.raises(ConfigurationError, match="none of the hooks") as info:
        options: dict[str, Any] = {where: [NotAProcessor()]}
        Agent(model="demo", **options)
    assert info.value.field == where
    with pytest.raises(ConfigurationError, match="none of the hooks"):
        Agent(model="demo").generate("hi", **{where: [NotAProcessor()]})
