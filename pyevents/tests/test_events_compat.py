"""The 0.2 API (`pyevents.events`): same signatures, same behaviour, minus its defects."""

from __future__ import annotations

import inspect
import time

import pytest
import zmq

import pyevents
from pyevents.events import get_next_msg, get_plugin_socket, publish_msg, send_quit_command


def feed(engine, events):
    with_feeder = pyevents.Plugin(engine.port("feeder"))
    assert with_feeder.publish_many(events) == len(events)
    return with_feeder


def test_signatures_are_those_of_0_2():
    assert list(inspect.signature(get_plugin_socket).parameters) == ["context", "port", "host"]
    assert inspect.signature(get_plugin_socket).parameters["host"].default == "engine"
    assert list(inspect.signature(get_next_msg).parameters) == ["socket", "timeout"]
    assert list(inspect.signature(publish_msg).parameters) == ["socket", "data"]
    assert list(inspect.signature(send_quit_command).parameters) == ["socket"]


def test_the_original_example_flow_read_10_publish_1_quit(engine, capfd):
    """0.2's example plugin: read 10 events, publish one, quit. Prints nothing."""
    feeder = feed(engine, [b"TypeAmessage %d" % i for i in range(10)])
    context = zmq.Context()
    socket = get_plugin_socket(context, engine.port("sensor"), host="127.0.0.1")
    received = [get_next_msg(socket) for _ in range(10)]
    assert received == [b"TypeAmessage %d" % i for i in range(10)]
    assert all(type(m) is bytes for m in received)
    assert publish_msg(socket, b"TypeBten events read") == "event-engine: msg published"
    send_quit_command(socket)
    assert socket.closed
    assert feeder.next(timeout=10).data == b"TypeBten events read"
    feeder.quit()
    assert engine.wait() == 0, engine.output()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    context.term()  # returns at once: the socket is not one of the context's


def test_the_context_may_be_none_and_the_port_a_string(engine):
    feeder = feed(engine, [b"TypeAx"])
    socket = get_plugin_socket(None, str(engine.port("sensor")), "127.0.0.1")
    assert get_next_msg(socket, 10_000) == b"TypeAx"
    send_quit_command(socket)
    feeder.quit()


def test_a_timeout_then_a_successful_call_on_the_same_socket(engine):
    socket = get_plugin_socket(None, engine.port("sensor"), host="127.0.0.1")
    started = time.monotonic()
    with pytest.raises(pyevents.Timeout) as info:
        get_next_msg(socket, timeout=100)
    waited = time.monotonic() - started
    assert 0.09 <= waited < 2.0
    assert isinstance(info.value, TimeoutError)
    assert (info.value.kind, info.value.code) == ("timeout", "EE_TIMEOUT")
    # In 0.2 the REQ socket was now stuck for ever; here it goes on.
    feeder = feed(engine, [b"TypeAafter the time-out"])
    assert get_next_msg(socket, timeout=10_000) == b"TypeAafter the time-out"
    assert publish_msg(socket, b"TypeBstill fine") == "event-engine: msg published"
    assert feeder.next(timeout=10).data == b"TypeBstill fine"
    send_quit_command(socket)
    feeder.quit()
    assert engine.wait() == 0


