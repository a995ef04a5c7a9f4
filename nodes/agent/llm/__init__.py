"""The LLM planner: an OpenAI-compatible chat model, its prompt, tools, replies and usage."""
