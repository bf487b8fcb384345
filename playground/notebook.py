"""The notebook playground: `Playground(agent)` as a cell's value shows the ipywidgets playground in JupyterLab.

    from playground.notebook import Playground
    pg = Playground(agent)                 # or Playground([a, b]), Playground(agents_dir="agents"), Playground()
    pg                                     # displays it; chat, approve/decline and every panel are there
    await pg.send("refund order 42")       # the buttons' actions, for code
    await pg.approve()

It is the browser playground's twin: both call the same `PlaygroundSession` (playground/ui/session.py).
This module imports ipywidgets (`pip install 'agent-playground[notebook]'`); `import playground` does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .agent import Agent
from .errors import ConfigurationError
from .ui.session import PlaygroundSession, load_agents
from .ui.widgets import PlaygroundWidget

__all__ = ["Playground", "PlaygroundWidget", "find_agents_dir"]


def find_agents_dir(start: str | Path | None = None) -> Path | None:
    """The nearest `agents/` folder in `start` (default: the working directory) or one of its parents."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "agents"
        if candidate.is_dir() and any(candidate.glob("*.py")):
            return candidate
    return None


class Playground(PlaygroundWidget):
    """An ipywidgets playground for one agent, several, or the `agents/` folder of the project.

    `agent`: an Agent, a list of Agents, or a dict name -> Agent. Without it, the agents found in `agents_dir`
    (default: the nearest `agents/` folder) are offered. `select` chooses the agent shown first (by name).
    """

    def __init__(
        self,
        agent: Agent | Sequence[Agent] | Mapping[str, Agent] | None = None,
        *,
        agents_dir: str | Path | None = None,
        select: str | None = None,
        timeout: float | None = 60.0,
        memory: Any = True,
    ) -> None:
        agents: dict[str, Agent] = {}
        problems: list[str] = []
        if agent is None:
            folder = Path(agents_dir) if agents_dir is not None else find_agents_dir()
            if folder is not None:
                agents, problems = load_agents(folder)
        elif isinstance(agent, Agent):
            agents = {agent.name: agent}
            select = select or agent.name
        elif isinstance(agent, Mapping):
            agents = dict(agent)
        else:
            for a in agent:
                if not isinstance(a, Agent):
                    raise ConfigurationError(f"Playground: expected Agent objects, got {type(a).__name__}",
                                             field="agent")
                agents[a.name] = a
        if select is not None and select not in agents:
            raise ConfigurationError(
                f"Playground: no agent named {select!r}; choose one of {', '.join(agents) or '(none)'}", field="select"
            )
        super().__init__(PlaygroundSession((agents, problems), agent=select, timeout=timeout, memory=memory))
        if problems:
            self.session.notice = "Some agents could not be loaded: " + "; ".join(problems)
            self.refresh()
