"""`pyevents.AsyncPlugin` (asyncio) against a real engine, with plain `asyncio.run`."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable, List, TypeVar

import pytest

import pyevents

T = TypeVar("T")
CHILD = Path(__file__).resolve().parent / "child.py"


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    """asyncio.run, with a deadline for the whole test."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def poll(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def waiting_on_the_engine(port: int) -> None:
    """Returns once a receive of another session reached the engine (stats count it then)."""
    observer = pyevents.AsyncPlugin(port)
    try:
        async def counted() -> bool:
            return (await observer.stats()).sessions >= 1

        await poll(counted, "the receive to reach the engine")
    finally:
        await observer.close()  # never quit: that would be the plugin's goodbye


def publish(engine, *events: bytes) -> None:
    """Publishes from the feeder plugin, which it closes without quitting (a plugin that quit
    is done: the engine serves its port no more)."""
    feeder = pyevents.Plugin(engine.port("feeder"))
    try:
        feeder.publish_many(events)
    finally:
        feeder.close()


def test_receive_publish_iterate_and_quit(engine):
    publish(engine, *[b"TypeA%d" % i for i in range(6)])

    async def main() -> List[bytes]:
        async with pyevents.AsyncPlugin(engine.port("sensor")) as plugin:
            info = await plugin.info()
            assert (info.name, info.subscriptions) == ("sensor", [b"TypeA"])
            seen = []
            async for event in plugin:
                seen.append(event)
                if len(seen) == 3:
                    break
            rest: List[pyevents.Event] = []
            while len(rest) < 3:
                rest += await plugin.next_batch(10, timeout=10)
            assert [e.data for e in seen + rest] == [b"TypeA%d" % i for i in range(6)]
            assert [e.seq for e in seen + rest] == list(range(1, 7))
            assert plugin.last_seq == 6
            await plugin.publish(b"TypeBone")
            assert await plugin.publish_many(b"TypeB%d" % i for i in range(3)) == 3
            assert await plugin.publish_many([]) == 0
            assert await plugin.ack() == 0
            stats = await plugin.stats()
            assert (stats.delivered, stats.published, stats.pending) == (6, 4, 0)
            with pytest.raises(pyevents.Timeout):
                await plugin.next_event(timeout=0.05)
            assert await plugin.next_batch(5, timeout=0) == []
            for bad in (0, -1, pyevents.MAX_BATCH + 1):
                with pytest.raises(pyevents.InvalidArgument):
                    await plugin.next_batch(bad, timeout=0)
            with pytest.raises(pyevents.InvalidArgument):
                await plugin.next_event(timeout=-1)
            with pytest.raises(TypeError):
                await plugin.publish("TypeBstr")  # type: ignore[arg-type]
        assert plugin.closed and repr(plugin).endswith("closed=True)")
        await plugin.quit()  # twice is harmless
        with pytest.raises(pyevents.Closed):
            await plugin.next_event(timeout=0)
        assert [e async for e in plugin] == []  # a quit plugin iterates nothing
        return []

    run(main())
    with pyevents.Plugin(engine.port("feeder")) as feeder:
        got: List[bytes] = []
        while len(got) < 4:
            got += [e.data for e in feeder.next_batch(10, timeout=10)]
    assert got == [b"TypeBone", b"TypeB0", b"TypeB1", b"TypeB2"]


