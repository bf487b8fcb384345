"""A weather agent with one tool. Try: "What's the weather in Paris and Rome?"."""

from playground import Agent, tool

_CONDITIONS = ["sunny", "cloudy", "light rain", "windy", "clear"]


@tool
def get_weather(city: str, unit: str = "celsius") -> dict[str, object]:
    """Current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
        unit: "celsius" or "fahrenheit".
    """
    seed = sum(ord(c) for c in city.lower())
    celsius = 8 + seed % 20
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": _CONDITIONS[seed % len(_CONDITIONS)]}


agent = Agent(
    name="weather",
    description="Answers weather questions with a get_weather tool.",
    instructions="You are a concise weather assistant. Use get_weather for every city the user names.",
    model="demo",
    tools=[get_weather],
)
