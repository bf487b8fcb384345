"""An action agent (ActiveAgent style): prompts rendered from templates in agents/templates/translator/.

    Translator.with_(text="Good morning", lang="French").translate().generate_now()
    Translator.with_(text="Good morning", lang="French").translate().request_preview()   # the rendered prompt
    playground run agents/translator.py:Translator.translate --param text="Good morning" --param lang=French

In the playground, pick the `translator` agent: its actions and their params appear as a form.
"""

from playground import ActionAgent, ToolContext, action, before_generation, tool


@tool
def glossary(term: str, context: ToolContext) -> str:
    """Look up how a term is usually translated (the target language comes from the agent's params).

    Args:
        term: The word or phrase to look up.
    """
    lang = context.request_context.get("lang", "French")
    known = {"good morning": {"French": "bonjour", "Spanish": "buenos días", "German": "guten Morgen"}}
    return known.get(term.strip().lower(), {}).get(lang, f"no glossary entry for {term!r} in {lang}")


class Translator(ActionAgent):
    """Translates text, and summarises it, from templates."""

    model = "demo"
    instructions = "instructions.md.j2"
    tools = (glossary,)

    @before_generation
    def default_language(self) -> None:
        self.params.setdefault("lang", "French")

    @action
    def translate(self):  # type: ignore[no-untyped-def]
        return self.prompt(template="translate.md.j2")

    @action
    def summarize(self):  # type: ignore[no-untyped-def]
        return self.prompt(template="summarize.md.j2", max_steps=1)


agent = Translator