def test_cancelling_a_wait_is_prompt_and_loses_nothing(engine):
    async def main() -> None:
        async with pyevents.AsyncPlugin(engine.port("sensor")) as plugin:
            task = asyncio.ensure_future(plugin.next_event())
            await waiting_on_the_engine(engine.port("sensor"))
            assert not task.done()
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            elapsed = time.monotonic() - cancelled_at
            print(f"CancelledError {elapsed * 1000:.2f} ms after cancel()")
            assert elapsed < 0.1, elapsed
            # The plugin still works, and the event published after the cancel comes.
            await asyncio.get_running_loop().run_in_executor(None, publish, engine, b"TypeAafter")
            started = time.monotonic()
            event = await plugin.next_event(timeout=10)
            assert (event.seq, event.data) == (1, b"TypeAafter")
            # At once, even when the cancelled call got it (not after this call's time-out).
            assert time.monotonic() - started < 5
            # asyncio.wait_for cancels the same way.
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(plugin.next_event(), 0.05)
            assert time.monotonic() - started < 0.5
            await asyncio.get_running_loop().run_in_executor(None, publish, engine, b"TypeAagain")
            started = time.monotonic()
            assert (await plugin.next_event(timeout=10)).data == b"TypeAagain"
            assert time.monotonic() - started < 5

    run(main())


def test_cancellations_at_any_moment_lose_no_event(engine):
    n = 300
    publish(engine, *[b"TypeA%d" % i for i in range(n)])
    rng = random.Random(int(os.environ.get("EE_TEST_SEED", "16")))

    async def main() -> List[pyevents.Event]:
        got: List[pyevents.Event] = []
        cancelled = 0
        async with pyevents.AsyncPlugin(engine.port("sensor")) as plugin:
            deadline = time.monotonic() + 50
            while len(got) < n:
                assert time.monotonic() < deadline, (len(got), cancelled)
                if rng.random() < 0.5:
                    task = asyncio.ensure_future(plugin.next_event(timeout=10))
                else:
                    task = asyncio.ensure_future(plugin.next_batch(rng.randint(1, 7), timeout=10))
                # Before the call starts, while it waits in the plugin's thread, after its
                # events came: anywhere in the first milliseconds.
                asyncio.get_running_loop().call_later(rng.expovariate(1 / 0.0005), task.cancel)
                try:
                    result = await task
                except asyncio.CancelledError:
                    cancelled += 1
                    continue
                got += result if isinstance(result, list) else [result]
            assert cancelled > 0
            stats = await plugin.stats()
            assert stats.delivered == n
        return got

    got = run(main())
    assert [e.data for e in got] == [b"TypeA%d" % i for i in range(n)]
    assert [e.seq for e in got] == list(range(1, n + 1))


def test_fifty_waits_do_not_starve_the_loop(start_engine):
    names = [f"p{i}" for i in range(50)]
    engine = start_engine({**{name: ["TypeA"] for name in names}, "feeder": []})

    async def ticker() -> int:
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.5:
            await asyncio.sleep(0.01)
            ticks += 1
        return ticks

    async def main() -> None:
        alone = await ticker()  # 50 at best; what this machine manages now
        plugins = [pyevents.AsyncPlugin(engine.port(name)) for name in names]
        waits = [asyncio.ensure_future(p.next_event()) for p in plugins]
        for name in names:
            await waiting_on_the_engine(engine.port(name))
        # A loop blocked by the waits would manage a few ticks at most.
        ticks = await ticker()
        print(f"ticks in 0.5 s: {alone} alone, {ticks} with 50 waits pending")
        assert ticks >= alone // 2, (ticks, alone)
        # Nor do they hold the default executor.
        started = time.monotonic()
        assert await asyncio.get_running_loop().run_in_executor(None, lambda: 42) == 42
        assert time.monotonic() - started < 0.5
        assert not any(w.done() for w in waits)
        await asyncio.get_running_loop().run_in_executor(None, publish, engine, b"TypeAfor all")
        events = await asyncio.gather(*waits)
        assert {e.data for e in events} == {b"TypeAfor all"}
        await asyncio.gather(*(p.quit() for p in plugins))

    run(main())


