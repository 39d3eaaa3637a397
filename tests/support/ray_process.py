"""A small Ray cluster in a child process, so its nodes carry an environment of the test's choosing.

Ray's worker processes get their environment from the raylet that starts them, i.e. from the
process that started the cluster. A test that needs the workers to run with, say, the loopback
resolver of :mod:`tests.support.resolver` and a private ``SSL_CERT_FILE`` therefore starts the
cluster itself in a child with that environment: :class:`RayClusterProcess` runs
``python -m tests.support.ray_process`` (``ray.cluster_utils.Cluster``: a head and one more node,
one CPU each, small object stores), reads the GCS address it prints, and on exit closes the
child's standard input (the child then shuts the cluster down), waits for it, kills any process
still carrying the private ``RAY_TMPDIR`` in its environment (a worker may outlive the shutdown)
and removes that directory. Nothing here calls ``ray.init`` or ``ray stop`` in the test process.

:func:`node_environment` is the resolver environment for such a cluster: every process of it
resolves like ``resolver.subprocess_env`` says, through ``tests/support/sitecustomize_ray``, which
logs the refusals of Ray's own service processes (:func:`is_ray_service`) apart from the workers'.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from tests.support.resolver import REPO_ROOT, SITECUSTOMIZE_DIR, Endpoint, subprocess_env

#: The line the child prints once the cluster is up: this prefix, then ``HOST:PORT``.
ADDRESS_PREFIX = "ray-cluster-address: "
#: Seconds the child may take to start the cluster / to shut it down.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: The file Ray's own service processes log their refused lookups to.
RAY_SERVICE_LOG_ENV = "ACTORS_TEST_RESOLVE_RAY_SERVICE_LOG"
RAY_SITECUSTOMIZE_DIR = SITECUSTOMIZE_DIR.with_name("sitecustomize_ray")
#: The programs of a Ray cluster that are Ray's own services (not workers running our code).
_RAY_SERVICES = ("dashboard/dashboard.py", "dashboard/agent.py", "autoscaler/_private/monitor.py",
                 "_private/log_monitor.py", "runtime_env/agent/main.py")  # fmt: skip


def is_ray_service(argv: list[str] | None = None) -> bool:
    """True when this process (or ``argv``) is one of Ray's service processes, not a worker."""
    command = sys.orig_argv if argv is None else argv
    return any(part.replace(os.sep, "/").endswith(_RAY_SERVICES) for part in command[:3])


def node_environment(
    mapping: Mapping[Endpoint, Endpoint], log: Path, service_log: Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a :class:`RayClusterProcess` whose every process resolves like
    ``resolver.subprocess_env(mapping, log)``; Ray's services log their refusals to ``service_log``."""
    env = subprocess_env(mapping, log, base)
    env["PYTHONPATH"] = os.pathsep.join([str(RAY_SITECUSTOMIZE_DIR), str(REPO_ROOT)])
    env[RAY_SERVICE_LOG_ENV] = str(service_log)
    return env


class RayClusterProcess:
    """A two-node Ray cluster run by a child process with environment ``env`` (see the module
    docstring). ``address`` is the head's GCS ``HOST:PORT`` once started (Ray's node address: this
    machine's interface address, not loopback)."""

    def __init__(self, env: Mapping[str, str], stderr: Path) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="actors-rayp-", dir="/tmp"))  # short: Ray's socket paths
        self.env = dict(env)
        self.env.update(
            RAY_TMPDIR=str(self.tmp),
            RAY_AUTH_MODE="disabled",
            RAY_USAGE_STATS_ENABLED="0",
            RAY_DEDUP_LOGS="0",
        )
        self.stderr_path = stderr
        self.address = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> RayClusterProcess:
        """Start the child and wait until it printed the cluster's address (RuntimeError otherwise)."""
        with self.stderr_path.open("w", encoding="utf-8") as stderr:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.ray_process"],
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self._process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while not self.address:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.stop()
                    raise RuntimeError(
                        f"the Ray cluster did not start in {START_TIMEOUT:.0f} s: {self._log()}"
                    )
                line = self._process.stdout.readline()
                if not line:
                    self.stop()
                    raise RuntimeError(f"the Ray cluster process exited: {self._log()}")
                if line.startswith(ADDRESS_PREFIX):
                    self.address = line[len(ADDRESS_PREFIX) :].strip()
        return self

    def stop(self) -> None:
        """Shut the cluster down, kill what outlived it and remove its temp dir. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.close()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        kill_processes_with_tmpdir(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> RayClusterProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _log(self) -> str:
        text = (
            self.stderr_path.read_text(encoding="utf-8", errors="replace")
            if self.stderr_path.exists()
            else ""
        )
        return text[-2000:] or "(no output)"


def kill_processes_with_tmpdir(tmp: Path) -> list[int]:
    """SIGKILL every process (but this one) whose environment has ``RAY_TMPDIR=tmp``; return their
    PIDs. A Ray worker's command line is its process title, so the environment is what tells."""
    import psutil

    killed: list[int] = []
    for process in psutil.process_iter(["pid"]):
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get("RAY_TMPDIR") == str(tmp):
                process.send_signal(signal.SIGKILL)
                killed.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return killed


def main() -> None:
    """The child: start the cluster, print its address, shut it down when standard input closes."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": 100 << 20},
    )
    try:
        cluster.add_node(num_cpus=1, object_store_memory=80 << 20)
        cluster.wait_for_nodes()
        print(ADDRESS_PREFIX + cluster.address, flush=True)
        sys.stdin.read()  # until the test closes it (or dies)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
