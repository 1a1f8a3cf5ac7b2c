"""Throughput of the Python SDK against a real engine, beside raw pyzmq, in one run.

    make bench-python                      # release builds of the engine CLI and of pyevents
    python pyevents/bench/bench.py [--scale 1.0] [--engine PATH]

Events in (engine -> plugin) and out (plugin -> engine), in events per second, for:

* `v1 loop (0.2 events.py)`: 0.2's `get_next_msg`/`publish_msg` over pyzmq, one round trip per
  event (without its prints, which would only make it slower);
* `v1 loop (pyevents.events)`: the drop-in API, same loop;
* `Plugin.next()` / `Plugin.publish()`: the modern API, one event per call;
* `Plugin.next_batch(1000)` / `Plugin.publish_many()`: batches;
* the same calls of `pyevents.AsyncPlugin` (asyncio), awaited in `asyncio.run`, and
  `async for` (which fetches 256 events at a time): what the hop to the plugin's own thread and
  back to the loop costs beside the blocking API;
* `raw pyzmq SUB` (in only): a ZeroMQ SUB socket on the bus itself, the ceiling for a Python
  process (no protocol, no acknowledgements; an unregistered TCP subscriber, in `block` mode so
  that nothing is dropped).

Each mode runs on a fresh engine. Events come from (or go to) a helper process that publishes
(or drains) with pyevents in batches of 1000. Receiving is timed from the first event on. Every
event has 37 bytes (`TypeA` and 32 bytes). Beside events/s, the CPU time the measured process
spent per event (its ZeroMQ threads included): when the engine's pipeline, not the plugin, sets
the pace (batches and the raw SUB both reach it), that column still tells the costs apart.
Not part of CI: the machine is shared and noisy; compare the ratios of one run.

`--large` (or `--only-large`) adds (or only runs) large events of 1 KB to 16 MB: a helper
process publishes with `Plugin.publish_many` -> engine -> this process receives with
`Plugin.next_batch` (the default byte budget), beside a helper publishing with a raw pyzmq PUB
-> SUB in this process over loopback TCP (HWM 0; the publisher is an XPUB that waits for the
subscription). Both sides publish one `bytes` object per size over and over; receiving is timed
from the first event on; lost = events that did not arrive (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Tuple

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
PAYLOAD = b"x" * 32
BATCH = 1000


# --- event-engine 0.2's events.py, as it was (minus the prints) --------------------------------

def v1_get_next_msg(socket, timeout=-1):
    socket.RCVTIMEO = timeout
    socket.send_string("plugin_command: next_msg")
    return socket.recv()


def v1_publish_msg(socket, data):
    import zmq

    socket.send(data)
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    poller.poll()
    return socket.recv_string()


# --- the engine ----------------------------------------------------------------------------

class Engine:
    def __init__(self, binary: str, plugins: Dict[str, List[str]], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        app = workdir / "app.toml"
        lines = ["[bus]", 'tcp_subscribers = "block"']
        for name, subs in plugins.items():
            lines += ["[[plugins]]", f'name = "{name}"', f"subscriptions = {json.dumps(subs)}"]
        app.write_text("\n".join(lines) + "\n")
        ready = workdir / "ready.json"
        self.proc = subprocess.Popen(
            [binary, "run", str(app), "--ready-file", str(ready), "--quiet"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.ready = json.loads(ready.read_text())
                break
            except (FileNotFoundError, ValueError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the engine did not start")
                time.sleep(0.01)

    def port(self, name: str) -> int:
        return self.ready["plugins"][name]["port"]

    def stop(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def helper(role: str, port: int, n: int, size: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE), "--role", role, "--port", str(port), "--n", str(n), "--size", str(size)],
        stdout=subprocess.PIPE,
        text=True,
    )


LARGE_SIZES = [(1 << 10, 300_000), (64 << 10, 20_000), (1 << 20, 2_000), (8 << 20, 250), (16 << 20, 120)]


def large_event(size: int) -> bytes:
    return b"TypeA" + b"x" * (size - 5)


def run_helper(role: str, port: int, n: int, size: int = 0) -> None:
    """The helper process: `produce` publishes n TypeA events in batches; `drain` receives n
    TypeB events in batches; `bigproduce` publishes n TypeA events of `size` bytes with
    publish_many (batches of about 4 MB); `rawpub` does the same with a raw pyzmq XPUB bound
    on `port` (after the subscription arrived)."""
    if role == "rawpub":
        import zmq

        ctx = zmq.Context()
        s = ctx.socket(zmq.XPUB)
        s.setsockopt(zmq.SNDHWM, 0)
        s.bind(f"tcp://127.0.0.1:{port}")
        s.recv()  # the subscription
        event = large_event(size)
        for _ in range(n):
            s.send(event, copy=False)
        s.setsockopt(zmq.LINGER, -1)
        s.close()
        ctx.term()
        print("done", flush=True)
        return
    import pyevents

    if role == "bigproduce":
        plugin = pyevents.Plugin(port)
        event = large_event(size)
        k = max(1, min(BATCH, (4 << 20) // size))
        sent = 0
        while sent < n:
            sent += plugin.publish_many([event] * min(k, n - sent))
        print("done", flush=True)
        plugin.quit()
        return

    plugin = pyevents.Plugin(port)
    if role == "produce":
        batch = [b"TypeA" + PAYLOAD] * BATCH
        sent = 0
        while sent < n:
            k = min(BATCH, n - sent)
            sent += plugin.publish_many(batch if k == BATCH else batch[:k])
    else:
        got = 0
        while got < n:
            got += len(plugin.next_batch(pyevents.MAX_BATCH, timeout=60) or [])
    print("done", flush=True)
    plugin.quit()


# --- the modes -----------------------------------------------------------------------------

Result = Tuple[float, float]  # events/s, CPU microseconds per event of the measured process


def timed(n: int, loop: Callable[[], None]) -> Result:
    """Runs `loop` (which handles n events): events per second, and the CPU time the whole
    process (its ZeroMQ I/O threads included) spent per event."""
    cpu, started = time.process_time(), time.perf_counter()
    loop()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return n / elapsed, cpu / n * 1e6


def timed_async(n: int, loop: Callable[[], Awaitable[None]]) -> Awaitable[Result]:
    """`timed` of a coroutine function."""

    async def run() -> Result:
        cpu, started = time.process_time(), time.perf_counter()
        await loop()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return n / elapsed, cpu / n * 1e6

    return run()


def in_v1_pyzmq(port: int, n: int) -> Result:
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    s.connect(f"tcp://127.0.0.1:{port}")
    v1_get_next_msg(s)  # the producer is running

    def loop():
        for _ in range(n - 1):
            v1_get_next_msg(s)

    rate = timed(n - 1, loop)
    s.send_string("plugin_command: quit")
    s.recv()
    s.close()
    return rate


def in_v1_pyevents(port: int, n: int) -> Result:
    from pyevents.events import get_next_msg, get_plugin_socket, send_quit_command

    s = get_plugin_socket(None, port, host="127.0.0.1")
    get_next_msg(s)

    def loop():
        for _ in range(n - 1):
            get_next_msg(s)

    rate = timed(n - 1, loop)
    send_quit_command(s)
    return rate


def in_next(port: int, n: int) -> Result:
    import pyevents

    p = pyevents.Plugin(port)
    p.next()

    def loop():
        for _ in range(n - 1):
            p.next().data

    rate = timed(n - 1, loop)
    p.quit()
    return rate


def in_next_batch(port: int, n: int) -> Result:
    import pyevents

    p = pyevents.Plugin(port)
    p.next()

    def loop():
        got = 1
        while got < n:
            for e in p.next_batch(min(BATCH, n - got)):
                e.data
                got += 1

    rate = timed(n - 1, loop)
    p.quit()
    return rate


def in_async_next(port: int, n: int) -> Result:
    import asyncio

    import pyevents

    async def main() -> Result:
        p = pyevents.AsyncPlugin(port)
        await p.next_event()

        async def loop() -> None:
            for _ in range(n - 1):
                (await p.next_event()).data

        rate = await timed_async(n - 1, loop)
        await p.quit()
        return rate

    return asyncio.run(main())


def in_async_for(port: int, n: int) -> Result:
    import asyncio

    import pyevents

    async def main() -> Result:
        p = pyevents.AsyncPlugin(port)
        await p.next_event()

        async def loop() -> None:
            got = 1
            async for e in p:
                e.data
                got += 1
                if got == n:
                    break

        rate = await timed_async(n - 1, loop)
        await p.quit()
        return rate

    return asyncio.run(main())


def in_async_next_batch(port: int, n: int) -> Result:
    import asyncio

    import pyevents

    async def main() -> Result:
        p = pyevents.AsyncPlugin(port)
        await p.next_event()

        async def loop() -> None:
            got = 1
            while got < n:
                for e in await p.next_batch(min(BATCH, n - got)):
                    e.data
                    got += 1

        rate = await timed_async(n - 1, loop)
        await p.quit()
        return rate

    return asyncio.run(main())


def in_raw_sub(endpoint: str, n: int, connected: Callable[[], None]) -> Result:
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.SUBSCRIBE, b"TypeA")
    s.setsockopt(zmq.RCVTIMEO, 60_000)
    s.connect(endpoint)
    connected()
    # Events published before the subscription reached the bus are not for this socket (the
    # producer publishes more than n); time from the first one that comes.
    s.recv()

    def loop():
        for _ in range(n - 1):
            s.recv()

    rate = timed(n - 1, loop)
    s.close()  # the bus stops waiting for this subscriber; the producer finishes
    return rate


def out_v1_pyzmq(port: int, n: int) -> Result:
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    s.connect(f"tcp://127.0.0.1:{port}")
    event = b"TypeB" + PAYLOAD

    def loop():
        for _ in range(n):
            v1_publish_msg(s, event)

    rate = timed(n, loop)
    s.send_string("plugin_command: quit")
    s.recv()
    s.close()
    return rate


def out_v1_pyevents(port: int, n: int) -> Result:
    from pyevents.events import get_plugin_socket, publish_msg, send_quit_command

    s = get_plugin_socket(None, port, host="127.0.0.1")
    event = b"TypeB" + PAYLOAD

    def loop():
        for _ in range(n):
            publish_msg(s, event)

    rate = timed(n, loop)
    send_quit_command(s)
    return rate


def out_publish(port: int, n: int) -> Result:
    import pyevents

    p = pyevents.Plugin(port)
    event = b"TypeB" + PAYLOAD

    def loop():
        for _ in range(n):
            p.publish(event)

    rate = timed(n, loop)
    p.quit()
    return rate


def out_publish_many(port: int, n: int) -> Result:
    import pyevents

    p = pyevents.Plugin(port)
    event = b"TypeB" + PAYLOAD

    def loop():
        sent = 0
        while sent < n:
            sent += p.publish_many([event] * BATCH)

    rate = timed(n, loop)
    p.quit()
    return rate


def out_async_publish(port: int, n: int) -> Result:
    import asyncio

    import pyevents

    async def main() -> Result:
        p = pyevents.AsyncPlugin(port)
        event = b"TypeB" + PAYLOAD

        async def loop() -> None:
            for _ in range(n):
                await p.publish(event)

        rate = await timed_async(n, loop)
        await p.quit()
        return rate

    return asyncio.run(main())


def out_async_publish_many(port: int, n: int) -> Result:
    import asyncio

    import pyevents

    async def main() -> Result:
        p = pyevents.AsyncPlugin(port)
        event = b"TypeB" + PAYLOAD

        async def loop() -> None:
            sent = 0
            while sent < n:
                sent += await p.publish_many([event] * BATCH)

        rate = await timed_async(n, loop)
        await p.quit()
        return rate

    return asyncio.run(main())


# --- large events ---------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def large_raw(n: int, size: int) -> Tuple[float, int]:
    """Raw pyzmq: helper XPUB -> SUB here over TCP. Returns (seconds from the first event to
    the last, events lost)."""
    import zmq

    port = free_port()
    producer = helper("rawpub", port, n, size)
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, 0)
    s.setsockopt(zmq.RCVTIMEO, 60_000)
    s.setsockopt(zmq.SUBSCRIBE, b"TypeA")
    s.connect(f"tcp://127.0.0.1:{port}")
    got, bad, started = 0, 0, 0.0
    try:
        while got < n:
            m = s.recv(copy=False)
            if got == 0:
                started = time.perf_counter()
            if len(m) != size:
                bad += 1
            got += 1
    except zmq.Again:
        pass
    elapsed = time.perf_counter() - started
    s.close()
    producer.communicate(timeout=60)
    return elapsed, n - got + bad


def large_engine(binary: str, workdir: Path, n: int, size: int) -> Tuple[float, int]:
    """Helper Plugin.publish_many -> engine -> Plugin.next_batch here."""
    import pyevents

    engine = Engine(binary, {"sensor": ["TypeA"], "feeder": []}, workdir)
    got, bad, started = 0, 0, 0.0
    try:
        producer = helper("bigproduce", engine.port("feeder"), n, size)
        p = pyevents.Plugin(engine.port("sensor"))
        while got < n:
            batch = p.next_batch(BATCH, timeout=60)
            if not batch:
                break
            if got == 0:
                started = time.perf_counter()
            for e in batch:
                if len(e.data) != size:
                    bad += 1
                got += 1
        elapsed = time.perf_counter() - started
        p.quit()
        producer.communicate(timeout=60)
    finally:
        engine.stop()
    return elapsed, n - got + bad


def large_table(binary: str, tmp: Path, scale: float, reps: int) -> None:
    print()
    print("| size | path | events | events/s | MB/s | × raw pyzmq | lost |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for size, k in LARGE_SIZES:
        n = max(10, int(k * scale))
        raws, ours = [], []
        for r in range(reps):
            raws.append(large_raw(n, size))
            ours.append(large_engine(binary, tmp / f"large{size}-{r}", n, size))

        def med(runs):
            lost = sum(x[1] for x in runs)
            t = sorted(x[0] for x in runs)[len(runs) // 2]
            return (n - 1) / max(t, 1e-9), lost

        label = f"{size >> 20} MB" if size >= 1 << 20 else f"{size >> 10} KB"
        raw_rate, raw_lost = med(raws)
        rate, lost = med(ours)
        print(f"| {label} | raw pyzmq PUB -> SUB (TCP) | {n:,} | {raw_rate:,.0f} | {raw_rate * size / 1e6:,.0f} | 1.00 (reference) | {raw_lost} |", flush=True)
        print(f"| {label} | publish_many -> engine -> next_batch | {n:,} | {rate:,.0f} | {rate * size / 1e6:,.0f} | {rate / raw_rate:.2f} | {lost} |", flush=True)


# --- the run -------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default=os.environ.get("EE_ENGINE_BIN") or str(REPO / "target/release/event-engine"))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every event count")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--large", action="store_true", help="also measure large events (1 KB to 16 MB)")
    ap.add_argument("--only-large", action="store_true", help="only measure large events")
    ap.add_argument("--reps", type=int, default=3, help="runs per large-event figure (median)")
    args = ap.parse_args()
    if args.role:
        run_helper(args.role, args.port, args.n, args.size)
        return 0
    if args.only_large:
        import pyevents
        import zmq

        print(f"pyevents {pyevents.__version__}, pyzmq {zmq.__version__}, Python {sys.version.split()[0]}")
        large_table(args.engine, Path(tempfile.mkdtemp(prefix="pyevents-bench-")), args.scale, args.reps)
        return 0

    import pyevents
    import zmq

    def n_of(k: int) -> int:
        return max(1000, int(k * args.scale))

    results: List[Tuple[str, str, int, Result]] = []
    tmp = Path(tempfile.mkdtemp(prefix="pyevents-bench-"))

    def measure_in(name: str, n: int, fn) -> None:
        engine = Engine(args.engine, {"sensor": ["TypeA"], "feeder": []}, tmp / f"in{len(results)}")
        try:
            producer = helper("produce", engine.port("feeder"), n)
            rate = fn(engine.port("sensor"), n)
            producer.communicate(timeout=60)
        finally:
            engine.stop()
        results.append(("in", name, n, rate))
        print(f"in   {name:<37} {rate[0]:>12,.0f} events/s {rate[1]:7.1f} µs CPU/event", flush=True)

    def measure_out(name: str, n: int, fn) -> None:
        engine = Engine(args.engine, {"sensor": [], "drain": ["TypeB"]}, tmp / f"out{len(results)}")
        try:
            drain = helper("drain", engine.port("drain"), n)
            rate = fn(engine.port("sensor"), n)
            out, _ = drain.communicate(timeout=120)
            assert out.strip() == "done", "the drain did not get every event"
        finally:
            engine.stop()
        results.append(("out", name, n, rate))
        print(f"out  {name:<37} {rate[0]:>12,.0f} events/s {rate[1]:7.1f} µs CPU/event", flush=True)

    measure_in("v1 loop (0.2 events.py, pyzmq)", n_of(20_000), in_v1_pyzmq)
    measure_in("v1 loop (pyevents.events)", n_of(20_000), in_v1_pyevents)
    measure_in("Plugin.next()", n_of(30_000), in_next)
    measure_in("Plugin.next_batch(1000)", n_of(1_000_000), in_next_batch)
    measure_in("await AsyncPlugin.next_event()", n_of(30_000), in_async_next)
    measure_in("async for (AsyncPlugin)", n_of(1_000_000), in_async_for)
    measure_in("await AsyncPlugin.next_batch(1000)", n_of(1_000_000), in_async_next_batch)

    # The raw SUB: a TCP subscriber on the bus (no plugin between), fed by the same producer.
    n = n_of(1_000_000)
    engine = Engine(args.engine, {"feeder": []}, tmp / "sub")
    try:
        holder: Dict[str, subprocess.Popen] = {}
        rate = in_raw_sub(
            engine.ready["subscribe"],
            n,
            lambda: holder.setdefault("p", helper("produce", engine.port("feeder"), n + n // 5 + 10_000)),
        )
        holder["p"].communicate(timeout=60)
    finally:
        engine.stop()
    results.append(("in", "raw pyzmq SUB", n, rate))
    print(f"in   {'raw pyzmq SUB':<37} {rate[0]:>12,.0f} events/s {rate[1]:7.1f} µs CPU/event", flush=True)

    measure_out("v1 loop (0.2 events.py, pyzmq)", n_of(20_000), out_v1_pyzmq)
    measure_out("v1 loop (pyevents.events)", n_of(20_000), out_v1_pyevents)
    measure_out("Plugin.publish()", n_of(30_000), out_publish)
    measure_out("Plugin.publish_many(1000)", n_of(1_000_000), out_publish_many)
    measure_out("await AsyncPlugin.publish()", n_of(30_000), out_async_publish)
    measure_out("await AsyncPlugin.publish_many(1000)", n_of(1_000_000), out_async_publish_many)

    # The table, with ratios to the 0.2 loop and to raw pyzmq in the same direction.
    print()
    print(f"pyevents {pyevents.__version__}, pyzmq {zmq.__version__}, Python {sys.version.split()[0]}")
    print()
    print("| direction | API | events | events/s | × v1 loop (0.2) | × raw pyzmq SUB | CPU µs/event |")
    print("|---|---|---:|---:|---:|---:|---:|")
    raw = [r for r in results if r[1] == "raw pyzmq SUB"][0][3][0]
    for direction in ("in", "out"):
        rows = [r for r in results if r[0] == direction]
        v1 = rows[0][3][0]
        for _, name, n, (rate, cpu) in rows:
            vs_raw = f"{rate / raw:.2f}" if direction == "in" else ""
            print(f"| {direction} | {name} | {n:,} | {rate:,.0f} | {rate / v1:.1f} | {vs_raw} | {cpu:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.large:
        large_table(args.engine, tmp, args.scale, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
