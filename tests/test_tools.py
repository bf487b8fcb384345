from __future__ import annotations

import pytest

from playground import Tool, ToolArgumentsError, ToolContext, tool
from playground.errors import ConfigurationError


def test_schema_from_hints_and_google_docstring() -> None:
    @tool
    def book(city: str, nights: int = 1, *, vip: bool = False) -> str:
        """Book a hotel.

        Args:
            city: Where to stay.
            nights: How many nights,
                at least one.
        """
        return f"{city}:{nights}:{vip}"

    schema = book.schema()
    assert schema["description"] == "Book a hotel."
    props = schema["parameters"]["properties"]
    assert props["city"] == {"type": "string", "description": "Where to stay."}
    assert props["nights"]["description"] == "How many nights, at least one." and props["nights"]["default"] == 1
    assert schema["parameters"]["required"] == ["city"]
    assert book.run({"city": "Oslo", "nights": "2"}) == "Oslo:2:False"
    assert book("Rome") == "Rome:1:False"  # still callable as a function


def test_invalid_args_name_the_field() -> None:
    @tool
    def f(n: int) -> int:
        """Double."""
        return 2 * n

    with pytest.raises(ToolArgumentsError, match="n: Input should be a valid integer"):
        f.validate_args({"n": "abc"})
    with pytest.raises(ToolArgumentsError, match="extra: Extra inputs are not permitted"):
        f.validate_args({"n": 1, "extra": 2})


def test_json_schema_tool_and_context_injection() -> None:
    seen: list[str] = []

    def run(city: str, ctx: ToolContext) -> str:
        seen.append(ctx.run_id)
        return city

    t = Tool(
        "lookup", "Look up", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, run
    )
    assert t.run({"city": "X"}, ToolContext(run_id="r1", tool_call_id="c", tool_name="lookup")) == "X"
    assert seen == ["r1"]
    with pytest.raises(ToolArgumentsError, match="city: Field required"):
        t.validate_args({})
    with pytest.raises(ToolArgumentsError, match="city: expected string"):
        t.validate_args({"city": 3})


def test_bad_tool_names_and_async_run() -> None:
    with pytest.raises(ConfigurationError, match="tool name"):
        Tool("bad name!", "x")

    @tool
    async def a(x: int) -> int:
        """Async."""
        return x + 1

    assert a.is_async and a.run({"x": 1}) == 2


def test_approval_policy_callable_and_fail_closed() -> None:
    @tool(requires_approval=lambda args: args["amount"] > 100)
    def pay(amount: float) -> str:
        """Pay."""
        return "paid"

    assert pay.requires_approval_for({"amount": 500}) and not pay.requires_approval_for({"amount": 5})

    def broken(args: dict[str, object]) -> bool:
        raise RuntimeError("bug")

    @tool(requires_approval=broken)
    def risky() -> str:
        """Risky."""
        return "x"

    assert risky.requires_approval_for({})
