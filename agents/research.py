"""A research agent that answers with sources. Try: "What is retrieval-augmented generation?"."""

from playground import Agent

agent = Agent(
    name="research",
    description="Answers questions and cites its sources.",
    instructions="You are a research assistant. Answer in two or three sentences and cite your sources.",
    model="demo",
)
