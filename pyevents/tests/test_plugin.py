"""The modern API (`pyevents.Plugin`) against a real engine."""

from __future__ import annotations

import array
import threading
import time

import pytest

import pyevents


def test_info_and_stats(engine):
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        info = plugin.info()
        assert (info.name, info.protocol, info.subscriptions) == ("sensor", 2, [b"TypeA"])
        assert 2 in info.versions and info.max_batch == pyevents.MAX_BATCH
        assert info.engine.startswith("event-engine ")
        stats = plugin.stats()
        assert stats.name == "sensor"
        assert stats.as_dict()["delivered"] == 0
    assert plugin.closed


def test_batch_receive_and_publish(engine):
    n = 2000
    feeder = pyevents.Plugin(engine.port("feeder"))
    assert feeder.publish_many(b"TypeA%d" % i for i in range(n)) == n
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        received = []
        while len(received) < n:
            batch = plugin.next_batch(300, timeout=10)
            assert 0 < len(batch) <= 300
            received += batch
            assert plugin.publish_many(b"TypeB" + e.data[5:] for e in batch) == len(batch)
        assert [e.data for e in received] == [b"TypeA%d" % i for i in range(n)]
        assert [e.seq for e in received] == list(range(1, n + 1))
        assert not any(e.redelivered for e in received)
        assert plugin.last_seq == n
        assert plugin.ack() == 0
        stats = plugin.stats()
        assert (stats.delivered, stats.published, stats.pending) == (n, n, 0)
    replies = []
    while len(replies) < n:
        replies += feeder.next_batch(1000, timeout=10)
    assert [e.data for e in replies] == [b"TypeB%d" % i for i in range(n)]
    feeder.quit()
    assert engine.wait() == 0, engine.output()


def test_publish_many_splits_past_the_largest_batch(engine):
    n = pyevents.MAX_BATCH + 10
    received = []

    def consume():
        # The bus makes publishers wait while a subscriber's queue is full: read concurrently.
        with pyevents.Plugin(engine.port("feeder")) as feeder:
            while len(received) < n:
                batch = feeder.next_batch(pyevents.MAX_BATCH, timeout=30)
                if not batch:
                    return
                received.extend(e.data for e in batch)

    t = threading.Thread(target=consume)
    t.start()
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        assert plugin.publish_many(b"TypeB%d" % i for i in range(n)) == n
        assert plugin.publish_many([]) == 0
    t.join()
    assert len(received) == n
    assert received[0] == b"TypeB0" and received[-1] == b"TypeB%d" % (n - 1)


def test_next_times_out_and_next_batch_returns_empty(engine):
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        started = time.monotonic()
        with pytest.raises(pyevents.Timeout):
            plugin.next(timeout=0.1)
        assert 0.09 <= time.monotonic() - started < 2
        assert plugin.next_batch(10, timeout=0.05) == []
        assert plugin.next_batch(10, timeout=0) == []
        with pyevents.Plugin(engine.port("feeder")) as feeder:
            feeder.publish(b"TypeAlate")
        event = plugin.next(timeout=10)
        assert (event.seq, event.data, bytes(event), len(event)) == (1, b"TypeAlate", b"TypeAlate", 9)


def test_iteration_and_cancel_from_another_thread(engine):
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish_many(b"TypeA%d" % i for i in range(5))
    plugin = pyevents.Plugin(engine.port("sensor"))
    seen = []
    for event in plugin:
        seen.append(event.data)
        if len(seen) == 5:
            break
    assert seen == [b"TypeA%d" % i for i in range(5)]
    # A thread blocked iterating ends its loop when another thread cancels.
    ended = threading.Event()
    more = []

    def consume():
        for event in plugin:
            more.append(event)
        ended.set()

    t = threading.Thread(target=consume)
    t.start()
    assert not ended.wait(0.3)  # blocked: no events
    cancelled_at = time.monotonic()
    plugin.cancel()
    assert ended.wait(5)
    assert time.monotonic() - cancelled_at < 1.0
    t.join()
    assert more == []
    with pytest.raises(pyevents.Interrupted) as info:
        plugin.next(timeout=5)
    assert info.value.kind == "interrupted" and info.value.code_number == 4
    plugin.reset_cancel()
    with pytest.raises(pyevents.Timeout):
        plugin.next(timeout=0.01)
    plugin.quit()
    assert list(plugin) == []  # a quit plugin iterates nothing
    with pytest.raises(pyevents.Closed) as closed:
        plugin.next(timeout=0)
    assert (closed.value.kind, closed.value.code) == ("closed", "EE_CLOSED")
    plugin.quit()  # twice is harmless


