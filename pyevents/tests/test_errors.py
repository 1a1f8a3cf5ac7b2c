"""Every client error reaches Python as the right exception, with stable codes.

The engine does not misbehave on demand, so these tests talk to a fake engine: a pyzmq ROUTER
socket that answers every request with a scripted reply (or not at all).
"""

from __future__ import annotations

import time
from typing import List, Optional

import pytest
import zmq

from fake_engine import FakeEngine

import pyevents
from pyevents import errors


@pytest.fixture
def fake():
    made: List[FakeEngine] = []

    def make(reply: Optional[List[bytes]]) -> FakeEngine:
        f = FakeEngine(reply)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def test_the_hierarchy_and_the_codes():
    kinds = {
        errors.InvalidArgument: ("invalid_argument", 1),
        errors.Disconnected: ("disconnected", 2),
        errors.ProtocolError: ("protocol", 3),
        errors.Interrupted: ("interrupted", 4),
        errors.Closed: ("closed", 5),
        errors.UnexpectedReply: ("unexpected_reply", 6),
        errors.TransportError: ("zmq", 7),
        errors.Timeout: ("timeout", None),
    }
    for cls, (kind, number) in kinds.items():
        assert issubclass(cls, pyevents.Error)
        assert (cls.kind, cls.code, cls.code_number) == (kind, f"EE_{kind.upper()}", number)
        assert getattr(pyevents, cls.__name__) is cls
    assert issubclass(pyevents.Timeout, TimeoutError)
    assert issubclass(pyevents.Timeout, zmq.error.Again)  # pyzmq is installed here
    assert issubclass(pyevents.Disconnected, ConnectionError)
    assert issubclass(pyevents.InvalidArgument, ValueError)
    t = pyevents.Timeout()
    assert str(t) == "no event came in time" and t.errno == zmq.EAGAIN


def test_every_kind_of_the_rust_table_has_its_class_and_no_other():
    """The kinds come from the Rust client (`_native.ERROR_KINDS`); errors.py gives each its
    class: a kind added in Rust without a class here fails this test (and the import)."""
    from pyevents import _native

    table = {name: (number, kind, code) for number, kind, code, name in _native.ERROR_KINDS}
    classes = {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.Error) and cls not in (errors.Error, errors.Timeout)
    }
    assert set(classes) == set(table)
    for name, cls in classes.items():
        assert (cls.code_number, cls.kind, cls.code) == table[name]
    assert errors.KINDS == classes
    assert sorted(n for n, *_ in _native.ERROR_KINDS) == list(range(1, len(table) + 1))


def test_a_refused_request_is_a_protocol_error_with_its_wire_code(fake):
    engine = fake([b"event-engine: error pending_full: 100000 events are waiting for an ack"])
    plugin = pyevents.Plugin(engine.port)
    with pytest.raises(pyevents.ProtocolError) as info:
        plugin.next(timeout=1)
    e = info.value
    assert (e.kind, e.code, e.code_number) == ("protocol", "EE_PROTOCOL", 3)
    assert (e.wire_code, e.wire_code_number) == ("pending_full", 8)
    assert "100000 events are waiting" in str(e)
    assert engine.requests[0][0].startswith(b"plugin_command: recv max=1 timeout_ms=")


def test_a_reply_off_the_protocol_is_unexpected_reply(fake):
    # An engine that speaks only v1 publishes what it does not know.
    engine = fake([b"event-engine: msg published"])
    with pytest.raises(pyevents.UnexpectedReply, match="only protocol v1") as info:
        pyevents.Plugin(engine.port).info()
    assert (info.value.kind, info.value.code) == ("unexpected_reply", "EE_UNEXPECTED_REPLY")


def test_an_engine_that_does_not_answer_is_disconnected(fake):
    engine = fake(None)
    plugin = pyevents.Plugin(engine.port, reply_timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(pyevents.Disconnected) as info:
        plugin.stats()
    assert time.monotonic() - started < 5
    assert info.value.kind == "disconnected" and isinstance(info.value, ConnectionError)
    assert str(engine.port) in str(info.value)
    assert len(engine.requests) == 2  # sent again once, on a fresh connection


def test_a_bad_endpoint_is_a_transport_error():
    with pytest.raises(pyevents.TransportError) as info:
        pyevents.Plugin(endpoint="tcp://127.0.0.1:notaport")
    assert info.value.kind == "zmq" and info.value.code_number == 7


def test_exceptions_pass_through_the_drop_in_api(fake):
    from pyevents.events import get_next_msg, get_plugin_socket

    engine = fake([b"event-engine: error bad_command: nope"])
    socket = get_plugin_socket(None, engine.port, host="127.0.0.1")
    with pytest.raises(pyevents.ProtocolError) as info:
        get_next_msg(socket, 100)
    assert (info.value.wire_code, info.value.wire_code_number) == ("bad_command", 4)
