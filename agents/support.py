"""A support agent: `lookup_order` is harmless; `refund` moves money, so it requires approval.
Try: "refund order 42" (approve or decline it), or "look up order 42"."""

from playground import Agent, tool

_ORDERS = {
    "42": {"order_id": "42", "item": "Mechanical keyboard", "total": 89.0, "status": "delivered"},
    "7": {"order_id": "7", "item": "USB-C cable", "total": 9.5, "status": "shipped"},
}


@tool
def lookup_order(order_id: str) -> dict[str, object]:
    """Look up an order by its id.

    Args:
        order_id: The order id, e.g. "42".
    """
    order = _ORDERS.get(order_id.strip().lstrip("#"))
    if order is None:
        raise ValueError(f"no order {order_id!r}; known orders: {', '.join(sorted(_ORDERS))}")
    return order


@tool(requires_approval=True)
def refund(order_id: str, amount: float | None = None, reason: str = "customer request") -> dict[str, object]:
    """Refund an order (needs a person's approval).

    Args:
        order_id: The order to refund.
        amount: Amount in dollars; the whole order when omitted.
        reason: Why the refund is made.
    """
    order = lookup_order(order_id)
    value = float(order["total"]) if amount is None else amount  # type: ignore[arg-type]
    return {"order_id": order["order_id"], "refunded": value, "reason": reason, "status": "refunded"}


agent = Agent(
    name="support",
    description="Customer support with an order lookup and a refund that needs approval.",
    instructions="You are a careful support agent. Look orders up before acting; refunds need approval.",
    model="demo",
    tools=[lookup_order, refund],
)
