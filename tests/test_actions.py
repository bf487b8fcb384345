"""ActiveAgent's three ways to generate: direct, parameterized (`with_`) and action-based (ActionAgent + templates),
each inspectable and run now, streamed or later; templates sandboxed and strict; params reaching tools; the CLI form."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from playground import (
    ActionAgent,
    Agent,
    ConfigurationError,
    InMemoryRunStore,
    TemplateError,
    ToolContext,
    action,
    after_generation,
    before_generation,
    tool,
)
from playground.actions import action_class_of, parse_params, template_variables

REPO = Path(__file__).resolve().parents[1]


def translator() -> type[ActionAgent]:
    spec = importlib.util.spec_from_file_location("translator_example", REPO / "agents" / "translator.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls: type[ActionAgent] = module.Translator
    cls.as_agent().storage = InMemoryRunStore()
    return cls


def user_text(gen: Any) -> str:
    return [m for m in gen.messages if m.role == "user"][-1].text


# -- parameterized ---------------------------------------------------------------------------------------------------
def test_with_fills_message_and_instructions_in_the_exact_request() -> None:
    agent = Agent(name="greeter", instructions="You greet people from {{ city }}.", model="demo",
                  storage=InMemoryRunStore())
    gen = agent.with_(name="Ada", city="Oslo").prompt("Greet {{ name }}")
    body = gen.request_preview()["body"]
    assert body["messages"] == [{"role": "system", "content": "You greet people from Oslo."},
                                {"role": "user", "content": "Greet Ada"}]
    result = gen.generate_now()
    assert result.request.body == body | {"stream": False} or result.request.body["messages"] == body["messages"]


def test_missing_variable_is_an_error_naming_it() -> None:
    agent = Agent(model="demo", storage=InMemoryRunStore())
    with pytest.raises(TemplateError) as err:
        agent.with_(name="Ada").prompt("Greet {{ name }} from {{ city }}")
    assert "'city' is undefined" in str(err.value) and "with_(city=...)" in str(err.value)
    assert "given: name" in str(err.value)


def test_sandbox_refuses_unsafe_template_code() -> None:
    agent = Agent(model="demo", storage=InMemoryRunStore())
    with pytest.raises(TemplateError, match="sandbox"):
        agent.with_(x="a").prompt("{{ x.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError, match="not a valid template"):
        agent.with_().prompt("{{ unclosed")


def test_params_reach_tools_and_processors_as_request_context() -> None:
    seen: dict[str, Any] = {}

    @tool
    def lookup(city: str, ctx: ToolContext) -> str:
        """Look a city up."""
        seen.update(ctx.request_context)
        return "ok"

    agent = Agent(model="demo", tools=[lookup], storage=InMemoryRunStore())
    agent.with_(user="ada", tier="gold").generate("lookup Paris")
    assert seen == {"user": "ada", "tier": "gold"}


def test_bad_params() -> None:
    agent = Agent(model="demo", storage=InMemoryRunStore())
    with pytest.raises(ConfigurationError, match="identifier"):
        agent.with_(**{"not valid": 1})


# -- action-based ----------------------------------------------------------------------------------------------------
def test_action_renders_its_template_into_the_exact_request() -> None:
    cls = translator()
    gen = cls.with_(text="Good morning", lang="Spanish").translate()
    messages = gen.request_preview()["body"]["messages"]
    assert messages[0]["content"].startswith("You are a careful translator into Spanish.")
    assert messages[1]["content"] == "Translate into Spanish:\n\nGood morning"
    assert cls.actions() == {"summarize": ["sentences", "lang", "text"], "translate": ["lang", "text"]}
    assert action_class_of(cls.as_agent()) is cls


def test_action_missing_param_names_it_and_the_template() -> None:
    cls = translator()
    with pytest.raises(TemplateError) as err:
        cls.with_(lang="Spanish").translate()
    assert "translate.md.j2" in str(err.value) and "'text' is undefined" in str(err.value)


def test_callbacks_run_around_actions() -> None:
    cls = translator()
    gen = cls.with_(text="Hi").translate()  # before_generation gave lang its default
    assert "Translate into French" in user_text(gen)

    calls: list[str] = []

    class Shouty(ActionAgent):
        model = "demo"
        instructions = "Shout {{ word }}."

        @before_generation
        def upper(self) -> None:
            calls.append("before")
            self.params["word"] = str(self.params["word"]).upper()

        @after_generation
        def seen(self, gen: Any) -> None:
            calls.append("after")

        @action
        def shout(self):  # type: ignore[no-untyped-def]
            return self.prompt("say {{ word }}")

    gen = Shouty.with_(word="hi").shout()
    assert user_text(gen) == "say HI" and gen.instructions == "Shout HI." and calls == ["before", "after"]


def test_each_generation_style_runs_now_stream_and_later() -> None:
    cls = translator()
    direct = cls.as_agent().prompt("Translate into French: cat", instructions="You translate.")
    parameterized = cls.as_agent().with_(lang="German", text="cat").prompt("Translate into {{ lang }}: {{ text }}")
    action_based = cls.with_(lang="Spanish", text="cat").translate()
    for gen in (direct, parameterized, action_based):
        expected = user_text(gen)
        now = gen.generate_now()
        assert expected in now.text
        streamed = gen.stream()
        assert expected in "".join(streamed.text_stream())
        later = gen.generate_later()
        assert expected in later.result(timeout=60).text


def test_async_with_params() -> None:
    agent = Agent(model="demo", storage=InMemoryRunStore())

    async def go() -> Any:
        return await agent.with_(n=3).generate_async("What is {{ n }} + {{ n }}?")

    assert "3 + 3 = 6" in asyncio.run(go()).text


def test_template_variables_in_order() -> None:
    assert template_variables("Hi {{ name }}, from {{ city }} {{ name }}") == ["name", "city"]
    assert template_variables("no variables") == []


# -- CLI ---------------------------------------------------------------------------------------------------------------
def test_cli_runs_an_action_with_params(capsys: pytest.CaptureFixture[str]) -> None:
    from playground.cli import main

    code = main(["run", f"{REPO / 'agents' / 'translator.py'}:Translator.translate", "--param", "text=Good morning",
                 "--param", "lang=German", "--json"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Translate into German:\\n\\nGood morning" in out


def test_cli_bad_action_and_params(capsys: pytest.CaptureFixture[str]) -> None:
    from playground.cli import main

    path = f"{REPO / 'agents' / 'translator.py'}:Translator.nope"
    assert main(["run", path, "--param", "text=x"]) == 1
    assert "has no action 'nope'; actions: summarize, translate" in capsys.readouterr().err
    assert main(["run", f"{REPO / 'agents' / 'translator.py'}:Translator.translate", "--param", "oops"]) == 2
    assert "write NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(ConfigurationError, match="NAME=VALUE"):
        parse_params(["=x"])
    assert parse_params(["n=3", "flag=true", "name=Ada"]) == {"n": 3, "flag": True, "name": "Ada"}


def test_cli_with_params_on_a_plain_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from playground.cli import main

    assert main(["run", str(REPO / "agents" / "research.py"), "What is {{ a }} + 2?", "--param", "a=40"]) == 0
    assert "40 + 2 = 42" in capsys.readouterr().out