def test_blocking_calls_release_the_gil(engine):
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    with pyevents.Plugin(engine.port("sensor")) as plugin:
        t = threading.Thread(target=spin)
        t.start()
        try:
            before = counter[0]
            with pytest.raises(pyevents.Timeout):
                plugin.next(timeout=0.5)
            during = counter[0] - before
        finally:
            stop.set()
            t.join()
    # Holding the GIL for 0.5 s would leave the other thread a switch interval (5 ms) at most.
    assert during > 10_000, during


def test_two_threads_share_a_plugin(engine):
    """Calls from several threads take turns; a publish waits for a receive to return."""
    with pyevents.Plugin(engine.port("sensor")) as plugin, pyevents.Plugin(engine.port("feeder")) as feeder:
        got = []
        feeder.publish(b"TypeAfor the thread")
        t = threading.Thread(target=lambda: got.append(plugin.next(timeout=10)))
        t.start()
        # Whichever thread goes first, the other waits for its turn (without the GIL).
        plugin.publish(b"TypeBfrom the main thread")
        t.join()
        assert got[0].data == b"TypeAfor the thread"
        assert feeder.next(timeout=10).data == b"TypeBfrom the main thread"


def test_bytes_like_events_and_bad_arguments(engine):
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        plugin.publish(bytearray(b"TypeBbytearray"))
        plugin.publish(memoryview(b"TypeBmemoryview"))
        plugin.publish(array.array("B", b"TypeBarray"))
        with pytest.raises(TypeError):
            plugin.publish("TypeBstr")
        with pytest.raises(TypeError):
            plugin.publish(5)
        with pytest.raises(TypeError):
            plugin.publish_many([b"TypeBok", None])
        with pytest.raises(pyevents.InvalidArgument) as empty:
            plugin.publish(b"")
        assert isinstance(empty.value, ValueError) and empty.value.code_number == 1
        with pytest.raises(pyevents.InvalidArgument):
            plugin.publish_many([b"TypeBx", b""])
        for bad in (0, -1, pyevents.MAX_BATCH + 1):
            with pytest.raises(pyevents.InvalidArgument):
                plugin.next_batch(bad, timeout=0)
        for bad in (-0.5, float("nan")):
            with pytest.raises(pyevents.InvalidArgument):
                plugin.next(timeout=bad)
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        got = [e.data for e in feeder.next_batch(10, timeout=10)]
        while len(got) < 3:
            got += [e.data for e in feeder.next_batch(10, timeout=10)]
        assert got == [b"TypeBbytearray", b"TypeBmemoryview", b"TypeBarray"]


def test_constructor_arguments(monkeypatch):
    with pytest.raises(pyevents.InvalidArgument):
        pyevents.Plugin(70000)
    with pytest.raises(pyevents.InvalidArgument):
        pyevents.Plugin(6000, endpoint="tcp://127.0.0.1:6000")
    with pytest.raises(pyevents.InvalidArgument):
        pyevents.Plugin(6000, reply_timeout=0)
    with pytest.raises(pyevents.InvalidArgument):
        pyevents.Plugin(endpoint="no-scheme:6000")
    monkeypatch.delenv("EE_PLUGIN_ENDPOINT", raising=False)
    monkeypatch.delenv("EE_PLUGIN_PORT", raising=False)
    with pytest.raises(pyevents.InvalidArgument, match="EE_PLUGIN_PORT"):
        pyevents.Plugin()
    monkeypatch.setenv("EE_PLUGIN_PORT", "6123")
    assert pyevents.Plugin().endpoint == "tcp://127.0.0.1:6123"
    assert pyevents.Plugin(host="::1").endpoint == "tcp://[::1]:6123"
    monkeypatch.setenv("EE_PLUGIN_ENDPOINT", "tcp://10.1.2.3:7000")
    assert pyevents.Plugin().endpoint == "tcp://10.1.2.3:7000"
    assert repr(pyevents.Plugin(1)) == "Plugin(endpoint='tcp://127.0.0.1:1', closed=False)"


def test_close_without_quit_hands_events_to_the_next_connection(engine):
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish_many([b"TypeAone", b"TypeAtwo", b"TypeAthree"])
    first = pyevents.Plugin(engine.port("sensor"))
    assert [e.data for e in first.next_batch(2, timeout=10)] == [b"TypeAone", b"TypeAtwo"]
    first.close()
    assert first.closed
    with pytest.raises(pyevents.Closed):
        first.next(timeout=0)
    with pyevents.Plugin(engine.port("sensor")) as second:
        events = []
        while len(events) < 3:
            events += second.next_batch(10, timeout=10)
        assert [(e.seq, e.data, e.redelivered) for e in events] == [
            (1, b"TypeAone", True),
            (2, b"TypeAtwo", True),
            (3, b"TypeAthree", False),
        ]
