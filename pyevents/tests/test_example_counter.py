"""examples/python/counter.py, the cross-language `counter` example, against a real engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pyevents
from engine import REPO, engine_bin

EXAMPLE = REPO / "examples" / "python"


def run_counter(port_args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_")}
    env.update(env_extra)
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE / "counter.py"), *port_args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("port_from", ["env", "argv"])
def test_the_counter_answers_each_event_with_its_length_then_quits(start_engine, port_from):
    engine = start_engine({"counter": ["TypeA"], "producer": ["TypeB"]})
    port = str(engine.port("counter"))
    if port_from == "env":
        child = run_counter([], {"EE_PLUGIN_PORT": port})
    else:
        child = run_counter([port], {})
    events = [b"TypeA", b"TypeAx", b"TypeAThis is message 7", b"TypeA\x00\x01", b"TypeA" + b"z" * 1000]
    with pyevents.Plugin(engine.port("producer")) as producer:
        producer.publish_many(events)
        answers = []
        while len(answers) < 5:
            batch = producer.next_batch(10, timeout=20)
            assert batch, child.stderr.read() if child.poll() is not None else "no answer"
            answers += [e.data for e in batch]
    assert answers == [b"TypeB0", b"TypeB1", b"TypeB17", b"TypeB2", b"TypeB1000"]
    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert out == "counter: answered 5 events\n"
    assert engine.wait() == 0, engine.output()  # both plugins quit: the engine finishes


def test_the_counter_takes_n_from_ee_count(start_engine):
    engine = start_engine({"counter": ["TypeA"], "producer": ["TypeB"]})
    child = run_counter([], {"EE_PLUGIN_PORT": str(engine.port("counter")), "EE_COUNT": "300"})
    with pyevents.Plugin(engine.port("producer")) as producer:
        producer.publish_many(b"TypeAmessage %d" % i for i in range(300))
        answers = []
        while len(answers) < 300:
            batch = producer.next_batch(1000, timeout=20)
            assert batch
            answers += [e.data for e in batch]
    assert answers == [b"TypeB%d" % len(b"message %d" % i) for i in range(300)]
    out, err = child.communicate(timeout=20)
    assert (child.returncode, out) == (0, "counter: answered 300 events\n"), err


def test_app_toml_runs_the_example_to_completion(tmp_path):
    """`event-engine run examples/python/app.toml`: the engine launches counter.py, a built-in
    generator feeds it 1000 events and a built-in collector counts its 1000 answers."""
    env = dict(os.environ)
    # `python3` in app.toml must be the interpreter that has pyevents.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen(
        [engine_bin(), "run", str(EXAMPLE / "app.toml"), "--ready-file", str(tmp_path / "ready.json")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert "counter: answered 1000 events" in out + err
    # The collector got the 1000 answers (the summary line of `event-engine run`).
    assert re.search(r"collector\s+finished; 1000 event\(s\): TypeB 1000", out + err), out + err
