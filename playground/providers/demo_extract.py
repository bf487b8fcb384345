"""What the demo model reads out of a message: people's names, emails, phone numbers, ages, amounts of money and ids.

Deterministic and small on purpose (no NLP library): good enough that the README's own examples come out right,
e.g. "Reach Ada Lovelace at ada@example.com or +44 20 7946 0958, she is 36" -> name "Ada Lovelace", that email,
phone "+44 20 7946 0958", age 36; "Refund 10 dollars on order 42" -> order_id "42", amount 10.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
URL = re.compile(r"\bhttps?://\S+")
PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{5,}\d(?![\w])")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MONEY = re.compile(
    r"[$€£]\s*(?P<a>\d+(?:[.,]\d+)?)|(?P<b>\d+(?:[.,]\d+)?)\s*(?:(?:dollars?|bucks|usd|euros?|eur|pounds?|gbp)\b|[$€£])",
    re.I,
)
_AGE = re.compile(
    r"\b(?:aged?|is|am|are|turns?|turned)\s+(\d{1,3})\b(?!\s*(?:%|dollars?|euros?|kg|km|cm|m\b|items?|orders?))"
    r"|\b(\d{1,3})\s*(?:years?(?:\s+old)?|yrs?|y/?o)\b",
    re.I,
)
_NAME_RUN = re.compile(r"\b[A-Z][a-z\u00C0-\u017F'-]+(?:\s+(?:[A-Z][a-z\u00C0-\u017F'-]+|[A-Z]\.))*")
# capitalised words that start a sentence without being part of a name
_NOT_NAMES_TEXT = """
    reach contact call email mail meet ask tell send write text ping message invite find add save extract get
    please hi hello hey dear thanks thank from to with and is this that my our your his her their the a an what
    who where when how why which can could would will shall should do does did refund look check show give let
    make summarise summarize note remember book order request answer reasoning tool results i you we they he she
    it monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


def is_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    if DATE.fullmatch(text.strip()):
        return False
    return 10 <= digits <= 15 if text.isdigit() else 7 <= digits <= 15


def phones(text: str) -> list[str]:
    return [m.group(0).strip() for m in PHONE.finditer(EMAIL.sub(" ", text)) if is_phone(m.group(0))]


def emails(text: str) -> list[str]:
    return EMAIL.findall(text)


def without_contacts(text: str) -> str:
    """The text with URLs, emails, phone numbers and dates blanked out, so their digits are not read as numbers."""
    text = URL.sub(" ", text)
    text = EMAIL.sub(" ", text)
    text = PHONE.sub(lambda m: " " if is_phone(m.group(0)) else m.group(0), text)
    return DATE.sub(" ", text)


def plain_numbers(text: str) -> list[str]:
    """The numbers of a message that are quantities, not parts of a phone number, an email, a URL or a date."""
    return NUMBER.findall(without_contacts(text))


def amount(text: str) -> str | None:
    """An amount of money: "10 dollars", "$10", "EUR 5" -> "10" / "5"."""
    m = _MONEY.search(without_contacts(text))
    if m is None:
        return None
    return (m.group("a") or m.group("b")).replace(",", ".")


def age(text: str) -> str | None:
    m = _AGE.search(without_contacts(text))
    return (m.group(1) or m.group(2)) if m else None


def id_after(text: str, stem: str) -> str | None:
    """The id written after a word: ("order 42", "order") -> "42"; also "order #42", "order no. 42"."""
    if not stem:
        return None
    m = re.search(rf"\b{re.escape(stem)}s?\s*(?:#|no\.?|number|id|n°)?\s*#?\s*([A-Za-z]*-?\d[\w-]*)", text, re.I)
    return m.group(1) if m else None


def person_names(text: str) -> list[str]:
    """Runs of capitalised words that look like a person's name, leading verbs and greetings dropped."""
    found: list[str] = []
    for m in _NAME_RUN.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower().strip("'") in _NOT_NAMES:
            words = words[1:]
        while words and words[-1].lower() in _NOT_NAMES:
            words = words[:-1]
        name = " ".join(words)
        if name and name not in found:
            found.append(name)
    multi = [n for n in found if " " in n]
    return multi or found


def answer_section(text: str) -> str:
    """A structuring request ("Request: ... Answer: ... Tool results: ...") -> what it structures: the answer and
    the tool results, without the headings (so "Request" and "Answer" are never read as values)."""
    if not re.match(r"\s*Request:\n", text) or "\n\nAnswer:\n" not in text:
        return text
    body = text.split("\n\nAnswer:\n", 1)[1]
    sections = re.split(r"\n\n(Reasoning|Tool results):\n", body)  # [answer, heading, text, heading, text ...]
    keep = [sections[0]] + [sections[i + 1] for i in range(1, len(sections) - 1, 2) if sections[i] == "Tool results"]
    return "\n\n".join(p.strip() for p in keep if p.strip())
