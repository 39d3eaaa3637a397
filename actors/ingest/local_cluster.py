"""Several ``ingest`` instances behind haproxy on one machine: ``python -m actors ingest-cluster``.

The runnable equivalent of ``deploy/compose.yml`` where Docker is not at hand (and what the tests use):
:class:`LocalCluster` starts ``instances`` processes of ``python -m actors ingest`` on ``host`` (ports
``first_port``, ``first_port + 1``, ... or free ones), all on one PostgreSQL ``store``, each with its
own ``--instance-id`` (``NAME-1``, ``NAME-2``, ...), then haproxy (Debian's ``haproxy`` package) on
``host:port`` with the configuration of :func:`actors.ingest.haproxy.haproxy_config`. Platforms dial
the haproxy address; ``/v1/calls`` on it (any instance) lists every instance's calls.

The store URL and every other secret go to the instances through their environment
(``ACTORS_INGEST_STORE``, ...), never on a command line. Each child's stderr is relayed line by line,
prefixed with its name. SIGTERM or Ctrl-C drains every instance (running calls finish), then stops
haproxy. On real machines run one ``python -m actors ingest`` per machine and haproxy on its own
(deploy/README.md).

    python -m actors ingest-cluster --instances 3 --store postgresql://ingest@db/calls --port 8080
    python -m actors ingest-cluster --print-haproxy-config --backend a=10.0.0.11:8080 ...
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from actors.ingest.haproxy import Backend, haproxy_config
from actors.ingest.store import redact_url

HAPROXY = "/usr/sbin/haproxy"
_LISTENING = re.compile(r"^actors ingest: listening on https?://\S+?:(\d+);")

#: Receives every line a child writes to stderr, with the child's name.
OnLine = Callable[[str, str], None]


class ClusterError(RuntimeError):
    """A part of the local cluster did not start (the message carries its last output lines)."""


def relay_to_stderr(name: str, line: str) -> None:
    """Write ``[name] line`` to this process's stderr (the default :data:`OnLine`)."""
    sys.stderr.write(f"[{name}] {line}")
    sys.stderr.flush()


