"""Model providers: OpenAI-compatible pass-through, LiteLLM translation, the offline demo model."""
