"""Test-only interpreter hook for every process of a test's Ray cluster (see ``tests.support.ray_process``).

It installs the loopback resolver of ``tests.support.resolver`` from ``ACTORS_TEST_RESOLVE``, as
``tests/support/sitecustomize`` does, but keeps two refusal logs apart: Ray's own service processes
(the dashboard, the autoscaler monitor, the agents: Ray probes cloud metadata and its usage-stats
host from there) log to ``ACTORS_TEST_RESOLVE_RAY_SERVICE_LOG``; the worker processes, which run
our code, and every other process log to ``ACTORS_TEST_RESOLVE_LOG``.
"""

from tests.support.ray_process import RAY_SERVICE_LOG_ENV, is_ray_service
from tests.support.resolver import RESOLVE_LOG_ENV, install_from_environment

install_from_environment(RAY_SERVICE_LOG_ENV if is_ray_service() else RESOLVE_LOG_ENV)
