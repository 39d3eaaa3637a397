#!/usr/bin/env python
"""Decode cost per message: actors' codec vs deepgram-sdk 7.16's socket-client parse path.

The SDK's socket clients parse every text frame with ``json.loads`` followed by
``deepgram.core.unchecked_base_model.construct_type`` on the API's response union
(deepgram-sdk 7.16); that is what is timed for the SDK. For actors it is ``Codec.decode`` (orjson
parse, then the hook of the frame's class from the default cattrs converter: validation and typed
objects). Each figure is the best of several rounds, ours and the SDK's interleaved; by default
timed in process CPU time, which a busy shared machine disturbs less than elapsed time
(``--clock wall`` for elapsed time).

Usage: ``.venv/bin/python scripts/bench_codec.py [--rounds 5] [--quick] [--clock cpu|wall]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from actors.protocol.apis import LISTEN_V1, LISTEN_V2, SPEAK_V1, ApiSpec, all_apis
from actors.protocol.base import Message


def results_frame(words: int) -> str:
    """A realistic Listen V1 ``Results`` with ``words`` words (7-8 decimal floats, as Deepgram sends)."""
    items = [
        {
            "word": f"word{i}",
            "start": round(0.31234567 * i + 0.0712345, 8),
            "end": round(0.31234567 * i + 0.2912345, 8),
            "confidence": 0.98765432,
            "punctuated_word": f"Word{i}.",
        }
        for i in range(words)
    ]
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 6.2469134,
            "start": 12.0400001,
            "is_final": True,
            "speech_final": True,
            "channel": {
                "alternatives": [
                    {
                        "transcript": " ".join(w["punctuated_word"] for w in items),  # type: ignore[misc]
                        "confidence": 0.99964225,
                        "words": items,
                    }
                ]
            },
            "metadata": {
                "request_id": "26dd8cc9-77e6-4db7-a0ae-3034c013cb64",
                "model_info": {"name": "2-general-nova", "version": "2024-01-18.26916", "arch": "nova-3"},
                "model_uuid": "c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c",
            },
            "from_finalize": False,
        },
        separators=(",", ":"),
    )


AGENT_EVENTS = {
    # Verbatim shapes from recorded/agent/websocket (function_call_conversation-ac8ed698).
    "agent ConversationText": '{"type":"ConversationText","role":"user",'
    '"content":"What\'s the weather like in New York?"}',
    "agent FunctionCallRequest": '{"type":"FunctionCallRequest","functions":[{'
    '"id":"call_jYXNwi9tuPqhgrtiIJxoqsaz","name":"get_weather",'
    '"arguments":"{\\"location\\":\\"New York\\"}","client_side":true}]}',
    "agent AgentStartedSpeaking": '{"type":"AgentStartedSpeaking","total_latency":2.5165708799999997,'
    '"tts_latency":0.37659356,"ttt_latency":2.139977173}',
    "agent AgentAudioDone": '{"type":"AgentAudioDone"}',
    "agent History": '{"type":"History","role":"user","content":"What\'s the weather like in New York?"}',
}

OTHER_EVENTS = {
    "listen.v2 TurnInfo (4 words)": (
        LISTEN_V2,
        '{"type":"TurnInfo","request_id":"ca47dc5f-6d0c-4b8e-9d7e-1a2b3c4d5e6f","sequence_id":7,"event":"Update",'
        '"turn_index":0,"audio_window_start":0.0,"audio_window_end":1.2,"transcript":"How are you today",'
        '"words":[{"word":"How","confidence":0.91},{"word":"are","confidence":0.95},{"word":"you","confidence":0.97},'
        '{"word":"today","confidence":0.88}],"end_of_turn_confidence":0.12}',
    ),
    "speak.v1 Flushed": (SPEAK_V1, '{"type":"Flushed","sequence_id":3}'),
}


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def best_per_call(fn: Callable[[], Any], calls: int, rounds: int, clock: Callable[[], float]) -> float:
    """Best-of-``rounds`` average microseconds per call over ``calls`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        for _ in range(calls):
            fn()
        best = min(best, (clock() - start) / calls)
    return best * 1e6


def sdk_unions() -> dict[str, Any]:
    """The SDK's per-API response unions (imported lazily: the SDK is a bench-only dependency)."""
    from deepgram.agent.v1.socket_client import V1SocketClientResponse as AgentResponse
    from deepgram.listen.v1.socket_client import V1SocketClientResponse as ListenV1Response
    from deepgram.listen.v2.socket_client import V2SocketClientResponse as ListenV2Response
    from deepgram.speak.v1.socket_client import V1SocketClientResponse as SpeakResponse

    return {"listen.v1": ListenV1Response, "listen.v2": ListenV2Response, "speak.v1": SpeakResponse,
            "agent.v1": AgentResponse}  # fmt: skip


def agent_api() -> ApiSpec | None:
    """AGENT_V1 when its package is present (hook: agent rows are skipped until then)."""
    return next((api for api in all_apis() if api.name == "agent.v1"), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer calls (CI smoke run)")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: process CPU time (default; steadier on a shared machine), wall: elapsed time",
    )
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    ours_calls, sdk_calls = (200, 30) if args.quick else (3000, 300)

    from deepgram.core.unchecked_base_model import construct_type

    unions = sdk_unions()
    cases: list[tuple[str, ApiSpec, str]] = [
        ("listen.v1 Results (20 words)", LISTEN_V1, results_frame(20)),
        ("listen.v1 Results (6 words)", LISTEN_V1, results_frame(6)),
    ]
    cases += [(name, api, frame) for name, (api, frame) in OTHER_EVENTS.items()]
    agent = agent_api()
    if agent is None:
        print("(agent rows skipped: actors.protocol.agent_v1 is not available yet)")
    else:
        cases += [(name, agent, frame) for name, frame in AGENT_EVENTS.items()]

    print(f"{'message':34} {'bytes':>6} {'actors µs':>10} {'sdk µs':>9} {'speed-up':>9}")
    for name, api, frame in cases:
        decoded = api.server_codec.decode(frame)
        if not isinstance(decoded, Message):
            raise SystemExit(f"{name}: actors did not decode the frame: {decoded!r}")
        union = unions[api.name]
        codec = api.server_codec
        ours = sdk = float("inf")
        for _ in range(args.rounds):  # interleaved, so a burst of load on the machine hits both
            ours = min(ours, best_per_call(lambda: codec.decode(frame), ours_calls, 1, clock))  # noqa: B023
            sdk = min(
                sdk,
                best_per_call(
                    lambda: construct_type(type_=union, object_=json.loads(frame)),  # noqa: B023
                    sdk_calls,
                    1,
                    clock,
                ),
            )
        print(f"{name:34} {len(frame):>6} {ours:>10.2f} {sdk:>9.1f} {sdk / ours:>8.1f}x")


if __name__ == "__main__":
    main()
