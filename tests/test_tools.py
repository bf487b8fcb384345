from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel

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


class Line(BaseModel):
    price: float


def test_non_finite_numbers_anywhere_in_the_arguments_are_invalid() -> None:
    @tool
    def order(lines: list[Line], discount: float = 0.0) -> str:
        """Order lines."""
        return "ok"

    schema_tool = Tool("pay", "Pay", {"type": "object", "properties": {"amount": {"type": "number"}}}, lambda **k: k)
    cases: list[tuple[Tool, dict[str, object], str]] = [
        (order, {"lines": [{"price": 1}, {"price": float("nan")}]}, "lines.1.price: nan is not a finite number"),
        (order, {"lines": [{"price": "Infinity"}]}, "lines.0.price: inf is not a finite number"),  # parsed to inf
        (order, {"lines": [], "discount": float("-inf")}, "discount: -inf is not a finite number"),
        (schema_tool, {"amount": float("nan")}, "amount: nan is not a finite number"),
        (schema_tool, {"amount": Decimal("NaN")}, "amount: NaN is not a finite number"),
        (schema_tool, {"amount": {"nested": [float("inf")]}}, "amount.nested.0: inf is not a finite number"),
    ]
    for t, args, message in cases:
        with pytest.raises(ToolArgumentsError, match=message.replace(".", r"\.")):
            t.validate_args(args)
    assert order.validate_args({"lines": [{"price": 1.5}], "discount": 0.1})["discount"] == 0.1


def test_mastra_dict_tool_with_id_input_schema_and_require_approval() -> None:
    from playground.tools import tools_by_name

    def execute(city: str) -> str:
        return f"sunny in {city}"

    tools = tools_by_name([{"id": "weather", "description": "Weather.", "execute": execute, "requireApproval": True,
                            "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    weather = tools["weather"]
    assert weather.requires_approval is True and weather.run({"city": "Oslo"}) == "sunny in Oslo"
    assert weather.parameters["properties"]["city"] == {"type": "string"}
    named = tools_by_name({"w2": {"description": "Weather.", "parameters": {"type": "object"}}})["w2"]
    assert named.is_client_tool and named.requires_approval is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"description": "no name"}, "a tool dict needs a name"),
        ({"name": "x", "execute": "not a function"}, "execute must be a function"),
        ({"name": "x", "description": 5}, "description must be a string"),
        ({"name": "x", "parameters": {}, "inputSchema": {"type": "object"}}, "two spellings of one setting"),
        ({"name": "x", "approval": True}, r"unknown key\(s\) \['approval'\]"),
    ],
)
def test_bad_tool_dicts_are_refused(value: dict[str, object], message: str) -> None:
    from playground.tools import tools_by_name

    with pytest.raises(ConfigurationError, match=message):
        tools_by_name([value])


@pytest.mark.parametrize("policy", [None, "no", 0, 1, "false"])
def test_a_policy_is_a_bool_or_a_function(policy: object) -> None:
    with pytest.raises(ConfigurationError, match="requires_approval: expected True, False or a function"):
        Tool("t", "x", None, lambda: "x", requires_approval=policy)  # type: ignore[arg-type]
