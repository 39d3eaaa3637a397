"""SDK-compatible import paths for Speak (``actors.speak.v1.types``)."""
