"""The notebook playground's Prompt tab: variables, an action agent's actions rendered into the message box, and
prompt versions (list, diff, restore, compare) — the same session actions as the browser's Prompt tab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from playground.ui.session import PlaygroundSession, load_agents
from playground.ui.widgets import PlaygroundWidget

REPO = Path(__file__).resolve().parents[2]


def widget(agent: str) -> PlaygroundWidget:
    return PlaygroundWidget(PlaygroundSession(load_agents(REPO / "agents"), agent=agent))


async def send(pg: PlaygroundWidget, text: str) -> None:
    pg.message_box.value = text
    pg.send_button.click()
    await pg.wait()


async def test_variables_fill_the_request(tmp_path: Path) -> None:
    pg = widget("research")
    pg.instructions_box.value = "You explain {{ topic }}."
    pg.message_box.value = "Tell me about {{ thing }}"
    ui = pg.prompts_ui
    ui.find()
    assert ui.variables.value == "topic = \nthing = "
    ui.variables.value = "topic = birds\nthing = owls"
    ui.apply()
    assert "Using 2 value(s)" in ui.note.value
    await send(pg, "Tell me about {{ thing }}")
    result = pg.session.exchanges[-1].result
    assert result is not None and result.steps[0].raw_request is not None
    messages = result.steps[0].raw_request.body["messages"]
    assert messages[0]["content"] == "You explain birds." and messages[-1]["content"] == "Tell me about owls"


async def test_actions_and_versions() -> None:
    pg = widget("translator")
    ui = pg.prompts_ui
    assert list(ui.action_menu.options) == ["summarize", "translate"]
    ui.action_menu.value = "translate"
    assert ui.params.value == "lang = \ntext = "
    ui.params.value = "lang = German\ntext = Good morning"
    assert ui.render() == "Translate into German:\n\nGood morning"
    assert pg.message_box.value == "Translate into German:\n\nGood morning"
    await send(pg, pg.message_box.value)
    pg.instructions_box.value = "Be terse."
    await send(pg, "hello")
    pg.main_tabs.selected_index = list(pg.main_tabs.children).index(ui.page)  # opening the tab refreshes it
    assert "v2 (last sent)" in ui.versions.value
    ui.version_a.value, ui.version_b.value = 1, 2
    ui.show_diff()
    assert "+Be terse." in ui.diff.value
    ui.compare_pick.value = (1, 2)
    pg.message_box.value = "hello"
    await ui.compare()
    assert "v1" in ui.compare_out.value and "v2" in ui.compare_out.value
    ui.version_a.value = 1
    ui.restore()
    assert pg.session.instructions.startswith("You are a careful translator into {{ lang }}")
    assert pg.instructions_box.value == pg.session.instructions


def test_a_bad_action_param_says_why() -> None:
    pg = widget("translator")
    ui = pg.prompts_ui
    ui.action_menu.value = "translate"
    ui.params.value = "lang = German"
    assert ui.render() is None
    assert "&#x27;text&#x27; is undefined" in ui.note.value


@pytest.mark.parametrize("agent", ["support"])
def test_plain_agents_have_no_actions(agent: str) -> None:
    pg: Any = widget(agent)
    assert list(pg.prompts_ui.action_menu.options) == []
