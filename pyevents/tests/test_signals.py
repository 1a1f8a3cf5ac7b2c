"""Ctrl-C interrupts a blocked call promptly (the GIL is released, signals checked every
100 ms), in a real process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parent / "child.py"


def free_port() -> int:
    """A port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
def test_ctrl_c_raises_keyboard_interrupt_within_a_second(engine, mode):
    port = free_port() if mode == "info" else engine.port("sensor")
    child = run_until_ready(mode, port)
    # The child makes its blocking call right after printing "ready"; no event ever comes, so
    # once it is in, it stays in. Give it a moment to get there: if it were not yet in the call,
    # the KeyboardInterrupt would escape the try block and the output check below would fail.
    time.sleep(0.3)
    assert child.poll() is None
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=10)
    elapsed = time.monotonic() - sent
    assert out == f"KeyboardInterrupt in {mode}\n", err
    assert child.returncode == 130
    assert elapsed < 1.0, elapsed


def test_a_signal_whose_handler_does_not_raise_does_not_break_the_call(engine):
    child = run_until_ready("survive_signal", engine.port("sensor"))
    time.sleep(0.3)  # into next(), as above
    child.send_signal(signal.SIGUSR1)
    assert child.stdout.readline() == "handled\n"
    assert child.poll() is None  # still waiting
    import pyevents

    with pyevents.Plugin(engine.port("feeder")) as feeder:
        feeder.publish(b"TypeAafter the signal")
    out, err = child.communicate(timeout=10)
    assert out == "next returned TypeAafter the signal\n", err
    assert child.returncode == 0
