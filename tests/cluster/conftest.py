"""A real two-node Ray cluster on this machine, started once for the tests of this package.

Ray's ``cluster_utils.Cluster`` runs a head node and a second node (one CPU each, so the pool puts
one worker on each), with fast node health checks (a removed node is declared dead in about 4 s
rather than 16 s). Everything Ray writes goes under a private ``RAY_TMPDIR``, so ``--ray auto``
in a child finds this cluster and no other; token auth and usage stats are off. After the tests
the cluster is shut down and any Ray process left under that directory is killed (a worker
orphaned by a removed node outlives ``Cluster.shutdown``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.ray_process import kill_processes_with_tmpdir

pytest.importorskip("ray", reason="the ray extra is not installed")

# Before ray is imported anywhere in this process (the workers inherit the environment).
_RAY_TMP = Path(tempfile.mkdtemp(prefix="actors-ray-", dir="/tmp"))  # short: Ray's socket paths
atexit.register(shutil.rmtree, _RAY_TMP, ignore_errors=True)  # also when no test used the cluster
os.environ["RAY_TMPDIR"] = str(_RAY_TMP)
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_DEDUP_LOGS"] = "0"

FAST_HEALTH_CHECKS = {
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 3,
    "health_check_timeout_ms": 500,
}


class RayCluster:
    """The running test cluster: its GCS ``address``, the Ray ``cluster`` object and its temp dir."""

    def __init__(self, cluster: Any, address: str, tmp: Path) -> None:
        self.cluster = cluster
        self.address = address
        self.tmp = tmp

    def env(self) -> dict[str, str]:
        """The environment for a child process that joins this cluster."""
        return dict(os.environ, RAY_TMPDIR=str(self.tmp))

    def worker_node(self) -> Any:
        """The non-head node (the one a test may remove)."""
        return next(iter(self.cluster.worker_nodes))

    def add_worker_node(self) -> None:
        """Give the cluster back its second node (after a test removed it)."""
        self.cluster.add_node(num_cpus=1, object_store_memory=100 << 20)
        self.cluster.wait_for_nodes()


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[RayCluster]:
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "object_store_memory": 200 << 20,
            "_system_config": FAST_HEALTH_CHECKS,
        },
    )
    try:
        cluster.add_node(num_cpus=1, object_store_memory=100 << 20)
        cluster.wait_for_nodes()
        ray.init(
            address=cluster.address, log_to_driver=False, logging_level="WARNING", namespace="actors-tests"
        )
        yield RayCluster(cluster, cluster.address, _RAY_TMP)
    finally:
        ray.shutdown()
        cluster.shutdown()
        kill_processes_with_tmpdir(_RAY_TMP)
        shutil.rmtree(_RAY_TMP, ignore_errors=True)
