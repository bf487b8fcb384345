"""Variables, prompt versions and actions in the playground: PlaygroundSession (no browser), then the Prompt tab in
Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from playground import ConfigurationError
from playground.ui.session import CompareColumn, PlaygroundSession, load_agents
from tests.ui.conftest import AGENTS


async def _drain(events: Any) -> None:
    async for _ in events:
        pass


def send(s: PlaygroundSession, text: str) -> None:
    asyncio.run(_drain(s.send(text)))


def test_variables_fill_instructions_and_message_in_the_exact_request() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="research")
    s.set_instructions("You answer questions about {{ topic }}.")
    assert s.needed_variables("Tell me about {{ thing }} and {{ topic }}") == ["topic", "thing"]
    with pytest.raises(ConfigurationError, match="the variable 'topic' has no value"):
        s.inspect("hello")
    s.set_variables({"topic": "owls", "thing": "feathers"})
    body = s.inspect("Tell me about {{ thing }}")["body"]
    assert body["messages"][0]["content"] == "You answer questions about owls."
    assert body["messages"][-1]["content"] == "Tell me about feathers"
    send(s, "Tell me about {{ thing }}")
    ex = s.exchanges[-1]
    assert ex.result is not None and ex.result.steps[0].raw_request is not None
    sent = ex.result.steps[0].raw_request.body["messages"]
    assert sent[0]["content"] == "You answer questions about owls." and sent[-1]["content"] == "Tell me about feathers"


def test_a_missing_variable_stops_the_send_with_its_name() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="research")
    events: list[Any] = []

    async def go() -> None:
        async for ev in s.send("Hi {{ who }}"):
            events.append(ev)

    asyncio.run(go())
    assert s.notice is not None and "'who' has no value" in s.notice
    assert s.exchanges == []  # nothing was sent


def test_versions_are_numbered_diffed_restored_and_compared() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="research")
    s.set_instructions("Be brief.")
    send(s, "What is 2 + 2?")
    send(s, "What is 3 + 3?")  # same prompt: same version
    assert [v.number for v in s.prompt_versions()] == [1] and s.last_version == 1
    s.set_instructions("Be very brief.")
    s.set_settings({"temperature": "0.2"})
    send(s, "What is 4 + 4?")
    assert [v.number for v in s.prompt_versions()] == [1, 2] and s.last_version == 2
    diff = s.diff_versions(1, 2)
    assert "-Be brief." in diff and "+Be very brief." in diff and '"temperature": 0.2' in diff
    assert "| v2 (last sent) |" in s.versions_markdown()
    s.restore_version(1)
    assert s.instructions == "Be brief." and s.settings.temperature is None
    outcomes = asyncio.run(s.compare("What is 5 + 5?", [
        CompareColumn(provider="demo", version=1), CompareColumn(provider="demo", version=2)]))
    assert [o.label.endswith(f"v{n}") for o, n in zip(outcomes, (1, 2), strict=True)] == [True, True]
    assert outcomes[0].request["body"]["messages"][0]["content"] == "Be brief."
    assert outcomes[1].request["body"]["messages"][0]["content"] == "Be very brief."
    assert outcomes[1].request["body"]["temperature"] == 0.2
    with pytest.raises(ConfigurationError, match="no version 9"):
        s.restore_version(9)


def test_versions_belong_to_their_agent_and_survive_a_new_session() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="research")
    s.set_instructions("v-one")
    send(s, "hello")
    again = PlaygroundSession(load_agents(AGENTS), agent="research")
    assert [v.instructions for v in again.prompt_versions()] == ["v-one"]
    again.set_agent("weather")
    assert again.prompt_versions() == []


def test_actions_of_an_action_agent_render_into_the_message() -> None:
    s = PlaygroundSession(load_agents(AGENTS), agent="translator")
    assert s.agent_actions() == {"summarize": ["sentences", "lang", "text"], "translate": ["lang", "text"]}
    text = s.render_action("translate", {"text": "Good morning", "lang": "German", "ignored_empty": ""})
    assert text == "Translate into German:\n\nGood morning"
    body = s.inspect(text)["body"]
    assert body["messages"][0]["content"].startswith("You are a careful translator into German.")
    send(s, text)
    assert s.prompt_versions()[-1].template == "Translator.translate"
    with pytest.raises(ConfigurationError, match="no action 'nope'"):
        s.render_action("nope", {})
    with pytest.raises(ConfigurationError, match="'text' is undefined"):
        s.render_action("translate", {"lang": "German"})
    plain = PlaygroundSession(load_agents(AGENTS), agent="support")
    assert plain.agent_actions() == {}


@pytest.mark.browser
def test_prompt_tab_variables_actions_and_versions(browser: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        page.goto(app_url)
        page.get_by_role("button", name="Send", exact=True).wait_for(timeout=60_000)
        page.get_by_label("Agent", exact=True).click()
        page.get_by_role("option", name="translator", exact=True).click()
        expect(page.locator("body")).to_contain_text("Agent translator on", timeout=30_000)
        page.get_by_role("tab", name="Prompt").click()
        expect(page.get_by_label("Action", exact=True)).to_have_value("summarize", timeout=30_000)
        page.get_by_label("Action", exact=True).click()
        page.get_by_role("option", name="translate", exact=True).click()
        params = page.locator("#pg-action-params textarea")
        expect(params).to_have_value("lang = \ntext = ", timeout=10_000)  # a field per param of the templates
        params.fill("lang = Spanish\ntext = Good morning")
        page.locator("#pg-action-render").click()
        expect(page.locator("#pg-action-note")).to_contain_text("Rendered", timeout=20_000)
        page.get_by_role("tab", name="Chat").click()
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator("#pg-chat")).to_contain_text("Translate into Spanish", timeout=30_000)
        page.get_by_role("tab", name="Prompt").click()
        expect(page.locator("#pg-versions")).to_contain_text("v1", timeout=20_000)
        expect(page.locator("#pg-versions")).to_contain_text("careful translator into {{ lang }}")
    finally:
        page.close()
