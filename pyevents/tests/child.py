"""A plugin process for the tests that need one to be interrupted or killed.

    python child.py MODE PORT [N]

Prints `ready` once connected, then makes the blocking call of MODE; prints what happened.
"""

import asyncio
import signal
import sys

import pyevents
from pyevents.events import get_next_msg, get_plugin_socket


def main() -> int:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "asyncio":
        # Ctrl-C while asyncio.run waits in an AsyncPlugin: the main task is cancelled, the
        # wait with it, `async with` quits, and asyncio.run raises KeyboardInterrupt.
        try:
            asyncio.run(wait_async(port))
        except KeyboardInterrupt:
            print("KeyboardInterrupt in asyncio", flush=True)
            return 130
        print("asyncio returned", flush=True)
        return 0
    plugin = pyevents.Plugin(port)
    if mode == "consume":
        # Receives N events one by one, reporting each, then waits for ever (to be killed)
        # without asking for more: the last one is received but never acknowledged.
        n = int(sys.argv[3])
        for _ in range(n):
            event = plugin.next(timeout=30)
            print(f"got {event.seq} {event.data.decode()}", flush=True)
        print("ready", flush=True)
        sys.stdin.read()
        return 0
    if mode == "consume_batch":
        batch = plugin.next_batch(int(sys.argv[3]), timeout=30)
        print(f"got {len(batch)} from {batch[0].seq}", flush=True)
        print("ready", flush=True)
        sys.stdin.read()
        return 0
    if mode == "survive_signal":
        # A signal whose handler does not raise must not break the call (as PEP 475 does for
        # Python's own blocking calls).
        signal.signal(signal.SIGUSR1, lambda *_: print("handled", flush=True))
        plugin.info()
        print("ready", flush=True)
        event = plugin.next(timeout=30)
        print(f"next returned {event.data.decode()}", flush=True)
        return 0
    if mode != "info":  # info talks to a port where nothing listens: nothing to wait for
        plugin.info()  # connected
    print("ready", flush=True)
    try:
        if mode == "next":
            plugin.next()
        elif mode == "next_batch":
            plugin.next_batch(100)
        elif mode == "iterate":
            for _ in plugin:
                pass
        elif mode == "info":
            plugin.info()
        elif mode == "get_next_msg":
            get_next_msg(get_plugin_socket(None, port, host="127.0.0.1"))
        else:
            raise SystemExit(f"unknown mode {mode}")
    except KeyboardInterrupt:
        print(f"KeyboardInterrupt in {mode}", flush=True)
        return 130
    print(f"{mode} returned", flush=True)
    return 0


async def wait_async(port: int) -> None:
    async with pyevents.AsyncPlugin(port) as plugin:
        print("ready", flush=True)
        try:
            await plugin.next_event()
        except asyncio.CancelledError:
            print("cancelled while waiting", flush=True)
            raise


if __name__ == "__main__":
    sys.exit(main())
