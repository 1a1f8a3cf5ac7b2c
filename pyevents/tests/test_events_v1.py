"""``pyevents.events`` speaks exactly 0.2's v1 bytes, so it works against an event-engine 0.2
engine and ours; and plugins that open a new socket for every receive, with raw pyzmq or with
``pyevents.events``, get every event once, in order (issue 10)."""

from __future__ import annotations

import queue
import threading
from typing import List

import pytest
import zmq

import pyevents
import v1_client
from pyevents.events import get_next_msg, get_plugin_socket, publish_msg, send_quit_command

NEXT = b"plugin_command: next_msg"
QUIT = b"plugin_command: quit"


class Engine02:
    """Plays an event-engine 0.2 engine's external-plugin thread: a REP socket that answers
    ``next_msg`` with the next queued event (waiting as long as it takes, as 0.2 blocked on its
    SUB socket), ends without a reply on ``quit``, and publishes anything else, including every
    request it does not know, replying ``event-engine: msg published``."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.events: "queue.Queue[bytes]" = queue.Queue()
        self.requests: List[List[bytes]] = []
        self.published: List[bytes] = []
        self.quit = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self.stop.is_set():
            if not poller.poll(20):
                continue
            frames = self.sock.recv_multipart()
            self.requests.append(frames)
            msg = frames[0]
            if msg == QUIT:
                self.quit.set()
                return
            if msg == NEXT:
                while True:
                    try:
                        event = self.events.get(timeout=0.02)
                        break
                    except queue.Empty:
                        if self.stop.is_set():
                            return
                self.sock.send(event)
            else:
                self.published.append(msg)
                self.sock.send(b"event-engine: msg published")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()
        self.ctx.term()


@pytest.fixture
def engine02():
    e = Engine02()
    yield e
    e.close()


def test_against_a_02_engine_only_v1_bytes_go_out(engine02):
    for i in range(3):
        engine02.events.put(b"TypeAimage %d" % i)
    socket = get_plugin_socket(None, engine02.port, host="127.0.0.1")
    assert [get_next_msg(socket) for _ in range(3)] == [b"TypeAimage %d" % i for i in range(3)]
    assert publish_msg(socket, b"TypeBscore") == "event-engine: msg published"
    send_quit_command(socket)
    assert engine02.quit.wait(5)
    # No hello, no recv: exactly what 0.2's events.py sends, one frame each.
    assert engine02.requests == [[NEXT]] * 3 + [[b"TypeBscore"], [QUIT]]
    assert engine02.published == [b"TypeBscore"]


def test_against_a_02_engine_a_timed_out_receive_loses_no_event(engine02):
    socket = get_plugin_socket(None, engine02.port, host="127.0.0.1")
    socket.RCVTIMEO = 100
    for _ in range(3):
        with pytest.raises(zmq.error.Again):  # pyevents.Timeout, as 0.2 plugins catch it
            get_next_msg(socket)
    engine02.events.put(b"TypeAlate")
    # The request that timed out is still open: its reply is this event, not a lost one.
    assert get_next_msg(socket, 10_000) == b"TypeAlate"
    assert engine02.requests == [[NEXT]]
    engine02.events.put(b"TypeAnext")
    assert get_next_msg(socket, 10_000) == b"TypeAnext"
    assert engine02.requests == [[NEXT], [NEXT]]


def test_the_v2_api_against_a_02_engine_fails_with_a_clear_error(engine02):
    plugin = pyevents.Plugin(engine02.port)
    with pytest.raises(pyevents.UnexpectedReply) as info:
        plugin.next(timeout=1)
    assert "speaks only protocol v1" in str(info.value)
    v1 = pyevents.Plugin(engine02.port, protocol=1)
    assert v1.protocol == 1
    with pytest.raises(pyevents.InvalidArgument, match="needs protocol v2"):
        v1.info()
    with pytest.raises(pyevents.InvalidArgument, match="protocol must be 1 or 2"):
        pyevents.Plugin(engine02.port, protocol=3)


def feed(engine, events):
    feeder = pyevents.Plugin(engine.port("feeder"))
    assert feeder.publish_many(events) == len(events)
    return feeder


def test_a_new_socket_per_receive_gets_every_event_once_in_order(start_engine):
    engine = start_engine({"raw": ["TypeA"], "sdk": ["TypeA"], "feeder": ["TypeB"]})
    expected = [b"TypeAmessage %d" % i for i in range(10)]
    feeder = feed(engine, expected)
    # 0.2's pattern on raw pyzmq: a new context and REQ socket for every receive, never closed.
    assert v1_client.receive_with_a_socket_per_event(engine.port("raw"), 10) == expected
    # The same pattern on pyevents.events.
    got = [
        get_next_msg(get_plugin_socket(None, engine.port("sdk"), host="127.0.0.1"), 10_000)
        for _ in range(10)
    ]
    assert got == expected
    for name in ("raw", "sdk"):
        observer = pyevents.Plugin(engine.port(name))  # closed, not quit: stats only
        stats = observer.stats()
        observer.close()
        assert (stats.delivered, stats.redelivered, stats.pending) == (10, 0, 0), name
        # Nothing is left to hand out again.
        with pytest.raises(pyevents.Timeout):
            get_next_msg(get_plugin_socket(None, engine.port(name), host="127.0.0.1"), 200)
    engine.quit("raw", "sdk")
    feeder.quit()
    assert engine.wait() == 0, engine.output()


def test_after_a_time_out_publishing_works_and_the_open_request_gets_the_event(engine):
    socket = get_plugin_socket(None, engine.port("sensor"), host="127.0.0.1")
    with pytest.raises(pyevents.Timeout):
        get_next_msg(socket, 100)
    feeder = pyevents.Plugin(engine.port("feeder"))
    # The next_msg is still open on the socket: the publish goes through a second connection.
    assert publish_msg(socket, b"TypeBmeanwhile") == "event-engine: msg published"
    assert feeder.next(timeout=10).data == b"TypeBmeanwhile"
    feeder.publish(b"TypeAafter")
    assert get_next_msg(socket, 10_000) == b"TypeAafter"
    observer = pyevents.Plugin(engine.port("sensor"))
    assert observer.stats().delivered == 1
    observer.close()
    send_quit_command(socket)
    feeder.quit()
    assert engine.wait() == 0, engine.output()
