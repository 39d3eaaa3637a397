"""Test-only interpreter hook: install the loopback resolver of ``tests.support.resolver`` at start.

A child process gets this directory first on ``PYTHONPATH`` (see ``resolver.subprocess_env``);
with ``ACTORS_TEST_RESOLVE`` set, its Deepgram host names resolve to the test server and any
other non-loopback lookup is refused and logged to ``ACTORS_TEST_RESOLVE_LOG``.
"""

from tests.support.resolver import install_from_environment

install_from_environment()
