"""The checkable rules of the house, as tests over the whole ``actors`` package.

1. Docstrings: every public module, class, function and method has one that says what it promises.
2. Secrets: a fake credential never shows in a repr, str, exception or log record, during a real
   connect / refuse / finish cycle against the local server.
3. Threads: every thread the library starts has a meaningful name, and none outlives ``stop()``.
4. No ``time.sleep`` as synchronisation in the library (explicit, commented allow-list).
5. ``py.typed`` is shipped.

The static checks (1, 4, 5) read source with ``ast`` and never import the package.
Two more static rules have files of their own: ``tests/test_house_rules_private.py`` (no module
uses another's private members) and ``tests/test_house_rules_references.py`` (prose names only
files the project has).
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import queue
import threading
import wave
from pathlib import Path
from typing import Any

import pytest

from actors import AsyncDeepgramClient, DeepgramClient, DeepgramClientEnvironment
from actors.cli.main import main as cli_main
from actors.cli.target import open_target
from actors.errors import ActorsError, HandshakeError
from actors.protocol.apis import LISTEN_V1
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import Connection, ConnectionConfig
from actors.runtime.policy import RestartPolicy
from actors.runtime.supervisor import Supervisor
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.house_rules_ast import (
    PACKAGE_ROOT,
    SleepCall,
    missing_docstrings,
    restates_name,
    sleep_calls,
)
from tests.house_rules_probes import (
    CapturedLogs,
    SecretProbe,
    ThreadRecorder,
    is_generic_thread_name,
    wait_for_threads_to_end,
)

REPO_ROOT = PACKAGE_ROOT.parent
RATE = 16000

# Recognisable fakes, long enough that Auth.redacted() shows their last 4 characters (allowed).
API_KEY = "hr-fake-apikey-7f3c9e1d5b2a4c6e8f0a"
JWT = "eyJhbGciOiJIUzI1NiJ9.hr-fake-jwt-payload.c2lnbmF0dXJlX2Zha2U"
HEADER_SECRET = "hr-fake-header-secret-4d2e6f8a0b1c"
probe = SecretProbe(API_KEY, JWT, HEADER_SECRET)


# --------------------------------------------------------------------------------------------------
# 1. Docstrings
# --------------------------------------------------------------------------------------------------


def test_every_public_definition_has_a_docstring_that_says_what_it_promises() -> None:
    findings = missing_docstrings()
    assert not findings, "missing or name-only docstrings:\n" + "\n".join(map(str, findings))


def _fake_package(tmp_path: Path, name: str, source: str) -> Path:
    """A throw-away ``actors`` directory holding one module, for testing the scanners themselves."""
    root = tmp_path / "actors"
    root.mkdir()
    (root / name).write_text(source)
    return root


def test_docstring_checker_finds_missing_and_name_only_docstrings(tmp_path: Path) -> None:
    """The checker itself: a module with each kind of violation yields each one, and only those."""
    source = (
        "class Widget:\n"
        "    def spin(self) -> None:\n"
        "        pass\n"
        "    @property\n"
        "    def rate(self) -> int:\n"
        '        """Get the rate."""\n'
        "        return 1\n"
        "    @rate.setter\n"
        "    def rate(self, value: int) -> None:\n"
        "        pass\n"
        "    def _private(self) -> None:\n"
        "        pass\n"
        "    def __repr__(self) -> str:\n"
        "        return ''\n"
        "    def __init__(self) -> None:\n"
        "        pass\n"
        "class Documented:\n"
        '    """Holds one value and never changes it."""\n'
        "    def __init__(self) -> None:\n"
        "        pass\n"
        "def build() -> None:\n"
        "    pass\n"
        "def _hidden() -> None:\n"
        "    pass\n"
    )
    findings = [str(f) for f in missing_docstrings(_fake_package(tmp_path, "widget.py", source))]
    assert findings == [
        "actors/widget.py:1: module actors/widget.py has no docstring",
        "actors/widget.py:1: class Widget has no docstring",
        "actors/widget.py:2: method Widget.spin has no docstring",
        "actors/widget.py:5: method Widget.rate: docstring 'Get the rate.' restates the name; "
        "say what it promises",
        "actors/widget.py:15: method Widget.__init__ has no docstring",
        "actors/widget.py:21: function build has no docstring",
    ]
    assert restates_name("sample_rate", "The sample rate.")
    assert not restates_name("sample_rate", "Samples per second of the outgoing audio (None: from options).")


# --------------------------------------------------------------------------------------------------
# 4. No sleeps as synchronisation
# --------------------------------------------------------------------------------------------------

#: ``time.sleep`` / ``asyncio.sleep`` calls the library may make, as "actors/<file>::<function>" ->
#: why it is not synchronisation. Only pacing audio to real time is legitimate (the service must
#: receive live audio no faster than it is spoken); waiting *for something* must use an Event,
#: Condition or queue with a timeout. Pacing waits on a stop Event instead.
SLEEP_ALLOW_LIST: dict[str, str] = {
    # Not a wait for anything: AudioHook signature failures are answered no sooner than 500 ms, as
    # AudioHook's reference server does, so response times tell an attacker nothing.
    "actors/ingest/service.py::IngestService._process_request": "AudioHook auth failure delay",
    # Waiting for another connection's (often another process's) SQLite lock, which gives no
    # notification: switching a new file to WAL fails at once instead of calling the busy handler.
    "actors/ingest/store/_db.py::_enable_wal": "SQLite WAL switch back-off",
}


def test_library_never_sleeps_to_synchronise() -> None:
    calls = sleep_calls()
    unexplained = [c for c in calls if f"{c.path}::{c.scope}" not in SLEEP_ALLOW_LIST]
    assert not unexplained, (
        "sleep calls in the library (wait on an Event/Condition/queue with a timeout instead, or add a "
        "commented entry to SLEEP_ALLOW_LIST if it paces audio to real time):\n"
        + "\n".join(map(str, unexplained))
    )
    stale = set(SLEEP_ALLOW_LIST) - {f"{c.path}::{c.scope}" for c in calls}
    assert not stale, f"allow-list entries with no sleep left (remove them): {sorted(stale)}"


def test_sleep_scanner_finds_every_spelling(tmp_path: Path) -> None:
    source = (
        '"""Probe."""\n'
        "import time\n"
        "import time as clock\n"
        "import asyncio\n"
        "from time import sleep\n"
        "from time import sleep as nap\n"
        "class Pacer:\n"
        "    def pace(self) -> None:\n"
        "        time.sleep(0.1)\n"
        "        clock.sleep(0.1)\n"
        "async def later() -> None:\n"
        "    await asyncio.sleep(1)\n"
        "    await asyncio.sleep(0)\n"
        "def f() -> None:\n"
        "    sleep(1); nap(2)\n"
        "    time.monotonic()\n"
    )
    found = sleep_calls(_fake_package(tmp_path, "pacer.py", source))
    assert found == [
        SleepCall("actors/pacer.py", 9, "Pacer.pace"),
        SleepCall("actors/pacer.py", 10, "Pacer.pace"),
        SleepCall("actors/pacer.py", 12, "later"),
        SleepCall("actors/pacer.py", 15, "f"),
        SleepCall("actors/pacer.py", 15, "f"),
    ]


# --------------------------------------------------------------------------------------------------
# 5. py.typed
# --------------------------------------------------------------------------------------------------


def test_py_typed_is_shipped() -> None:
    assert (PACKAGE_ROOT / "py.typed").is_file(), "actors/py.typed is missing"
    cfg = configparser.ConfigParser()
    cfg.read(REPO_ROOT / "setup.cfg")
    package_data = cfg.get("options.package_data", "actors", fallback="")
    entries = [e.strip() for e in package_data.replace("\n", ",").split(",")]
    assert "py.typed" in entries, f"setup.cfg [options.package_data] actors = {package_data!r} lacks py.typed"


# --------------------------------------------------------------------------------------------------
# 2. Secrets
# --------------------------------------------------------------------------------------------------


def _listen_config(url: str, auth: Auth, **kwargs: Any) -> ConnectionConfig:
    options = ListenV1Options.from_kwargs(model="nova-3", encoding="linear16", sample_rate=RATE)
    return ConnectionConfig(api=LISTEN_V1, base_url=url, options=options, auth=auth, **kwargs)


def _assert_no_leak(what: str, obj: object) -> None:
    leaks = probe.leaks_of(obj)
    assert not leaks, f"{what} shows a secret in {leaks}: {probe.views_of(obj)}"


def test_secret_probe_detects_a_leak() -> None:
    """The probe itself: a secret whole, or without its last 4 characters, is found."""
    assert probe.leaks_in(f"key={API_KEY}")
    assert probe.leaks_in(f"key={API_KEY[:-4]}")
    assert not probe.leaks_in(f"key=****{API_KEY[-4:]}")
    assert probe.leaks_of(ValueError("wrapped", API_KEY))
    chained = RuntimeError("outer")
    chained.__cause__ = KeyError(JWT)
    assert "exception[1]" in probe.leaks_of(chained)


def test_credential_objects_never_show_the_secret(local_server: LocalServer) -> None:
    url = local_server.url
    env = DeepgramClientEnvironment.local(url)
    objects: dict[str, object] = {
        "Auth.token": Auth.token(API_KEY),
        "Auth.bearer": Auth.bearer(JWT),
        "ConnectionConfig": _listen_config(
            url,
            Auth.token(API_KEY),
            headers={"Authorization": f"Token {API_KEY}", "X-Api-Key": HEADER_SECRET},
        ),
        "ConnectionConfig(subprotocol)": _listen_config(url, Auth.bearer(JWT), auth_in_subprotocol=True),
        "DeepgramClient(api_key)": DeepgramClient(api_key=API_KEY, environment=env),
        "DeepgramClient(access_token)": DeepgramClient(access_token=JWT, environment=env),
        "DeepgramClient(headers)": DeepgramClient(
            api_key=API_KEY, environment=env, headers={"Authorization": f"Token {HEADER_SECRET}"}
        ),
        "AsyncDeepgramClient(api_key)": AsyncDeepgramClient(api_key=API_KEY, environment=env),
        "AsyncDeepgramClient(access_token)": AsyncDeepgramClient(access_token=JWT, environment=env),
    }
    client = DeepgramClient(api_key=API_KEY, environment=env)
    objects["client.listen.v1"] = client.listen.v1
    objects["client.agent.v1"] = client.agent.v1
    objects["ClientSettings"] = client._settings  # what every connection of the client is built from
    for what, obj in objects.items():
        _assert_no_leak(what, obj)


def test_bad_credentials_are_refused_without_echoing_them() -> None:
    for bad in (f"{API_KEY}\n", f" {API_KEY}", f"{API_KEY}\rinjected: header"):
        with pytest.raises(ActorsError) as caught:
            Auth.token(bad)
        _assert_no_leak(f"Auth.token({bad!r}) error", caught.value)


def test_cli_target_never_shows_the_key(local_server: LocalServer) -> None:
    environ = {"DEEPGRAM_API_KEY": API_KEY}
    for args in (
        argparse.Namespace(url=None, local=False),
        argparse.Namespace(url=local_server.url, local=False),
    ):
        with open_target(args, environ) as target:
            assert target.api_key == API_KEY  # the key is there to be used...
            _assert_no_leak(f"Target({target.kind})", target)  # ...but never shown
            assert not probe.leaks_in(target.describe())


def test_refused_handshake_error_never_shows_the_key(make_server: Any) -> None:
    server = make_server(api_keys={"the-only-accepted-key-000"})
    env = DeepgramClientEnvironment.local(server.url)
    with CapturedLogs() as logs:
        with pytest.raises(HandshakeError) as by_connection:
            Connection.open(_listen_config(server.url, Auth.token(API_KEY)))
        with pytest.raises(HandshakeError) as by_subprotocol:
            Connection.open(_listen_config(server.url, Auth.bearer(JWT), auth_in_subprotocol=True))
        with (
            pytest.raises(HandshakeError) as by_client,
            DeepgramClient(api_key=API_KEY, environment=env).listen.v1.connect(model="nova-3"),
        ):
            pass  # pragma: no cover - the connect is refused
    for what, caught in (("token", by_connection), ("subprotocol", by_subprotocol), ("client", by_client)):
        assert caught.value.status == 401, caught.value
        _assert_no_leak(f"HandshakeError via {what}", caught.value)
    assert logs.lines, "expected the refusals to be logged (at least at DEBUG)"
    leaked = [line for line in logs.lines if probe.leaks_in(line)]
    assert not leaked, "log records show a secret:\n" + "\n".join(leaked)


def _write_wav(path: Path, words: list[str]) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(synthesize_words(words, RATE, leading_ms=100))
    return path


def test_connect_refuse_finish_cycle_logs_no_secret(
    make_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything a user can do with a credential, logged at DEBUG: no record shows it."""
    open_server = make_server()
    strict_server = make_server(api_keys={API_KEY})
    audio = synthesize_words(["hello", "house", "rules"], RATE, leading_ms=100)
    seen: list[object] = []
    with CapturedLogs() as logs:
        # runtime connection, accepted, finished
        conn = Connection.open(_listen_config(strict_server.url, Auth.token(API_KEY)))
        seen.append(conn)
        conn.send_audio(audio)
        finished = conn.finish(timeout=10.0)
        assert finished.ok, finished.error
        seen.append(finished)
        # sync client with extra secret headers, finished by leaving the block
        env = DeepgramClientEnvironment.local(open_server.url)
        client = DeepgramClient(api_key=API_KEY, environment=env, headers={"X-Api-Key": HEADER_SECRET})
        with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=str(RATE)) as socket:
            seen.append(socket)
            socket.send_listen_v_1_media(audio)
        # per-connection credentials: connect(authorization=...) and request_options headers
        with client.listen.v1.connect(
            model="nova-3",
            authorization=f"Token {API_KEY}",
            request_options={"additional_headers": {"Authorization": f"Bearer {JWT}"}},
        ) as socket:
            seen += [socket, socket.connection]
        # async client with a bearer token
        asyncio.run(_async_cycle(open_server.url, audio, seen))
        # supervisor: one stream accepted, one refused (fatal 401)
        with Supervisor(max_connections=4, connectors=2) as sup:
            good = sup.open_stream(
                _listen_config(strict_server.url, Auth.token(API_KEY)), stream_id="hr-good"
            )
            refused = sup.open_stream(
                _listen_config(strict_server.url, Auth.bearer(JWT)),
                restart=RestartPolicy.never(),
                stream_id="hr-refused",
            )
            good.send_audio(audio)
            # Wait for the refusal: a stream finished before its first handshake and without
            # audio just ends ("finished before any audio was sent"), with no error to check.
            assert refused.wait_closed(timeout=10.0), "the refused stream did not end"
            good_result, refused_result = good.finish(timeout=10.0), refused.finish(timeout=10.0)
            seen += [sup, good, refused, good_result, refused_result, refused.error]
        # the CLI, with the key in the environment and the local server as --url
        monkeypatch.setenv("DEEPGRAM_API_KEY", API_KEY)
        call = _write_wav(tmp_path / "call.wav", ["order", "number", "five"])
        status = cli_main(
            [
                "transcribe",
                str(call),
                "--url",
                strict_server.url,
                "--out",
                str(tmp_path / "out"),
                "--progress",
                "plain",
            ]
        )
    out = capsys.readouterr()
    assert status == 0, out
    assert good_result.error is None, good_result.error
    assert isinstance(refused.error, ActorsError), "the refused stream should have failed"
    for obj in seen:
        _assert_no_leak(type(obj).__name__, obj)
    for text in (out.out, out.err, *(p.read_text() for p in (tmp_path / "out").iterdir())):
        assert not probe.leaks_in(text), f"CLI output shows a secret: {text[:500]}"
    assert len(logs.lines) > 5, "expected DEBUG records from the actors logger tree"
    leaked = [line for line in logs.lines if probe.leaks_in(line)]
    assert not leaked, "log records show a secret:\n" + "\n".join(leaked)