def test_a_publish_does_not_wait_for_a_pending_receive(engine):
    """Calls take turns, but a waiting receive gives way to a publish from another task."""

    async def main() -> None:
        async with pyevents.AsyncPlugin(engine.port("sensor")) as plugin, pyevents.AsyncPlugin(
            engine.port("feeder")
        ) as feeder:
            waiting = asyncio.ensure_future(plugin.next_event())
            await waiting_on_the_engine(engine.port("sensor"))
            for i in range(3):
                started = time.monotonic()
                await plugin.publish(b"TypeBrequest %d" % i)
                assert time.monotonic() - started < 1.0
            assert not waiting.done()
            # Request and reply: the feeder answers what the plugin published.
            requests = []
            while len(requests) < 3:
                requests += await feeder.next_batch(10, timeout=10)
            assert [e.data for e in requests] == [b"TypeBrequest %d" % i for i in range(3)]
            await feeder.publish(b"TypeAreply")
            event = await waiting
            assert (event.seq, event.data) == (1, b"TypeAreply")
            # Another task's quit ends an `async for`.
            seen = []

            async def consume() -> None:
                async for e in plugin:
                    seen.append(e)

            consumer = asyncio.ensure_future(consume())
            # Whether the consumer's receive has started or not, the quit ends it.
            await plugin.quit()
            await asyncio.wait_for(consumer, 5)
            assert seen == []

    run(main())


