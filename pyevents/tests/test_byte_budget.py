"""`max_batch_bytes`: a receive's byte budget (the SDK core's `ClientOptions::max_batch_bytes`,
sent as `recv max_bytes=`), against a real engine."""

from __future__ import annotations

from typing import List

import pytest

import pyevents
from engine import wait_for

SMALL = 100_000
BIG = 400_000
BUDGET = 250_000
MAX_BYTES = 1 << 40


def event(i: int, size: int) -> bytes:
    """An event of exactly `size` bytes, its filter and number first."""
    head = b"TypeA%03d:" % i
    return head + b"x" * (size - len(head))


def published() -> List[bytes]:
    """Ten events of 100 KB, then one of 400 KB."""
    return [event(i, SMALL) for i in range(10)] + [event(10, BIG)]


def batches_of(plugin: pyevents.Plugin, n: int) -> List[List[bytes]]:
    """next_batch(1000) until `n` events came, each call waiting at most 10 s."""
    batches: List[List[bytes]] = []
    while sum(len(b) for b in batches) < n:
        batch = plugin.next_batch(1000, timeout=10)
        assert batch, f"no event within 10 s after {batches}"
        batches.append([e.data for e in batch])
    return batches


def test_batches_stay_within_the_budget(start_engine):
    engine = start_engine({"budget": ["TypeA"], "default": ["TypeA"], "feeder": ["TypeB"]})
    events = published()
    budget = pyevents.Plugin(engine.port("budget"), max_batch_bytes=BUDGET)
    default = pyevents.Plugin(engine.port("default"))
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        assert feeder.publish_many(events) == len(events)
    # Every event is held by the engine for both plugins before the first receive, so each batch
    # is cut by the budget alone, not by what had arrived.
    for plugin in (budget, default):
        wait_for(lambda: plugin.stats().buffered == len(events), 20, "the events at the engine")

    got = batches_of(budget, len(events))
    assert [len(b) for b in got] == [2, 2, 2, 2, 2, 1]
    assert all(sum(map(len, b)) <= BUDGET for b in got[:-1])
    assert got[-1] == [events[-1]]  # larger than the budget: it comes, alone
    assert [e for b in got for e in b] == events
    budget.quit()

    # The default budget (64 MiB) takes them all at once.
    assert batches_of(default, len(events)) == [events]
    default.quit()


@pytest.mark.parametrize("bad", [0, -1, MAX_BYTES + 1])
def test_a_bad_budget_is_refused_by_the_core(bad):
    with pytest.raises(pyevents.InvalidArgument) as e:
        pyevents.Plugin(1, max_batch_bytes=bad)
    # The SDK core's words, as the C and Node.js SDKs give them (with their option names).
    assert str(e.value) == (
        f"invalid argument: max_batch_bytes must be a whole number from 1 to {MAX_BYTES} (got {bad})"
    )


def test_budget_limits_are_accepted():
    for ok in (1, MAX_BYTES):
        pyevents.Plugin(1, max_batch_bytes=ok).close()
    with pytest.raises(TypeError):
        pyevents.Plugin(1, max_batch_bytes=1.5)  # type: ignore[arg-type]
