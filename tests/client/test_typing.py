"""The typed send methods: a superset of the SDK's, checked by mypy (their match with the
protocol: ``test_send_methods.py``)."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.protocol.apis import all_apis

from .helpers import socket_class

ROOT = Path(__file__).resolve().parents[2]
MYPY = Path(sys.executable).parent / "mypy"


# --- the SDK's surface -------------------------------------------------------------------------

SDK_SOCKET_MODULES = {
    "listen.v1": "deepgram.listen.v1.socket_client",
    "listen.v2": "deepgram.listen.v2.socket_client",
    "speak.v1": "deepgram.speak.v1.socket_client",
    "speak.v2": "deepgram.speak.v2.socket_client",
    "agent.v1": "deepgram.agent.v1.socket_client",
}
SDK_CLASS_NAMES = {"listen.v2": "V2SocketClient", "speak.v2": "V2SocketClient"}


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") or name in ("__iter__", "__aiter__")
    }


@pytest.mark.parametrize("api_name", sorted(SDK_SOCKET_MODULES))
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_our_sockets_have_every_method_of_the_sdk_socket(api_name: str, is_async: bool) -> None:
    sdk_module = importlib.import_module(SDK_SOCKET_MODULES[api_name])
    sdk_name = ("Async" if is_async else "") + SDK_CLASS_NAMES.get(api_name, "V1SocketClient")
    sdk_cls = getattr(sdk_module, sdk_name)
    ours = socket_class(next(api for api in all_apis() if api.name == api_name), is_async=is_async)
    sdk_methods = public_methods(sdk_cls)
    our_methods = public_methods(ours)
    assert "send_media" in sdk_methods or api_name.startswith("speak.")  # the comparison sees real methods
    missing = sorted(set(sdk_methods) - set(our_methods))
    assert not missing, f"{ours.__name__} lacks the SDK's {missing}"
    for name, sdk_method in sdk_methods.items():
        ours_method = our_methods[name]
        if inspect.iscoroutinefunction(sdk_method) or inspect.isasyncgenfunction(sdk_method):
            assert inspect.iscoroutinefunction(ours_method) or inspect.isasyncgenfunction(ours_method), name
        # An argument the SDK lets you omit must be omittable here too.
        sdk_params = list(inspect.signature(sdk_method).parameters.values())[1:]
        our_params = inspect.signature(ours_method).parameters
        for param in sdk_params:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            assert param.name in our_params, f"{ours.__name__}.{name} lacks parameter {param.name}"
            if param.default is not param.empty:
                assert our_params[param.name].default is not param.empty, f"{name}({param.name}=...)"


# --- mypy on user code -------------------------------------------------------------------------

GOOD = """
from actors import AsyncDeepgramClient, DeepgramClient
from actors.agent.v1.types import AgentV1UpdatePrompt
from actors.listen.v1.types import ListenV1Finalize


def sync_use(client: DeepgramClient) -> None:
    with client.listen.v1.connect(model="nova-3") as socket:
        socket.send_listen_v_1_finalize(ListenV1Finalize())
        socket.send_finalize()
        socket.send_listen_v_1_media(b"\\0\\0")
        socket.send_configure({"keyterms": ["actors"]})
        reveal_type(socket)
    with client.agent.v1.connect() as agent:
        agent.send_update_prompt(AgentV1UpdatePrompt(prompt="be brief"))
        agent.send_raw({"type": "KeepAlive"})


async def async_use(client: AsyncDeepgramClient) -> None:
    async with client.listen.v2.connect(model="flux-general-en") as socket:
        await socket.send_listen_v_2_close_stream()
        reveal_type(socket)
    speak = await client.speak.v1.connect()
    await speak.send_flush()
"""

BAD = """
from actors import DeepgramClient
from actors.listen.v1.types import ListenV1Finalize, ListenV1KeepAlive


def sync_use(client: DeepgramClient) -> None:
    with client.listen.v1.connect(model="nova-3") as socket:
        socket.send_listen_v_1_finalise(ListenV1Finalize())  # misspelled: error
        socket.send_listen_v_1_finalize(ListenV1KeepAlive())  # wrong message class: error
        socket.send_listen_v_1_media("not bytes")  # not audio: error
    with client.speak.v1.connect() as speak:
        speak.send_text()  # the message is required: error
"""


def test_mypy_accepts_correct_calls_and_rejects_wrong_ones(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    result = subprocess.run(
        [
            str(MYPY),
            "--strict",
            "--follow-imports=silent",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            "good.py",
            "bad.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    lines = result.stdout.splitlines()
    good_errors = [line for line in lines if line.startswith("good.py") and ": error:" in line]
    assert not good_errors, result.stdout
    revealed = [line for line in lines if "Revealed type" in line]
    assert len(revealed) == 2, result.stdout + result.stderr
    assert "actors.client.sockets.ListenV1SocketClient" in revealed[0]
    assert "actors.client.async_sockets.AsyncListenV2SocketClient" in revealed[1]
    bad_errors = {line.split(":")[1] for line in lines if line.startswith("bad.py") and ": error:" in line}
    expected = {str(n) for n, line in enumerate(BAD.splitlines(), 1) if line.endswith(": error")}
    assert len(expected) == 4 and bad_errors == expected, result.stdout
    assert 'has no attribute "send_listen_v_1_finalise"' in result.stdout
    assert '"ListenV1KeepAlive"; expected "ListenV1Finalize | Mapping[str, Any] | None"' in result.stdout