def test_ctrl_c_ends_asyncio_run_promptly(engine):
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "asyncio", str(engine.port("sensor"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "ready\n", (line, child.stderr.read() if child.poll() is not None else "")
        # The child's wait has reached the engine: it is pending, and stays so (no events).
        run(waiting_on_the_engine(engine.port("sensor")))
        assert child.poll() is None
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out == "cancelled while waiting\nKeyboardInterrupt in asyncio\n", err
    assert child.returncode == 130
    assert elapsed < 1.0, elapsed


def test_the_async_api_mirrors_the_blocking_one():
    """AsyncPlugin takes Plugin's arguments and offers each of its calls, as a coroutine."""
    import inspect

    from test_stubs import runtime_params

    assert runtime_params(pyevents.AsyncPlugin) == runtime_params(pyevents.Plugin)
    blocking = {n for n in dir(pyevents.Plugin) if not n.startswith("_")}
    asynchronous = {n for n in dir(pyevents.AsyncPlugin) if not n.startswith("_")}
    # next() is next_event() (a coroutine called `next` would read as the builtin); cancel()
    # is the task's; `plugin` is the Plugin underneath.
    renamed = {"next": "next_event"}
    assert {renamed.get(n, n) for n in blocking - {"cancel", "reset_cancel"}} | {"plugin"} == asynchronous
    for name in asynchronous:
        member = inspect.getattr_static(pyevents.AsyncPlugin, name)
        if isinstance(member, property):
            # A property of Plugin too (a getset descriptor there), not a method.
            assert name == "plugin" or not inspect.isroutine(getattr(pyevents.Plugin, name)), name
            continue
        assert inspect.iscoroutinefunction(member), name
        if name != "next_event":
            assert runtime_params(member) == runtime_params(getattr(pyevents.Plugin, name)), name
    for name in ("__aenter__", "__aexit__", "__anext__"):
        assert inspect.iscoroutinefunction(getattr(pyevents.AsyncPlugin, name)), name
    assert runtime_params(pyevents.AsyncPlugin.next_event) == runtime_params(pyevents.Plugin.next)


def test_a_publish_beside_a_pending_receive_goes_out_at_once(engine):
    """The waiting receive is woken (the client's cancel token), not left to its poll slice
    (100 ms): a producer task publishing one event at a time beside an idle consumer task on
    the same plugin is not held to ~10 events a second."""
    n = 50

    async def main() -> None:
        async with pyevents.AsyncPlugin(engine.port("sensor")) as plugin:
            waiting = asyncio.ensure_future(plugin.next_event())
            await waiting_on_the_engine(engine.port("sensor"))
            started = time.monotonic()
            slowest = 0.0
            for i in range(n):
                t = time.monotonic()
                await plugin.publish(b"TypeBone at a time %d" % i)
                slowest = max(slowest, time.monotonic() - t)
            elapsed = time.monotonic() - started
            print(f"{n} publishes beside a pending receive: {elapsed:.3f} s, slowest {slowest * 1000:.1f} ms")
            # With the poll slice each would take up to 100 ms (n / 10 s in all).
            assert elapsed < n * 0.1 / 4, elapsed
            assert not waiting.done()
            waiting.cancel()
        with pyevents.Plugin(engine.port("feeder")) as feeder:
            got: List[bytes] = []
            deadline = time.monotonic() + 10
            while len(got) < n and time.monotonic() < deadline:
                got += [e.data for e in feeder.next_batch(100, timeout=1)]
        assert got == [b"TypeBone at a time %d" % i for i in range(n)]

    run(main())


def test_ack_acknowledges_only_what_was_handed_out(engine):
    """`async for` fetches ahead; ack() acknowledges the events the application was given."""
    publish(engine, *[b"TypeA%d" % i for i in range(10)])

    async def main() -> None:
        plugin = pyevents.AsyncPlugin(engine.port("sensor"))
        seen: List[pyevents.Event] = []
        async for event in plugin:
            seen.append(event)
            if len(seen) == 3:
                break
        # All 10 came in one round trip; 3 were handed out.
        assert plugin.plugin.last_seq == 10 and plugin.last_seq == 3
        assert await plugin.ack() == 7
        stats = await plugin.stats()
        assert (stats.delivered, stats.acked, stats.pending) == (10, 3, 7)
        # Nothing handed out yet: ack() acknowledges nothing.
        fresh = pyevents.AsyncPlugin(engine.port("feeder"))
        publish(engine, b"TypeBx")
        assert await fresh.ack() == 0
        await fresh.close()
        # An explicit seq is the application's word.
        assert await plugin.ack(5) == 5
        with pytest.raises(pyevents.InvalidArgument):
            await plugin.ack(11)  # never received
        with pytest.raises(pyevents.InvalidArgument):
            await plugin.ack(0)
        # The rest comes from what was fetched ahead; then ack() covers it all.
        rest = await plugin.next_batch(100, timeout=5)
        assert [e.seq for e in rest] == list(range(4, 11))
        assert await plugin.ack() == 0
        # The session that holds the queue is gone: what was not acknowledged comes again.
        await plugin.close()
        again = pyevents.Plugin(engine.port("sensor"))
        try:
            assert again.next_batch(100, timeout=0.2) == []
        finally:
            again.close()

    run(main())


def test_no_receive_acknowledges_events_not_handed_out(engine):
    """Two tasks wait: an `async for` (fetching ahead) and a next_event. The first receive's
    events are the second's too; the second's receive never reaches the engine while they wait
    to be handed out (its `ack=` would acknowledge them all)."""

    async def main() -> None:
        async with pyevents.AsyncPlugin(engine.port("sensor")) as plugin:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, publish, engine, b"TypeA1", b"TypeA2", b"TypeA3")

            async def all_waiting() -> bool:
                return (await plugin.stats()).buffered == 3

            # All three wait at the engine, so the first receive fetches them in one batch
            # (published while it waited, it could get one, two or three).
            await poll(all_waiting, "the three events to wait at the engine")
            iterator = plugin.__aiter__()
            first = asyncio.ensure_future(iterator.__anext__())
            second = asyncio.ensure_future(plugin.next_event(timeout=10))
            await asyncio.sleep(0)  # the second receive is queued behind the first
            assert [(await first).seq, (await second).seq] == [1, 2]
            stats = await plugin.stats()
            assert (stats.delivered, stats.acked, stats.pending) == (3, 0, 3), stats
            assert await plugin.ack() == 1  # the two handed out
            assert (await plugin.next_event(timeout=5)).seq == 3

    run(main())
