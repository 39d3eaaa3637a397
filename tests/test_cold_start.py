"""Cold start: importing the client and opening a first Listen V1 connection imports only its path.

Each case runs in a fresh interpreter against the session's local server, opens a real Listen V1
connection the way ``scripts/bench_startup.py`` does, and reports ``sys.modules``. Timing is
left to the benchmark; what is checked here is robust: heavy modules the path does not need
(the websockets package and its importlib.metadata, asyncio, the supervisor layer, the other
APIs' message classes, the local server) stay unimported. cattrs is on the path: the codec decodes
and encodes through a cattrs converter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actors.server import LocalServer

REPO = Path(__file__).resolve().parents[1]

#: Modules a first Listen V1 connection must not import (prefix match on dotted names).
NOT_ON_THE_PATH = (
    "websockets",  # the server's library; masking is wsaccel's
    "importlib.metadata",  # what importing the websockets package costs
    "email",
    "encodings.idna",  # a str host's getaddrinfo; an ASCII host is resolved as bytes
    "stringprep",
    "asyncio",
    "concurrent",
    "actors.runtime.supervisor",
    "actors.runtime.stream",
    "actors.runtime.replay",
    "actors.runtime.policy",
    "actors.runtime.pacing",
    "actors.runtime.controls",
    "actors.runtime.admission",
    "actors.protocol.listen_v2",
    "actors.protocol.speak_v1",
    "actors.protocol.agent_v1",
    "actors.client.async_client",
    "actors.server",
    "actors.cli",
)

FACADE = """
    from actors import DeepgramClient, DeepgramClientEnvironment

    http = URL.replace("ws://", "http://", 1)
    env = DeepgramClientEnvironment(base=http, production=URL, agent=URL, agent_rest=http)
    client = DeepgramClient(api_key="cold-start-key", environment=env)
    with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate="16000") as socket:
        OPENED = socket.request_id
"""

RUNTIME = """
    from actors.protocol.apis import LISTEN_V1
    from actors.protocol.auth import Auth
    from actors.protocol.listen_v1.options import ListenV1Options
    from actors.runtime import Connection, ConnectionConfig

    options = ListenV1Options(model="nova-3", encoding="linear16", sample_rate=16000)
    config = ConnectionConfig(api=LISTEN_V1, base_url=URL, options=options, auth=Auth.token("k"))
    connection = Connection.open(config)
    OPENED = connection.request_id
    connection.close()
"""

REPORT = """
    import json, sys
    sys.stdout.write(json.dumps({"opened": OPENED, "modules": sorted(sys.modules)}) + "\\n")
"""


def _cold_start(body: str, url: str) -> tuple[str | None, set[str]]:
    """Run ``body`` in a fresh interpreter; (request id of the connection, modules imported)."""
    script = f"URL = {url!r}\n" + textwrap.dedent(body) + textwrap.dedent(REPORT)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"the cold start failed:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["opened"], set(report["modules"])


def _unexpected(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules for heavy in NOT_ON_THE_PATH if name == heavy or name.startswith(heavy + ".")
    )


@pytest.mark.parametrize("body", [FACADE, RUNTIME], ids=["facade", "runtime"])
def test_first_listen_connection_imports_only_its_path(local_server: LocalServer, body: str) -> None:
    opened, modules = _cold_start(body, local_server.url)
    assert opened, "the connection did not report a request id: it was not really opened"
    assert {"actors.runtime.connection", "actors.protocol.listen_v1.messages", "pykka", "cattrs"} <= modules
    assert _unexpected(modules) == []


def test_lazy_exports_still_resolve_every_name() -> None:
    """Every public name of the lazily exporting packages resolves (and dir() lists it)."""
    import actors.protocol
    import actors.runtime

    for package in (actors.runtime, actors.protocol):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
            assert name in dir(package)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        actors.runtime.Nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        actors.protocol.Nope  # noqa: B018


def test_the_compiled_mask_comes_from_wsaccel_without_the_websockets_package() -> None:
    """frames masks with wsaccel's C masker (a plain import); the websockets package stays unimported."""
    script = textwrap.dedent(
        """
        import sys
        from actors.runtime.frames import _xor_mask, apply_mask
        assert apply_mask is not _xor_mask, apply_mask
        assert "wsaccel.xormask" in sys.modules
        assert "websockets" not in sys.modules
        data, mask = bytes(range(256)) * 40, b"\\x01\\x02\\x03\\x04"
        assert apply_mask(data, mask) == _xor_mask(data, mask)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
