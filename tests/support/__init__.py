"""Test helpers shared across test packages (client, server, runtime)."""
