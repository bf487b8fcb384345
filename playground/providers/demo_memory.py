"""How the demo model uses memory, so memory can be demoed offline (called from `DemoBrain.respond`).

It reads only the Chat Completions request body, as a real model would: the conversation (history that memory put in
front of the input), the `<recalled_messages>` block and the `<working_memory_data>` block of the system prompt.

- "What is my name?" / "Where do I live?" / "What do you know about me?" are answered from working memory, earlier
  user messages, or recalled messages, and the answer says where the fact came from.
- When the user states a fact ("My name is Ada and I live in Oslo") and `update_working_memory` is offered, it calls
  the tool with the whole updated document (Markdown template or JSON schema), then acknowledges.
- Asked for a conversation title (memory's generate_title), it returns a few words from the message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

WORKING_MEMORY_TOOL = "update_working_memory"
_NAME_WORD = r"([A-Z\u00C0-\u017F][\w\u00C0-\u017F'-]*)"
_PHRASE = r"([A-Za-z\u00C0-\u017F][\w\u00C0-\u017F' -]*?)"
_END = r"(?=\s*(?:[.,;!?]|\band\b|\bbut\b|$))"
_FACTS: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(r"\b(?:my name is|my name's|call me|i am called|i'm called)\s+" + _NAME_WORD, re.I)),
    ("location", re.compile(r"\b(?:i live in|i'm from|i am from|i'm based in|i am based in)\s+" + _PHRASE + _END,
                            re.I)),
    ("occupation", re.compile(r"\bi work as (?:an? )?" + _PHRASE + _END, re.I)),
    ("interests", re.compile(r"\bi (?:like|love|enjoy)\s+" + _PHRASE + _END, re.I)),
]
_FAVOURITE = re.compile(r"\bmy favou?rite (\w+) is\s+" + _PHRASE + _END, re.I)
_LABELS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "location": ("location", "city", "lives", "home", "where"),
    "occupation": ("occupation", "job", "work", "role"),
    "interests": ("interests", "likes", "hobbies", "interest"),
}
_QUESTIONS: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(r"\b(what(?:'s| is) my name|who am i|do you (?:know|remember) my name)\b", re.I)),
    ("location", re.compile(r"\b(where do i live|where am i (?:from|based)|what(?:'s| is) my (?:city|location))\b",
                            re.I)),
    ("occupation", re.compile(r"\b(what do i do for a living|what(?:'s| is) my (?:job|occupation))\b", re.I)),
    ("interests", re.compile(r"\bwhat do i (?:like|love|enjoy)\b", re.I)),
    ("all", re.compile(r"\bwhat do you (?:know|remember) about me\b", re.I)),
]
_FAV_QUESTION = re.compile(r"\bwhat(?:'s| is) my favou?rite (\w+)", re.I)
_BLOCK = re.compile(r"<(working_memory_data|working_memory_template|recalled_messages)>\n?(.*?)\n?</\1>", re.S)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def stated_facts(text: str) -> dict[str, str]:
    """Facts a user states about themselves: {"name": "Ada", "location": "Oslo", "favourite colour": "blue"}."""
    facts: dict[str, str] = {}
    for key, pattern in _FACTS:
        m = pattern.search(text)
        if m:
            facts[key] = m.group(1).strip()
    for m in _FAVOURITE.finditer(text):
        facts[f"favourite {m.group(1).lower()}"] = m.group(2).strip()
    return facts


def _blocks(system: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _BLOCK.finditer(system)}


def _doc_facts(document: str) -> dict[str, str]:
    """Facts in a working-memory document: Markdown "- Label: value" lines, or a JSON object."""
    facts: dict[str, str] = {}
    try:
        data = json.loads(document)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for k, v in data.items():
            if v not in (None, "", [], {}):
                facts[_key_for(str(k))] = ", ".join(map(str, v)) if isinstance(v, list) else str(v)
        return facts
    for line in document.splitlines():
        m = re.match(r"^\s*[-*]\s*([^:]+):\s*(.+?)\s*$", line)
        if m:
            facts[_key_for(m.group(1))] = m.group(2)
    return facts


def _key_for(label: str) -> str:
    low = label.lower().replace("_", " ").strip()
    if low.startswith(("favourite", "favorite")):
        return "favourite " + low.split(maxsplit=1)[-1] if " " in low else low
    for key, words in _LABELS.items():
        if any(w in low for w in words):
            return key
    return low


def updated_document(document: str, template: str, facts: Mapping[str, str]) -> Any:
    """The working-memory document with `facts` filled in: a dict for a JSON-schema template, else Markdown."""
    try:
        schema = json.loads(template)
    except ValueError:
        schema = None
    if isinstance(schema, dict) and "properties" in schema:
        out: dict[str, Any] = {}
        for prop, spec in schema["properties"].items():
            value = facts.get(_key_for(prop))
            if value is None:
                continue
            kind = spec.get("type") if isinstance(spec, Mapping) else None
            out[prop] = [value] if kind == "array" else value
        return out
    lines = (document or template).rstrip("\n").split("\n")
    done: set[str] = set()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*[-*]\s*)([^:]+):(.*)$", line)
        if not m:
            continue
        key = _key_for(m.group(2))
        if key in facts and key not in done:
            old = m.group(3).strip()
            value = facts[key]
            if key == "interests" and old and value.lower() not in old.lower():
                value = f"{old}, {value}"
            lines[i] = f"{m.group(1)}{m.group(2)}: {value}"
            done.add(key)
    for key, value in facts.items():
        if key not in done:
            lines.append(f"- {key[0].upper()}{key[1:]}: {value}")
    return "\n".join(lines) + "\n"


def _title(user: str) -> str:
    stop = {"my", "is", "and", "i", "the", "a", "an", "in", "to", "of", "what", "do", "you", "me", "it", "am", "are",
            "please", "can", "could", "would", "hi", "hello", "hey", "with", "for", "on", "at", "this", "that"}
    words = [w for w in re.findall(r"[\w\u00C0-\u017F']+", user) if w.lower() not in stop]
    return " ".join(w[:1].upper() + w[1:] for w in words[:5]) or "New conversation"


def memory_reply(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The demo model's reply when memory is in play, else None (the ordinary demo behaviour applies)."""
    messages: list[Mapping[str, Any]] = list(body.get("messages") or [])
    system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    last = messages[-1] if messages else {}
    reply: dict[str, Any] = {"content": "", "reasoning": "", "tool_calls": [], "annotations": []}
    user = _text(last.get("content")) if last.get("role") == "user" else ""
    if "Generate a short title for a conversation" in system and user:
        reply["reasoning"] = "Asked for a conversation title: a few key words of the first message."
        reply["content"] = _title(user)
        return reply
    blocks = _blocks(system)
    if last.get("role") == "tool":
        return _acknowledge(messages, reply)
    if not user:
        return None
    tools = {(t.get("function") or {}).get("name") for t in body.get("tools") or []}
    facts = stated_facts(user)
    if facts and WORKING_MEMORY_TOOL in tools and "working_memory_template" in blocks:
        doc = updated_document(blocks.get("working_memory_data", ""), blocks["working_memory_template"], facts)
        args = {"memory": doc}
        digest = hashlib.sha1(f"{WORKING_MEMORY_TOOL}{json.dumps(args)}{len(messages)}".encode()).hexdigest()
        reply["reasoning"] = (
            "The user told me about themselves (" + ", ".join(f"{k}: {v}" for k, v in facts.items())
            + f"), so I update working memory with {WORKING_MEMORY_TOOL}."
        )
        reply["tool_calls"].append({"id": f"call_{digest[:24]}", "type": "function",
                                    "function": {"name": WORKING_MEMORY_TOOL, "arguments": json.dumps(args)}})
        return reply
    from .demo import _requested_schema

    if body.get("response_format") or _requested_schema(body, system) is not None:
        return None  # structured output asked: the ordinary demo fills the schema
    for key, pattern in _QUESTIONS:
        if pattern.search(user):
            return _answer(key, messages[:-1], blocks, reply)
    fav = _FAV_QUESTION.search(user)
    if fav:
        return _answer(f"favourite {fav.group(1).lower()}", messages[:-1], blocks, reply)
    return None