def free_port(host: str) -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@attrs.define
class Child:
    """One child process (an instance or haproxy) and what it printed; ``port`` once it listens."""

    name: str
    proc: subprocess.Popen[str]
    lines: list[str] = attrs.field(factory=list)
    port: int = 0
    listening: threading.Event = attrs.field(factory=threading.Event)
    reader: threading.Thread | None = None

    def tail(self, count: int = 20) -> str:
        """The last ``count`` lines it printed."""
        return "".join(self.lines[-count:])

    def send_signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` if it still runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def end(self, sig: signal.Signals | None, timeout: float) -> int:
        """Send ``sig`` (unless None: already sent), wait up to ``timeout`` s, SIGKILL it after that;
        its exit code.

        Signalled once only: a second SIGTERM can reach an instance after its drain, once it has put
        back the default handler, and kill it (exit -15 after a clean stop).
        """
        if sig is not None:
            self.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(30)


class LocalCluster:
    """``instances`` ingest processes + haproxy on one machine (see the module docstring).

    ``ingest_args`` are added to every instance's command line (e.g. ``--url`` of a Deepgram-compatible
    server); ``env`` is their environment (default: this process's). ``start`` then ``stop``; also a
    context manager.
    """

    def __init__(
        self,
        store: str,
        *,
        instances: int = 2,
        host: str = "127.0.0.1",
        port: int = 8080,
        first_port: int = 0,
        name: str = "ingest",
        lease_seconds: float | None = None,
        ingest_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        haproxy: str = HAPROXY,
        workdir: Path | None = None,
        on_line: OnLine = relay_to_stderr,
    ) -> None:
        if instances < 1:
            raise ValueError(f"LocalCluster: instances must be >= 1, got {instances}")
        self._store = store
        self._count = instances
        self.host = host
        self.port = port or free_port(host)
        self._first_port = first_port
        self._name = name
        self._lease = lease_seconds
        self._args = tuple(ingest_args)
        self._env = dict(os.environ if env is None else env)
        self._haproxy = haproxy
        self._workdir = workdir
        self._own_workdir: Path | None = None  # the temporary folder made for haproxy.cfg, removed by stop
        self._on_line = on_line
        self.instances: list[Child] = []
        self.balancer: Child | None = None
        self.config_path: Path | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"<LocalCluster {self._count} x ingest on {redact_url(self._store)} behind {self.url}>"

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of haproxy (``ws://`` for the platforms' sockets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- start ------------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(env)
        )
        child = Child(name, proc)

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                child.lines.append(line)
                match = _LISTENING.search(line)
                if match and not child.listening.is_set():
                    child.port = int(match.group(1))
                    child.listening.set()
                self._on_line(name, line)

        child.reader = threading.Thread(target=read, name=f"local-cluster-{name}", daemon=True)
        child.reader.start()
        return child

    def start(self, timeout: float = 60.0) -> LocalCluster:
        """Start the instances, wait until each listens, then start haproxy and wait until it answers
        ``/readyz``; raises :class:`ClusterError` (after stopping what started) when a part fails."""
        deadline = time.monotonic() + timeout
        try:
            env = dict(self._env, ACTORS_INGEST_STORE=self._store)
            for n in range(1, self._count + 1):
                port = self._first_port + n - 1 if self._first_port else 0
                argv = [sys.executable, "-m", "actors", "ingest", "--host", self.host, "--port", str(port)]
                argv += ["--instance-id", f"{self._name}-{n}"]
                if self._lease is not None:
                    argv += ["--lease-seconds", f"{self._lease:g}"]
                self.instances.append(self._spawn(f"{self._name}-{n}", [*argv, *self._args], env))
            for child in self.instances:
                self._wait_listening(child, deadline)
            self._start_haproxy(deadline)
        except BaseException:
            self.stop(drain=False)
            raise
        return self

    def _wait_listening(self, child: Child, deadline: float) -> None:
        while not child.listening.wait(0.05):
            if child.proc.poll() is not None or time.monotonic() > deadline or self._stopping.is_set():
                raise ClusterError(f"{child.name} did not start (exit {child.proc.poll()}):\n{child.tail()}")

    def haproxy_text(self) -> str:
        """The haproxy configuration for the started instances."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        backends = [Backend(c.name, f"{host}:{c.port}") for c in self.instances]
        return haproxy_config(f"{host}:{self.port}", backends, maxconn=None)

    def _start_haproxy(self, deadline: float) -> None:
        workdir = self._workdir
        if workdir is None:
            workdir = self._own_workdir = Path(tempfile.mkdtemp(prefix="actors-haproxy-"))
        self.config_path = workdir / "haproxy.cfg"
        self.config_path.write_text(self.haproxy_text())
        self.balancer = self._spawn(
            "haproxy", [self._haproxy, "-db", "-f", str(self.config_path)], os.environ
        )
        while not self.ready():
            if self.balancer.proc.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(
                    f"haproxy did not start (exit {self.balancer.proc.poll()}):\n{self.balancer.tail()}"
                )
            if self._stopping.wait(0.05):  # the pause between two probes; stop() ends it
                raise ClusterError("stopped while haproxy was starting")

    def ready(self) -> bool:
        """True when ``GET /readyz`` through haproxy answers 200 now."""
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    # -- run and stop -----------------------------------------------------------------------------

    def instance(self, instance_id: str) -> Child:
        """The instance started with ``instance_id``."""
        return next(c for c in self.instances if c.name == instance_id)

    def kill(self, instance_id: str) -> None:
        """SIGKILL one instance (as a crash would) and reap it."""
        child = self.instance(instance_id)
        child.proc.kill()
        child.proc.wait(30)

    def stop(self, timeout: float = 60.0, *, drain: bool = True) -> bool:
        """SIGTERM every live instance (each drains: running calls finish) -- or SIGKILL without
        ``drain`` --, wait, then stop haproxy; True when every instance exited 0."""
        self._stopping.set()
        sig = signal.SIGTERM if drain else signal.SIGKILL
        for child in self.instances:  # all signalled first, so they drain at the same time
            child.send_signal(sig)
        clean = all([child.end(None, timeout) == 0 for child in self.instances])
        if self.balancer is not None:
            self.balancer.end(signal.SIGTERM, 10)
        if self._own_workdir is not None:
            shutil.rmtree(self._own_workdir, ignore_errors=True)
            self._own_workdir = None
        for child in [*self.instances, *([self.balancer] if self.balancer else [])]:
            if child.reader is not None:
                child.reader.join(10)
        return clean


# -- the command --------------------------------------------------------------------------------------


def _backend(text: str) -> Backend:
    name, sep, address = text.partition("=")
    if not sep or not name or ":" not in address:
        raise argparse.ArgumentTypeError(f"expected NAME=HOST:PORT, got {text!r}")
    return Backend(name, address)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m actors.ingest.local_cluster``."""
    parser = argparse.ArgumentParser(
        prog="python -m actors.ingest.local_cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the launcher's options to ``parser`` (also ``python -m actors ingest-cluster``'s)."""
    parser.add_argument("--instances", type=int, default=2, metavar="N", help="ingest processes (default 2)")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="the shared postgresql:// store (default: env ACTORS_INGEST_STORE; put a password there)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface of haproxy and the instances")
    parser.add_argument("--port", type=int, default=8080, help="haproxy's port (default 8080; 0: a free one)")
    parser.add_argument(
        "--first-port",
        type=int,
        default=0,
        metavar="P",
        help="instances on P, P+1, ... (default: free ports)",
    )
    parser.add_argument("--lease-seconds", type=float, metavar="S", help="every instance's --lease-seconds")
    parser.add_argument(
        "--haproxy", default=HAPROXY, metavar="PATH", help=f"haproxy binary (default {HAPROXY})"
    )
    render = parser.add_argument_group("print a configuration for haproxy on real machines instead")
    render.add_argument("--print-haproxy-config", action="store_true", help="print it and exit")
    render.add_argument(
        "--backend", action="append", type=_backend, default=[], metavar="NAME=HOST:PORT", help="repeatable"
    )
    render.add_argument(
        "--bind", default="*:8080", metavar="HOST:PORT", help="haproxy's address (default *:8080)"
    )
    render.add_argument("--tls-pem", metavar="PEM", help="terminate TLS with this cert+key file (wss://)")
    render.add_argument("--resolvers", metavar="HOST:PORT", help="DNS server to re-resolve backend names")
    render.add_argument("--stats", metavar="HOST:PORT", help="serve haproxy's status page there")
    parser.add_argument(
        "ingest_args", nargs=argparse.REMAINDER, help="after --: options for every instance (e.g. --url ...)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the exit status (0 after a clean drain)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the launcher with parsed ``args`` (see :func:`add_arguments`); the exit status."""
    if args.print_haproxy_config:
        if not args.backend:
            print("local_cluster: --print-haproxy-config needs --backend NAME=HOST:PORT", file=sys.stderr)
            return 2
        text = haproxy_config(
            args.bind, args.backend, resolvers=args.resolvers, tls_pem=args.tls_pem, stats=args.stats
        )
        sys.stdout.write(text)
        return 0
    store = args.store or os.environ.get("ACTORS_INGEST_STORE", "")
    if not store.startswith(("postgresql:", "postgres:")):
        print(
            "local_cluster: several instances share a postgresql:// --store (SQLite is single-instance)",
            file=sys.stderr,
        )
        return 2
    extra = [a for a in args.ingest_args if a != "--"]
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda _n, _f: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    cluster = LocalCluster(
        store,
        instances=args.instances,
        host=args.host,
        port=args.port,
        first_port=args.first_port,
        lease_seconds=args.lease_seconds,
        ingest_args=extra,
        haproxy=args.haproxy,
    )
    try:
        try:
            cluster.start()
        except (ClusterError, OSError) as exc:
            print(f"local_cluster: {exc}", file=sys.stderr)
            return 1
        print(
            f"local_cluster: {args.instances} instance(s) behind {cluster.url} "
            f"(haproxy config {cluster.config_path}); SIGTERM or Ctrl-C drains",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
        return 0 if cluster.stop() else 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
