"""What the Rust client logs reaches Python's `logging`, under the logger `pyevents`.

The client warns when the engine does not know the event it acknowledges (the engine restarted
and numbers its events from 1 again), and logs at debug level each time it reconnects after a
request got no reply. A fake engine plays both on demand.
"""

from __future__ import annotations

import logging
import sys
from typing import Iterator, List, Optional

import pytest

from fake_engine import FakeEngine

import pyevents


class Recorder(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        logging.Handler.__init__(self, logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A handler on the `pyevents` logger, whose level is left as it is (not set)."""
    logger = logging.getLogger("pyevents")
    handler = Recorder()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


class RestartedEngine(FakeEngine):
    """Delivers event 1, then (as an engine that restarted) refuses the acknowledgement of 1 with
    `bad_sequence`, then delivers its own event 1."""

    def __init__(self) -> None:
        self.recvs = 0
        FakeEngine.__init__(self, None)

    def answer(self, body: List[bytes]) -> Optional[List[bytes]]:
        self.requests.append(body)
        if not body[0].startswith(b"plugin_command: recv"):
            return None
        self.recvs += 1
        if self.recvs == 1:
            return [b"event-engine: events seq=1 count=1 redelivered=0", b"TypeAbefore"]
        if b"ack=1" in body[0]:
            return [b"event-engine: error bad_sequence: ack=1 but only 0 delivered"]
        return [b"event-engine: events seq=1 count=1 redelivered=0", b"TypeAafter"]


def test_a_client_warning_reaches_the_pyevents_logger(recorder):
    # Python's defaults: nothing configured, the effective level is WARNING.
    assert logging.getLogger("pyevents").getEffectiveLevel() == logging.WARNING
    engine = RestartedEngine()
    try:
        plugin = pyevents.Plugin(engine.port, reply_timeout=5)
        assert plugin.next(timeout=5).data == b"TypeAbefore"
        after = plugin.next(timeout=5)
        assert (after.seq, after.data) == (1, b"TypeAafter")
        plugin.close()
    finally:
        engine.close()
    warnings = [r for r in recorder.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in recorder.records]
    record = warnings[0]
    assert record.name == "pyevents.client"
    assert record.levelname == "WARNING"
    message = record.getMessage()
    assert f"tcp://127.0.0.1:{engine.port}" in message and "does not know event 1" in message
    assert record.pathname.endswith("client.rs")


def silent_request(port: int) -> None:
    """A receive against an engine that never answers: one attempt, then Disconnected (the
    client logs its reconnection at debug level)."""
    plugin = pyevents.Plugin(port, reply_timeout=0.05, retries=0)
    with pytest.raises(pyevents.Disconnected):
        plugin.next(timeout=0)
    plugin.close()


def test_debug_records_are_not_emitted_at_the_default_level(recorder):
    engine = FakeEngine(None)
    try:
        silent_request(engine.port)
        assert recorder.records == []
        # The same at DEBUG (set at run time, after the first record: levels are not cached).
        logging.getLogger("pyevents").setLevel(logging.DEBUG)
        silent_request(engine.port)
    finally:
        engine.close()
    debug = [r for r in recorder.records if r.levelno == logging.DEBUG]
    assert [r.name for r in debug] == ["pyevents.client"], [r.getMessage() for r in recorder.records]
    assert "no reply from" in debug[0].getMessage()
    assert "reconnecting" in debug[0].getMessage()


def test_a_failing_handler_does_not_break_the_call(recorder, monkeypatch):
    """An exception raised by a handler is Python's to report (unraisable), not the call's."""

    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("broken handler")

    unraisable: List[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))
    logger = logging.getLogger("pyevents")
    broken = Broken()
    logger.addHandler(broken)
    engine = RestartedEngine()
    try:
        plugin = pyevents.Plugin(engine.port)
        assert plugin.next(timeout=5).data == b"TypeAbefore"
        assert plugin.next(timeout=5).data == b"TypeAafter"
        plugin.close()
    finally:
        logger.removeHandler(broken)
        engine.close()
    assert [r.levelno for r in recorder.records] == [logging.WARNING]
    assert [str(e) for e in unraisable] == ["broken handler"]