def _known(earlier: list[Mapping[str, Any]], blocks: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Where facts can be found, most trusted first: working memory, this conversation, recalled messages."""
    sources: list[tuple[str, dict[str, str]]] = []
    if blocks.get("working_memory_data"):
        sources.append(("working memory", _doc_facts(blocks["working_memory_data"])))
    said: dict[str, str] = {}
    for m in earlier:
        if m.get("role") == "user":
            said.update(stated_facts(_text(m.get("content"))))
    sources.append(("earlier in this conversation", said))
    recalled: dict[str, str] = {}
    thread = ""
    for line in blocks.get("recalled_messages", "").splitlines():
        m = re.match(r"^\[thread ([^\]]+)\] user: (.*)$", line)
        if m:
            found = stated_facts(m.group(2))
            if found and not thread:
                thread = m.group(1)
            recalled.update(found)
    sources.append((f"a recalled message (thread {thread})" if thread else "recalled messages", recalled))
    return sources


_PHRASES = {"name": "Your name is {}", "location": "You live in {}", "occupation": "You work as {}",
            "interests": "You like {}"}


def _answer(key: str, earlier: list[Mapping[str, Any]], blocks: Mapping[str, str],
            reply: dict[str, Any]) -> dict[str, Any]:
    sources = _known(earlier, blocks)
    if key == "all":
        facts: dict[str, str] = {}
        for _, found in reversed(sources):
            facts.update(found)
        if facts:
            reply["content"] = "Here is what I remember about you: " + "; ".join(
                f"{k}: {v}" for k, v in facts.items()) + "."
        else:
            reply["content"] = "I don't know anything about you yet: tell me and I will remember it."
        reply["reasoning"] = "The user asks what I remember; I collect the facts from memory."
        return reply
    for where, found in sources:
        if found.get(key):
            phrase = _PHRASES.get(key, "Your " + key + " is {}")
            reply["content"] = f"{phrase.format(found[key])}. (I remember it from {where}.)"
            reply["reasoning"] = f"The user asks about their {key}; I found \u201c{found[key]}\u201d in {where}."
            return reply
    reply["content"] = f"I don't know your {key} yet: you haven't told me, and my memory has nothing about it."
    reply["reasoning"] = f"The user asks about their {key}; nothing in the conversation or memory says it."
    return reply


def _acknowledge(messages: list[Mapping[str, Any]], reply: dict[str, Any]) -> dict[str, Any] | None:
    names: dict[str, str] = {}
    for m in messages:
        for tc in m.get("tool_calls") or []:
            names[tc.get("id", "")] = (tc.get("function") or {}).get("name", "")
    results = []
    for m in reversed(messages):
        if m.get("role") != "tool":
            break
        results.append(m)
    if not results or any(names.get(str(r.get("tool_call_id", ""))) != WORKING_MEMORY_TOOL for r in results):
        return None
    user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    facts = stated_facts(user)
    noted = "; ".join(f"{k}: {v}" for k, v in facts.items())
    reply["reasoning"] = "Working memory is updated; I acknowledge briefly."
    reply["content"] = f"Got it, I'll remember that ({noted})." if noted else "Got it, I'll remember that."
    return reply


_STOP_TEXT = (
    "a an the and or but if of in on at to for from with by about as is am are was were be been being do does did "
    "doing have has had i me my mine you your yours we our us he she it its they them their this that these those "
    "what which who whom whose where when why how there here please can could would should will shall may might must "
    "not no yes so too very just also then than into out up down over under again once all any some each few more "
    "most other such only own same s t don now tell know remember"
)
_EMBED_STOP = frozenset(_STOP_TEXT.split(" "))


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def embedding_features(text: str) -> list[tuple[str, float]]:
    """What the demo embedder hashes: content words (stop words dropped, lightly stemmed) and, with less weight,
    their character trigrams; so "Where do I live?" is near "I live in Oslo" and far from "What is my name?"."""
    words = [_stem(w) for w in re.findall(r"[a-z0-9\u00e0-\u017f]+", text.lower()) if w not in _EMBED_STOP]
    out = [(f"w:{w}", 1.0) for w in words]
    for w in words:
        padded = f" {w} "
        out += [(f"t:{padded[i:i + 3]}", 0.2) for i in range(len(padded) - 2)]
    if not out:  # only stop words (or none): the text's own trigrams
        padded = f"  {text.lower()}  "
        out = [(f"t:{padded[i:i + 3]}", 0.2) for i in range(len(padded) - 2)]
    return out
