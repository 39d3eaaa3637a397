"""Voice Agent API (``/v1/agent/converse``): SDK-compatible import paths under ``actors.agent.v1``."""
