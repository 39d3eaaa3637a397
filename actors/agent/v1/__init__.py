"""Agent V1: message and settings types are in :mod:`actors.agent.v1.types` (Deepgram's SDK names)."""
