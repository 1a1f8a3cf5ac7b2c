"""Ctrl-C interrupts a blocked call promptly (the GIL is released, signals checked every
100 ms), in a real process.

A signal is sent only once the child is known to be inside its blocking call: its request has
reached the other end (polled with a deadline, never a sleep). For that, the child talks to an
engine that never answers (a ROUTER socket that records each request; it answers `hello`, with
which the child checks it is connected, unless the blocking call is `info()` itself).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest

import pyevents
from fake_engine import FakeEngine

CHILD = Path(__file__).resolve().parent / "child.py"


def poll_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class SilentEngine(FakeEngine):
    """An engine that answers `hello` (if told to) and nothing else, and records requests."""

    HELLO = {
        "protocol": 2, "versions": [1, 2], "engine": "silent", "name": "sensor",
        "id": "0", "subscriptions": [], "max_batch": 65536, "max_pending": 100000,
    }

    def __init__(self, answer_hello: bool) -> None:
        self.answer_hello = answer_hello
        FakeEngine.__init__(self, None)

    def answer(self, body: List[bytes]) -> Optional[List[bytes]]:
        if body == [b"plugin_command: hello"] and self.answer_hello:
            return [b"event-engine: hello protocol=2", json.dumps(self.HELLO).encode()]
        self.requests.append(body)
        return None


def run_until_ready(mode: str, port: int) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line == "ready\n", (line, child.stderr.read() if child.poll() is not None else "")
    return child


@pytest.mark.parametrize("mode", ["next", "next_batch", "iterate", "get_next_msg", "info"])
def test_ctrl_c_raises_keyboard_interrupt_within_a_second(mode):
    engine = SilentEngine(answer_hello=mode != "info")
    try:
        child = run_until_ready(mode, engine.port)
        # The child's blocking call has sent its request: it is in the call, and stays in (no
        # answer ever comes). A signal before would escape the try block and fail the checks.
        poll_until(lambda: len(engine.requests) > 0, f"the request of {mode}")
        assert child.poll() is None
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        engine.close()
    assert out == f"KeyboardInterrupt in {mode}\n", err
    assert child.returncode == 130
    assert elapsed < 1.0, elapsed


def test_a_signal_whose_handler_does_not_raise_does_not_break_the_call(engine):
    child = run_until_ready("survive_signal", engine.port("sensor"))
    # Into next(): its `recv` has reached the engine, which counts the child's session then.
    # (The observer only asks for stats, and closes without quitting the plugin.)
    observer = pyevents.Plugin(engine.port("sensor"))
    try:
        poll_until(lambda: observer.stats().sessions >= 1, "the child's recv")
    finally:
        observer.close()
    child.send_signal(signal.SIGUSR1)
    assert child.stdout.readline() == "handled\n"
    assert child.poll() is None  # still waiting

    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish(b"TypeAafter the signal")
    out, err = child.communicate(timeout=10)
    assert out == "next returned TypeAafter the signal\n", err
    assert child.returncode == 0
