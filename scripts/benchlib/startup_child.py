"""One cold start, in a fresh interpreter: import a client, open the first Listen V1 connection.

``python -m benchlib.startup_child --client actors|actors-runtime|deps-floor|sdk --url ws://...``
prints one JSON line: ``import_ms`` (import of the client), ``connect_ms`` (client construction
and the first completed handshake), ``total_ms`` (both). Only the standard library is imported
before the timer starts.

``deps-floor`` is the floor of actors' cold start with its chosen dependencies: it imports only
them (attrs, cattrs with its orjson preconf, websocket-client, pykka, orjson; websocket-client
imports ``ssl``) and opens the same Listen V1 connection with websocket-client's own
``create_connection``. No code of ours runs, so what actors spends above it is its own.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

VARIANTS = ("actors", "actors-runtime", "deps-floor", "sdk")


def _import(variant: str) -> Any:
    """Import what ``variant`` needs to open a Listen V1 stream; returns an opener function."""
    if variant == "actors-runtime":
        from actors.protocol.apis import LISTEN_V1
        from actors.protocol.auth import Auth
        from actors.protocol.listen_v1.options import ListenV1Options
        from actors.runtime import Connection, ConnectionConfig

        def open_runtime(url: str) -> None:
            options = ListenV1Options(model="nova-3", encoding="linear16", sample_rate=16000)
            config = ConnectionConfig(api=LISTEN_V1, base_url=url, options=options, auth=Auth.token("k"))
            Connection.open(config).close()

        return open_runtime
    if variant == "actors":
        from actors import DeepgramClient as ActorsClient
        from actors import DeepgramClientEnvironment as ActorsEnvironment

        return lambda url: _open_sdk_shaped(ActorsClient, ActorsEnvironment, url)
    if variant == "deps-floor":
        import attrs  # noqa: F401
        import cattrs
        import cattrs.preconf.orjson  # noqa: F401
        import orjson  # noqa: F401
        import pykka  # noqa: F401
        import websocket

        def open_plain(url: str) -> None:
            query = "model=nova-3&encoding=linear16&sample_rate=16000"
            ws = websocket.create_connection(f"{url}/v1/listen?{query}", header=["Authorization: Token k"])
            ws.send('{"type":"CloseStream"}')
            ws.close()

        return open_plain
    if variant == "sdk":
        from deepgram import DeepgramClient, DeepgramClientEnvironment

        return lambda url: _open_sdk_shaped(DeepgramClient, DeepgramClientEnvironment, url)
    raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")


def _open_sdk_shaped(client_type: Any, env_type: Any, url: str) -> None:
    http = url.replace("ws://", "http://", 1)
    env = env_type(base=http, production=url, agent=url, agent_rest=http)
    client = client_type(api_key="bench-key", environment=env)
    with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate="16000"):
        pass


def main() -> int:
    """Time the import and the first connection; print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", choices=VARIANTS, required=True)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    opener = _import(args.client)
    imported = time.perf_counter()
    opener(args.url)
    connected = time.perf_counter()
    result = {
        "client": args.client,
        "import_ms": round((imported - started) * 1000, 1),
        "connect_ms": round((connected - imported) * 1000, 1),
        "total_ms": round((connected - started) * 1000, 1),
        "stdlib_ms": round((started - _T0) * 1000, 1),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
