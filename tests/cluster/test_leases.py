"""The pure parts of the cluster package: the lease book, address parsing, operation ordering and
the worker's outbox (no Ray needed)."""

from __future__ import annotations

import threading

import pytest

from actors.cluster.connect import ClusterAddress, ClusterError, parse_address
from actors.cluster.leases import LeaseBook
from actors.cluster.wire import CallProgress
from actors.cluster.worker import _Outbox, _Sequencer


def test_leases_are_granted_up_to_the_limit_then_first_come_first_served() -> None:
    book = LeaseBook(2)
    assert book.request("w0", "a") and book.request("w1", "b")
    assert not book.request("w0", "c") and not book.request("w1", "d")
    assert book.request("w0", "a")  # asking again for a held lease: still held, nothing new
    assert book.stats().active == 2 and book.stats().waiting == 2
    assert book.release("b") == ["c"]  # the oldest request takes the freed slot
    assert book.release("nope") == []
    assert book.holds("c") and not book.holds("b")
    stats = book.stats()
    assert (stats.limit, stats.active, stats.waiting, stats.peak, stats.granted) == (2, 2, 1, 2, 3)


def test_a_holders_leases_and_requests_go_at_once() -> None:
    book = LeaseBook(1)
    book.request("dead", "x")
    book.request("dead", "y")
    book.request("live", "z")
    assert book.waiting_of("dead") == ["y"]
    assert book.release_holder("dead") == ["z"]
    assert book.holders() == {"live"} and not book.is_waiting("y")


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be >= 1"):
        LeaseBook(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auto", ClusterAddress("auto")),
        ("local", ClusterAddress("local")),
        ("10.0.0.5:6379", ClusterAddress("address", "10.0.0.5", 6379)),
        ("ray://head.internal:6380", ClusterAddress("address", "head.internal", 6380)),
        ("[::1]:6379", ClusterAddress("address", "::1", 6379)),
    ],
)
def test_cluster_addresses_parse(text: str, expected: ClusterAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "head", "head:", ":6379", "head:http", "head:70000"])
def test_bad_cluster_addresses_name_what_is_expected(text: str) -> None:
    with pytest.raises(ClusterError, match="expected auto, local or HOST:PORT"):
        parse_address(text)


def test_operations_run_in_the_order_they_were_numbered() -> None:
    sequencer = _Sequencer()
    done: list[int] = []
    for seq in (2, 0, 3, 1, 5):
        sequencer.run(seq, lambda seq=seq: done.append(seq))
    assert done == [0, 1, 2, 3]  # 5 waits for 4


def test_a_newer_reader_of_the_outbox_ends_the_older_one() -> None:
    outbox = _Outbox()
    first = outbox.new_reader()
    outbox.put(CallProgress("a", sent=1.0))
    assert outbox.take(first) == [CallProgress("a", sent=1.0)]
    results: list[object] = []
    waiting = threading.Thread(target=lambda: results.append(outbox.take(first)), name="test-old-reader")
    waiting.start()
    second = outbox.new_reader()
    waiting.join(5)
    assert results == [None]  # superseded: the old generator ends, the new one gets what follows
    outbox.put(CallProgress("b"))
    assert outbox.take(second) == [CallProgress("b")]
    outbox.put(CallProgress("c"))
    outbox.close()
    assert outbox.take(second) == [CallProgress("c")]  # what came before the close still goes out
    assert outbox.take(second) is None


def test_a_trust_setting_here_is_named_when_the_workers_make_the_tls_connections() -> None:
    from actors.cli.clusterrun import trust_note
    from actors.cli.target import DEEPGRAM_AGENT_URL, DEEPGRAM_URL, Target

    deepgram = Target("deepgram", DEEPGRAM_URL, DEEPGRAM_AGENT_URL, "k")
    note = trust_note(deepgram, {"SSL_CERT_FILE": "/etc/corp-ca.pem"})
    assert note is not None and "SSL_CERT_FILE is set here" in note and "ray start" in note
    assert trust_note(deepgram, {}) is None
    assert (
        trust_note(Target("url", "ws://10.0.0.2:8080", "ws://10.0.0.2:8080", "k"), {"SSL_CERT_DIR": "/x"})
        is None
    )
