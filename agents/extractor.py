"""An extraction agent with structured output: every answer is a `Contact` (a pydantic model), so `result.object` is a
validated Contact. Try: "Reach Ada Lovelace at ada@example.com or +44 20 7946 0958, she is 36"."""

from pydantic import BaseModel, Field

from playground import Agent, PIIRedactor


class Contact(BaseModel):
    """A person's contact details, as found in the text."""

    name: str = Field(description="The person's full name")
    email: str = Field(description="Email address, or an empty string when none is given")
    phone: str = Field(description="Phone number as written, or an empty string when none is given")
    age: int = Field(description="Age in years, 0 when not given")


agent = Agent(
    name="extractor",
    description="Extracts a contact (name, email, phone, age) from text as validated JSON.",
    instructions="Extract the contact details from the user's text. Use only what the text says.",
    model="demo",
    default_options={"structured_output": {"schema": Contact, "error_strategy": "strict"}},
)

# The same extraction with emails, phone numbers and keys redacted before the model sees the text.
private_agent = Agent(
    name="extractor-private",
    description="Extracts a contact after redacting personal data from the input.",
    instructions="Extract the contact details from the user's text. Use only what the text says.",
    model="demo",
    default_options={"structured_output": {"schema": Contact, "error_strategy": "warn"}},
    input_processors=[PIIRedactor()],
)
