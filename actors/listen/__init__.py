"""SDK-compatible import paths for Listen (``actors.listen.v1.types``, ``actors.listen.v2.types``)."""
