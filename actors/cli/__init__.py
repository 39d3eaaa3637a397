"""Command-line interface: `python -m actors serve|transcribe|speak|agent`."""
