"""Flux across reconnects: sequence_id keeps increasing and turn_index keeps counting."""

from __future__ import annotations

import itertools
import queue
from collections.abc import Callable
from typing import Any

from actors.protocol.listen_v1.replay import LISTEN_V1_REPLAY
from actors.protocol.listen_v2.messages import ListenV2Connected, ListenV2TurnInfo
from actors.protocol.listen_v2.replay import LISTEN_V2_REPLAY
from actors.runtime.replay import TimelineRebaser
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.test_supervisor import RATE, drain, run_with_restarts
from tests.runtime.test_unrequested_close import flux_config

WORDS = ["one", "two", "three", "four", "five", "six"]


def test_sequence_ids_and_turn_indexes_continue_across_two_reconnects(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="seq", after_audio_seconds=1.5, times=1))
    server.faults.add(FaultRule(kind="close", match_tag="seq", code=1011, after_audio_seconds=1.0, times=1))
    q: queue.Queue[Any] = queue.Queue()
    with Supervisor(max_connections=2, stall_timeout=2.0) as sup:
        result = run_with_restarts(
            sup, flux_config(server, "seq"), synthesize_words(WORDS, RATE, gap_ms=700), q, timeout=15
        )
    assert result.ok, result.error
    assert result.metrics.reconnects == 2
    flux = [e for e in drain(q) if isinstance(getattr(e, "sequence_id", None), int)]
    ids = [e.sequence_id for e in flux]
    assert ids[0] == 0 and isinstance(flux[0], ListenV2Connected)
    assert all(b > a for a, b in itertools.pairwise(ids)), ids
    ends = [e for e in flux if isinstance(e, ListenV2TurnInfo) and e.event == "EndOfTurn"]
    assert [t.transcript for t in ends] == WORDS
    assert [t.turn_index for t in ends] == list(range(len(WORDS)))
    turn_of_event = [(e.turn_index, e.event) for e in flux if isinstance(e, ListenV2TurnInfo)]
    starts = [index for index, event in turn_of_event if event == "StartOfTurn"]
    assert starts == sorted(starts) and starts[-1] == len(WORDS) - 1


def _update(sequence_id: int) -> ListenV2TurnInfo:
    return ListenV2TurnInfo(
        request_id="r1",
        sequence_id=sequence_id,
        event="Update",
        turn_index=0,
        audio_window_start=0.0,
        audio_window_end=1.0,
        transcript="",
        words=[],
        end_of_turn_confidence=0.0,
    )


def test_rebaser_continues_sequence_ids_after_the_last_one_seen() -> None:
    rebaser = TimelineRebaser(LISTEN_V2_REPLAY)
    rebaser.start_connection(0.0)
    assert rebaser.rebase(ListenV2Connected(request_id="r1", sequence_id=0)).sequence_id == 0
    assert rebaser.rebase(_update(7)).sequence_id == 7
    rebaser.start_connection(2.0)  # the next connection counts from 0 again
    again = rebaser.rebase(_update(1))
    assert again.sequence_id == 8
    assert again.audio_window_end == 3.0
    plain = TimelineRebaser(LISTEN_V1_REPLAY)  # Listen V1: sequence ids are left alone
    plain.start_connection(5.0)
    assert plain.rebase(_update(1)).sequence_id == 1