async def _async_cycle(url: str, audio: bytes, seen: list[object]) -> None:
    client = AsyncDeepgramClient(access_token=JWT, environment=DeepgramClientEnvironment.local(url))
    seen.append(client)
    async with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=str(RATE)) as socket:
        seen.append(socket)
        await socket.send_listen_v_1_media(audio)


# --------------------------------------------------------------------------------------------------
# 3. Threads
# --------------------------------------------------------------------------------------------------


#: Threads the standard library starts for itself, by target name, with why they are not the library's.
NOT_LIBRARY_THREADS = {
    # asyncio.run() closing the loop's default executor (the test's event loop, not actors'):
    "_do_shutdown": "asyncio.BaseEventLoop.shutdown_default_executor",
}


def _started_by_the_library(thread: threading.Thread) -> bool:
    return not any(thread.name.endswith(f"({target})") for target in NOT_LIBRARY_THREADS)


def test_every_library_thread_is_named_and_none_outlives_stop() -> None:
    before = set(threading.enumerate())
    audio = synthesize_words(["named", "threads", "only"], RATE, leading_ms=100)
    events: queue.Queue[Any] = queue.Queue()
    with ThreadRecorder() as recorder:
        server = LocalServer(engine="deterministic")
        server.start()
        try:
            env = DeepgramClientEnvironment.local(server.url)
            client = DeepgramClient(api_key=API_KEY, environment=env, keepalive=True)
            with client.listen.v1.connect(
                model="nova-3", encoding="linear16", sample_rate=str(RATE)
            ) as socket:
                socket.send_listen_v_1_media(audio)
            with client.speak.v1.connect(model="aura-2-thalia-en", encoding="linear16") as speak:
                speak.send_speak_v_1_text({"text": "hello"})
                speak.send_speak_v_1_flush()
            asyncio.run(_async_cycle(server.url, audio, []))
            # a refused handshake too (the server's handler thread must be named on that path)
            strict = LocalServer(engine="deterministic", api_keys={"another-key-0000"})
            strict.start()
            try:
                with pytest.raises(HandshakeError):
                    Connection.open(_listen_config(strict.url, Auth.token(API_KEY)))
            finally:
                strict.stop()
            with Supervisor(max_connections=3, connectors=2) as sup:
                handles = [
                    sup.open_stream(
                        _listen_config(server.url, Auth.token(API_KEY)),
                        subscribers=[events],
                        stream_id=f"hr-{i}",
                    )
                    for i in range(3)
                ]
                for handle in handles:
                    handle.send_audio(audio)
                results = [h.finish(timeout=10.0) for h in handles]
                during = {t for t in threading.enumerate() if t not in before}
        finally:
            server.stop()
    assert all(r.error is None for r in results), [r.error for r in results]
    started = [t for t in recorder.threads if _started_by_the_library(t)]
    assert during, "expected the session to run threads"
    assert len(started) >= 8, [t.name for t in started]  # server, connections, readers, supervisor...
    unnamed = sorted(
        {t.name for t in (*started, *during) if is_generic_thread_name(t.name) and _started_by_the_library(t)}
    )
    assert not unnamed, f"threads without a meaningful name: {unnamed}"
    # Joining with one shared deadline waits only as long as the slowest thread needs.
    leftover = wait_for_threads_to_end([t for t in started if t not in before], timeout=5.0)
    assert not leftover, f"threads still alive after stop: {[t.name for t in leftover]}"
    after = set(threading.enumerate()) - before
    assert not after, f"threads alive after stop that were not there before: {sorted(t.name for t in after)}"