def test_rcvtimeo_and_except_zmq_error_again(engine):
    """What real 0.2 plugins do: set RCVTIMEO, call get_next_msg(socket), catch Again."""
    socket = get_plugin_socket(zmq.Context(), engine.port("sensor"), host="127.0.0.1")
    socket.RCVTIMEO = 100
    timeouts = 0
    for _ in range(3):
        try:
            get_next_msg(socket)
        except zmq.error.Again:
            timeouts += 1
    assert timeouts == 3
    assert socket.RCVTIMEO == 100  # not overwritten, unlike 0.2
    feeder = feed(engine, [b"TypeAone", b"TypeAtwo"])
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        try:
            got.append(get_next_msg(socket))
        except zmq.error.Again:
            continue
    assert got == [b"TypeAone", b"TypeAtwo"]
    # The socket-level way, with the same option through setsockopt.
    socket.setsockopt(zmq.RCVTIMEO, 50)
    assert socket.getsockopt(zmq.RCVTIMEO) == 50
    socket.send_string("plugin_command: next_msg")
    with pytest.raises(zmq.error.Again) as info:
        socket.recv()
    assert info.value.errno == zmq.EAGAIN
    # recv() again waits for the same request (a REQ socket would too), and gets the event.
    feeder.publish(b"TypeAthree")
    socket.RCVTIMEO = 10_000
    assert socket.recv() == b"TypeAthree"
    send_quit_command(socket)
    feeder.quit()


def test_an_explicit_timeout_wins_over_rcvtimeo(engine):
    socket = get_plugin_socket(None, engine.port("sensor"), host="127.0.0.1")
    socket.RCVTIMEO = 60_000
    started = time.monotonic()
    with pytest.raises(zmq.error.Again):
        get_next_msg(socket, timeout=50)
    assert time.monotonic() - started < 5
    assert socket.RCVTIMEO == 60_000
    with pytest.raises(zmq.error.Again):
        socket.send(b"plugin_command: next_msg")
        socket.recv(zmq.NOBLOCK)
    send_quit_command(socket)


def test_the_raw_socket_calls_of_a_req_socket(engine):
    socket = get_plugin_socket(None, engine.port("sensor"), host="127.0.0.1")
    feeder = feed(engine, [b"TypeAraw"])
    socket.send(b"plugin_command: next_msg")
    assert socket.recv() == b"TypeAraw"
    socket.send(b"TypeBpublished raw")
    assert socket.recv_string() == "event-engine: msg published"
    with pytest.raises(TypeError):
        socket.send("plugin_command: next_msg")
    with pytest.raises(pyevents.Error):
        socket.recv()  # no request
    with pytest.raises(pyevents.InvalidArgument):
        socket.send(b"plugin_command: hello")
    assert feeder.next(timeout=10).data == b"TypeBpublished raw"
    socket.send_string("plugin_command: quit")
    assert socket.recv() == b"event-engine: bye"
    with pytest.raises(pyevents.Closed):
        get_next_msg(socket, 10)
    feeder.quit()


def test_close_without_quit_and_a_new_socket_gets_the_next_event(engine):
    """0.2's semantics (protocol v1): an event the engine sent was delivered, whichever socket
    asks next; the next socket gets the next event."""
    feeder = feed(engine, [b"TypeAfirst", b"TypeAsecond"])
    with get_plugin_socket(None, engine.port("sensor"), host="127.0.0.1") as socket:
        assert get_next_msg(socket, 10_000) == b"TypeAfirst"
    assert socket.closed
    socket = get_plugin_socket(None, engine.port("sensor"), host="127.0.0.1")
    assert get_next_msg(socket, 10_000) == b"TypeAsecond"
    send_quit_command(socket)
    feeder.quit()


def test_get_next_msg_on_a_plain_pyzmq_socket_speaks_v1(engine, capfd):
    """A plugin that made its own REQ socket still gets 0.2's exchange (without the prints)."""
    feeder = feed(engine, [b"TypeAfor pyzmq"])
    ctx = zmq.Context()
    socket = ctx.socket(zmq.REQ)
    socket.connect(engine.endpoint("sensor"))
    assert get_next_msg(socket, 10_000) == b"TypeAfor pyzmq"
    assert publish_msg(socket, b"TypeBfrom pyzmq") == "event-engine: msg published"
    assert feeder.next(timeout=10).data == b"TypeBfrom pyzmq"
    send_quit_command(socket)
    assert socket.recv() == b"event-engine: bye"
    socket.close()
    ctx.term()
    feeder.quit()
    assert engine.wait() == 0
    assert capfd.readouterr() == ("", "")
