"""At-least-once delivery after a crash (SIGKILL), and a raw v1 pyzmq client beside the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import zmq

import pyevents

CHILD = Path(__file__).resolve().parent / "child.py"


def start_child(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_ready(child: subprocess.Popen) -> list:
    lines = []
    while True:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        if line == "ready\n":
            return lines
        lines.append(line.strip())


def test_events_received_but_not_processed_come_again_after_sigkill(engine):
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish_many(b"TypeA%d" % i for i in range(1, 21))
    child = start_child("consume", str(engine.port("sensor")), "5")
    assert read_until_ready(child) == [f"got {i} TypeA{i}" for i in range(1, 6)]
    child.kill()
    child.communicate()
    # Events 1-4 were acknowledged by the requests that followed them; event 5 was received and
    # not acknowledged: it comes again, marked, with its number, and then the rest.
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        events = []
        while len(events) < 16:
            batch = plugin.next_batch(100, timeout=10)
            assert batch, f"only {len(events)} events came"
            events += batch
        assert (events[0].seq, events[0].data, events[0].redelivered) == (5, b"TypeA5", True)
        assert [e.data for e in events] == [b"TypeA%d" % i for i in range(5, 21)]
        assert [e.seq for e in events] == list(range(5, 21))
        assert not any(e.redelivered for e in events[1:])
        stats = plugin.stats()
        assert (stats.delivered, stats.redelivered, stats.sessions) == (20, 1, 2)


def test_a_whole_batch_comes_again_after_sigkill(engine):
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish_many(b"TypeA%d" % i for i in range(1, 11))
    child = start_child("consume_batch", str(engine.port("sensor")), "10")
    lines = read_until_ready(child)
    assert lines[0].startswith("got ") and lines[0].endswith(" from 1")
    received = int(lines[0].split()[1])
    child.kill()
    child.communicate()
    with pyevents.Plugin(engine.port("sensor")) as plugin:
        events = []
        while len(events) < 10:
            events += plugin.next_batch(100, timeout=10)
        assert [e.data for e in events] == [b"TypeA%d" % i for i in range(1, 11)]
        assert [e.redelivered for e in events] == [True] * received + [False] * (10 - received)


def test_a_raw_v1_pyzmq_client_beside_the_sdk(start_engine):
    """0.2's wire bytes on one plugin, pyevents on another, one engine; then every plugin quits
    and the engine exits 0."""
    engine = start_engine(
        {"old": ["TypeA"], "new": ["TypeA", "FromV1"], "feeder": ["FromNew"]}
    )
    n = 50
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish_many(b"TypeA%d" % i for i in range(n))
        ctx = zmq.Context()
        old = ctx.socket(zmq.REQ)
        old.setsockopt(zmq.RCVTIMEO, 10_000)
        old.connect(engine.endpoint("old"))
        new = pyevents.Plugin(engine.port("new"))
        for i in range(n):
            old.send(b"plugin_command: next_msg")
            assert old.recv() == b"TypeA%d" % i
            old.send(b"FromV1 %d" % i)
            assert old.recv() == b"event-engine: msg published"
        got = []
        while len(got) < 2 * n:
            batch = new.next_batch(1000, timeout=10)
            assert batch
            got += [e.data for e in batch]
        # Each publisher's events arrive in order; the two streams interleave.
        assert [d for d in got if d.startswith(b"TypeA")] == [b"TypeA%d" % i for i in range(n)]
        assert [d for d in got if d.startswith(b"FromV1")] == [b"FromV1 %d" % i for i in range(n)]
        new.publish(b"FromNew done")
        assert feeder.next(timeout=10).data == b"FromNew done"
        old.send(b"plugin_command: quit")
        assert old.recv() == b"event-engine: bye"
        old.close()
        ctx.term()
        new.quit()
    assert engine.wait() == 0, engine.output()
