"""Variables, prompt versions and actions in the playground (a PlaygroundSession mixin, for both front ends).

- Variables: `{{ name }}` in the instructions or the message shows a field per variable (`needed_variables`); the
  filled-in text (sandboxed Jinja2) is what Inspect and the raw request show. A variable left empty is an error that
  names it.
- Versions: every distinct prompt that was sent (instructions as written, settings, action template) is a numbered
  version of the agent's prompt in the store; list them, diff two, restore one, or run one as a Compare column.
- Actions: an action agent's actions (ActiveAgent style) with the params their templates use; `render_action` puts
  the rendered prompt in the message box (and the params in the variables), so what is sent is what Inspect shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..actions import TemplateError, render_text, template_variables
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..agent import Agent
    from ..settings import ModelSettings
    from ..store.prompt_versions import PromptVersion, PromptVersions


def parse_fields(text: str | None) -> dict[str, str]:
    """`name = value` lines (the Variables and Params fields of both front ends) as a dict; the value is everything
    after the first '='."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


def format_fields(names: list[str], values: Mapping[str, str]) -> str:
    """A `name = value` line per name (empty values for the person to fill)."""
    return "\n".join(f"{n} = {values.get(n, '')}" for n in names)


class PromptsMixin:
    """Variables, versions and actions of PlaygroundSession."""

    agents: dict[str, Agent]
    agent_name: str
    instructions: str
    settings: ModelSettings

    def _init_prompts(self) -> None:
        self.variables: dict[str, str] = {}
        self._versions: PromptVersions | None = None
        self.last_version: int | None = None
        self._action_template: str | None = None

    # -- variables ------------------------------------------------------------------------------------------------
    def needed_variables(self, message: str = "") -> list[str]:
        """The `{{ names }}` of the instructions and the message, in order (a field each)."""
        out: list[str] = []
        for text in (self.instructions or "", message or ""):
            out += [v for v in template_variables(text) if v not in out]
        return out

    def set_variables(self, values: Mapping[str, Any]) -> None:
        """The values of the variables (empty ones are dropped: an error names them when a message needs them)."""
        if not isinstance(values, Mapping):
            raise ConfigurationError("Variables: give name -> value", field="variables")
        clean: dict[str, str] = {}
        for k, v in values.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise ConfigurationError(f"Variables: {k!r} is not a variable name", field="variables")
            if v is not None and str(v) != "":
                clean[k] = str(v)
        self.variables = clean

    def render_variables(self, text: str, where: str) -> str:
        """The text with the variables filled in; a missing one is an error naming it."""
        try:
            return render_text(text, self.variables, where)
        except TemplateError as exc:
            import re

            m = re.search(r"'(\w+)' is undefined", str(exc))
            if m is None:
                raise ConfigurationError(str(exc), field="variables") from None
            raise ConfigurationError(f"{where}: the variable {m.group(1)!r} has no value; fill it in Variables",
                                     field="variables") from None

    # -- versions -------------------------------------------------------------------------------------------------
    @property
    def versions_store(self) -> PromptVersions:
        if self._versions is None:
            from ..store.prompt_versions import default_prompt_versions

            self._versions = default_prompt_versions()  # PostgreSQL at PLAYGROUND_DATABASE_URL, else SQLite
        return self._versions

    def _record_version(self) -> None:
        """Called when a message is sent: the prompt as written becomes (or is) a numbered version."""
        try:
            v = self.versions_store.record(self.agent_name, self.instructions or "", self.settings.set_fields(),
                                           self._action_template)
        except Exception:  # versions are a convenience: a store problem never blocks a send
            return
        self.last_version = v.number

    def prompt_versions(self) -> list[PromptVersion]:
        """The chosen agent's versions, oldest first."""
        return self.versions_store.list(self.agent_name)

    def diff_versions(self, a: int, b: int) -> str:
        return self.versions_store.diff(self.agent_name, int(a), int(b))

    def restore_version(self, number: int) -> None:
        """Make a version's instructions and settings the session's again."""
        from ..settings import ModelSettings

        v = self.versions_store.get(self.agent_name, int(number))
        if v is None:
            raise ConfigurationError(f"Versions: {self.agent_name!r} has no version {number}", field="version")
        self.instructions = v.instructions
        self.settings = ModelSettings.model_validate(v.settings)

    def version_options(self, number: int, options: dict[str, Any]) -> dict[str, Any]:
        """`options` with a version's instructions and settings (a Compare column that runs a version)."""
        from ..settings import ModelSettings

        v = self.versions_store.get(self.agent_name, int(number))
        if v is None:
            raise ConfigurationError(f"Versions: {self.agent_name!r} has no version {number}", field="version")
        return {**options, "instructions": self.render_variables(v.instructions, f"version {number}"),
                "model_settings": ModelSettings.model_validate(v.settings)}

    def versions_markdown(self) -> str:
        versions = self.prompt_versions()
        if not versions:
            return "*No versions yet: each distinct prompt you send becomes one.*"
        import datetime

        lines = ["| version | when | instructions | settings |", "|---|---|---|---|"]
        for v in reversed(versions):
            when = datetime.datetime.fromtimestamp(v.created_at).strftime("%Y-%m-%d %H:%M:%S")
            first = " ".join(v.instructions.split())[:80].replace("|", "/") or "(none)"
            settings = ", ".join(f"{k}={val}" for k, val in v.settings.items()) or "-"
            mark = " (last sent)" if v.number == self.last_version else ""
            lines.append(f"| v{v.number}{mark} | {when} | {first} | {settings} |")
        return "\n".join(lines)

    # -- actions --------------------------------------------------------------------------------------------------
    def agent_actions(self) -> dict[str, list[str]]:
        """The chosen agent's actions (an ActionAgent's) and the params each uses."""
        from ..actions import action_class_of

        cls = action_class_of(self.agents[self.agent_name])
        return cls.actions() if cls is not None else {}

    def render_action(self, name: str, params: Mapping[str, Any]) -> str:
        """The message an action would send with these params (its template, rendered); the params become the
        session's variables so the instructions' `{{ }}` are filled the same way."""
        from ..actions import action_class_of

        cls = action_class_of(self.agents[self.agent_name])
        if cls is None or name not in cls.actions():
            raise ConfigurationError(f"Actions: the {self.agent_name!r} agent has no action {name!r}", field="action")
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        instance = cls.with_(**clean)
        gen = getattr(instance, name)()
        users = [m for m in gen.messages if m.role == "user"]
        self.set_variables({**self.variables, **{k: str(v) for k, v in instance.params.items()}})
        self._action_template = f"{cls.__name__}.{name}"
        return users[-1].text if users else ""
