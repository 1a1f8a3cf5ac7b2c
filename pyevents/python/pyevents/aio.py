"""``pyevents.AsyncPlugin``: the plugin API for asyncio, over the same native client.

::

    async with pyevents.AsyncPlugin() as plugin:
        async for event in plugin:
            await plugin.publish(b"TypeB" + event.data[5:])

Design (``docs/python.md``, "asyncio"): each ``AsyncPlugin`` has one thread of its own that
makes the blocking calls of a :class:`pyevents.Plugin` (which release the GIL), one at a time,
and hands each result to the event loop with ``loop.call_soon_threadsafe``. The loop never
blocks and no shared thread pool is used, so any number of plugins may wait at once.

* Cancelling a task cancels its wait at once (the ``CancelledError`` is raised without waiting
  for the thread); the native call is interrupted with the plugin's cancel token and ends
  at once. Events that call received anyway are kept, in order, for the next receive:
  none is lost.
* Calls from several tasks take turns, but a receive that waits gives way: a publish (or any
  other call) made meanwhile interrupts it (at once: the cancel token wakes the native wait),
  runs, and the receive resumes with what is left of its time-out. An interrupted receive loses nothing: the engine delivers again
  what it sent to a request the client gave up (``docs/protocol.md`` section 6.2).
* ``async for`` fetches events 256 at a time (as the Node.js SDK's ``for await``); those not
  handed out yet are the first that the next receive returns. ``ack()`` acknowledges exactly the
  events handed out (not those fetched ahead); no receive goes to the engine (and acknowledges
  implicitly) while events wait to be handed out. ``quit()`` acknowledges everything received,
  events fetched ahead included: the plugin is done.
* Ctrl-C: ``asyncio.run`` cancels the main task, which cancels the wait as above.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import threading
import time
import weakref
from types import TracebackType
from typing import Any, Callable, Deque, Iterable, List, Optional, Tuple, Type, TypeVar, Union

from ._native import MAX_BATCH, Event, Info, Plugin, Stats
from .errors import Closed, Interrupted, InvalidArgument, Timeout

__all__ = ["AsyncPlugin"]

_BytesLike = Union[bytes, bytearray, memoryview]
#: How many events `async for` asks for at a time (as the Node.js SDK's `for await`).
_AHEAD = 256
_T = TypeVar("_T")


class _Job:
    """One call for the plugin's thread: a receive (``fn`` is None) or any other call."""

    __slots__ = ("fn", "max", "hand", "timeout", "deadline", "settle", "cancelled", "resumed")

    def __init__(
        self,
        fn: Optional[Callable[[], Any]],
        settle: Callable[[_Job, bool, Any], None],
        max: int = 1,
        hand: int = 1,
        timeout: Optional[float] = None,
    ) -> None:
        self.fn = fn
        #: A receive asks the engine for up to `max` events and hands `hand` of them to its
        #: caller; the others are fetched ahead, kept for the next receives.
        self.max = max
        self.hand = hand
        #: The receive's time-out as given (the native call checks it), and the
        #: time.monotonic() by which it gives up.
        self.timeout = timeout
        self.deadline: Optional[float] = None
        if isinstance(timeout, (int, float)) and 0 <= timeout < float("inf"):
            self.deadline = time.monotonic() + timeout
        #: True once a receive gave way to another call (it resumes with what is left).
        self.resumed = False
        #: Called in the plugin's thread with (job, ok, value); hands the outcome to the loop.
        self.settle = settle
        self.cancelled = False


class _Worker:
    """The thread that makes one plugin's blocking calls.

    Calls other than receives run first, in order; a receive runs when none is waiting, and is
    interrupted (through the plugin's cancel token) when one comes, to resume after it. The
    token is set only while the call it is meant for runs, and reset before the next starts.
    """

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self._cond = threading.Condition()
        self._calls: Deque[_Job] = collections.deque()
        self._receives: Deque[_Job] = collections.deque()
        self._running: Optional[_Job] = None
        self._token_set = False
        #: Set when a receive got events, until the loop has handed them out (`release`): a
        #: receive starting meanwhile would acknowledge them to the engine (its `ack=`).
        self._hold = False
        self._alive = True
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"pyevents {plugin.endpoint}", daemon=True
        )
        self._thread.start()

    def submit(self, job: _Job) -> bool:
        """Queues `job`; False when the thread has ended (the plugin is closed)."""
        with self._cond:
            if not self._alive or self._stopping:
                return False
            if job.fn is None:
                self._receives.append(job)
            else:
                self._calls.append(job)
                running = self._running
                if running is not None and running.fn is None:
                    self._interrupt()
            self._cond.notify()
        return True

    def cancel(self, job: _Job) -> None:
        """Cancels `job`: dropped if it has not started, interrupted if it runs."""
        with self._cond:
            job.cancelled = True
            if self._running is job:
                self._interrupt()

    def stop(self) -> None:
        """Ends the thread once the calls queued are done (for a plugin nobody holds)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def release(self) -> None:
        """The events received so far are handed out: receives may go to the engine again."""
        with self._cond:
            if self._hold:
                self._hold = False
                self._cond.notify()

    def _interrupt(self) -> None:
        # Under the lock, while the call to interrupt runs.
        if not self._token_set:
            self._token_set = True
            self.plugin.cancel()

    def _next(self) -> Optional[_Job]:
        with self._cond:
            while True:
                while self._calls and self._calls[0].cancelled:
                    self._calls.popleft()
                while self._receives and self._receives[0].cancelled:
                    self._receives.popleft()
                if self._calls:
                    job = self._calls.popleft()
                elif self._receives and (not self._hold or self.plugin.closed):
                    job = self._receives.popleft()
                elif self._stopping or self.plugin.closed:
                    self._alive = False
                    return None
                else:
                    self._cond.wait()
                    continue
                self._running = job
                return job

    def _run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            ok = True
            value: Any
            try:
                if job.fn is None:
                    timeout = job.timeout
                    if job.resumed and job.deadline is not None:
                        timeout = max(0.0, job.deadline - time.monotonic())
                    value = self.plugin.next_batch(job.max, timeout)
                else:
                    value = job.fn()
            except BaseException as e:  # handed to the awaiting task, whatever it is
                ok, value = False, e
            with self._cond:
                self._running = None
                if job.fn is None and ok and value:
                    self._hold = True
                interrupted = self._token_set
                if interrupted:
                    self.plugin.reset_cancel()
                    self._token_set = False
                if (
                    interrupted
                    and not ok
                    and isinstance(value, Interrupted)
                    and job.fn is None
                    and not job.cancelled
                ):
                    # A receive that gave way to another call: again, after it.
                    job.resumed = True
                    self._receives.appendleft(job)
                    continue
            job.settle(job, ok, value)


def _stop_worker(worker: _Worker) -> None:
    worker.stop()


class AsyncPlugin:
    """A connection to one external plugin's port on an engine, for asyncio.

    The same arguments as :class:`pyevents.Plugin`; every call that talks to the engine is a
    coroutine. ``async with`` quits on exit; ``async for`` receives events until the plugin has
    quit or was closed. Its blocking calls run on a thread of its own (never the loop's, nor
    its default executor's); cancelling a task that awaits one cancels it at once.

    ::

        async with pyevents.AsyncPlugin() as plugin:
            async for event in plugin:
                await plugin.publish(b"TypeB" + event.data[5:])
    """

    def __init__(
        self,
        port: Optional[int] = None,
        host: Optional[str] = None,
        *,
        endpoint: Optional[str] = None,
        reply_timeout: float = 5.0,
        retries: int = 3,
        publish_timeout: Optional[float] = 30.0,
        long_poll: float = 1.0,
        protocol: int = 2,
        max_batch_bytes: int = 67108864,
        token: Optional[str] = None,
        token_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        curve_server_key: Optional[str] = None,
        curve_secret_key: Optional[str] = None,
        curve_secret_key_file: Optional[Union[str, "os.PathLike[str]"]] = None,
    ) -> None:
        self._plugin = Plugin(
            port,
            host,
            endpoint=endpoint,
            reply_timeout=reply_timeout,
            retries=retries,
            publish_timeout=publish_timeout,
            long_poll=long_poll,
            protocol=protocol,
            max_batch_bytes=max_batch_bytes,
            token=token,
            token_file=token_file,
            curve_server_key=curve_server_key,
            curve_secret_key=curve_secret_key,
            curve_secret_key_file=curve_secret_key_file,
        )
        #: Events a cancelled receive got, for the next receives (in the loop's thread only).
        self._stash: Deque[Event] = collections.deque()
        #: Receives handed to the thread and not settled yet, oldest first (the loop's thread).
        self._waiting: Deque[Tuple[_Job, "asyncio.Future[Any]"]] = collections.deque()
        #: The sequence number of the last event handed to the application (the loop's thread).
        self._handed: Optional[int] = None
        self._worker = _Worker(self._plugin)
        # A plugin dropped without quit() or close() does not keep its thread.
        weakref.finalize(self, _stop_worker, self._worker)

    # --- properties (no waiting) ----------------------------------------------------------

    @property
    def plugin(self) -> Plugin:
        """The :class:`pyevents.Plugin` underneath (its calls block: not for the loop)."""
        return self._plugin

    @property
    def endpoint(self) -> str:
        """The endpoint this plugin talks to, e.g. ``tcp://127.0.0.1:6000``."""
        return self._plugin.endpoint

    @property
    def protocol(self) -> int:
        """The protocol this plugin speaks: 2, or 1 (event-engine 0.2's bytes)."""
        return self._plugin.protocol

    @property
    def last_seq(self) -> Optional[int]:
        """The sequence number of the last event received (``None`` before the first)."""
        if self._stash:
            return self._stash[0].seq - 1 or None
        return self._plugin.last_seq

    @property
    def closed(self) -> bool:
        """True once ``quit()`` or ``close()`` was called."""
        return self._plugin.closed

    # --- the calls ------------------------------------------------------------------------

    async def _await(self, job: _Job, fut: "asyncio.Future[Any]") -> Any:
        if not self._worker.submit(job):
            raise Closed(f"the plugin at {self.endpoint} has quit or was closed")
        if job.fn is None:
            self._waiting.append((job, fut))
        try:
            return await fut
        except asyncio.CancelledError:
            if not fut.done() or fut.cancelled():
                self._worker.cancel(job)
            elif job.fn is None and fut.exception() is None:
                # The task was cancelled after its events came, before it resumed: they are
                # the next receive's.
                self._stash.extendleft(reversed(fut.result()))
                self._feed()
                self._drained()
            raise

    def _settler(
        self, loop: asyncio.AbstractEventLoop, fut: "asyncio.Future[Any]"
    ) -> Callable[[_Job, bool, Any], None]:
        def settle(job: _Job, ok: bool, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(self._settle, job, fut, ok, value)
            except RuntimeError:
                pass  # the loop is closed: nobody waits any more

        return settle

    def _feed(self) -> None:
        """Hands the stash to receives waiting in the thread, oldest first, and withdraws their
        native calls: events a cancelled receive got do not wait for another's time-out. (What
        a withdrawn call still gets comes back to the stash, in order.)"""
        while self._stash and self._waiting:
            job, fut = self._waiting.popleft()
            if fut.done():
                continue
            fut.set_result([self._stash.popleft() for _ in range(min(job.hand, len(self._stash)))])
            self._worker.cancel(job)

    def _drained(self) -> None:
        """Lets receives go to the engine again once nothing waits to be handed out."""
        if not self._stash:
            self._worker.release()

    def _handing(self, events: List[Event]) -> List[Event]:
        """Notes what the application is given (what `ack()` acknowledges)."""
        if events:
            self._handed = events[-1].seq
        return events

    def _settle(self, job: _Job, fut: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
        # In the loop's thread, in the order the calls ended.
        if job.fn is None:
            try:
                self._waiting.remove((job, fut))
            except ValueError:
                pass  # handed events by _feed already
        if job.fn is None and (ok or (self._stash and not isinstance(value, InvalidArgument))):
            events: List[Event] = list(self._stash)
            self._stash.clear()
            if ok:
                events += value
            handed, rest = events[: job.hand], events[job.hand :]
            self._stash.extend(rest)
            if fut.done():  # cancelled: they are the next receive's
                self._stash.extendleft(reversed(handed))
            else:
                fut.set_result(handed)
            self._feed()
            self._drained()
            return
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    async def _call(self, fn: Callable[[], _T]) -> _T:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        result: _T = await self._await(_Job(fn, self._settler(loop, fut)), fut)
        return result

    async def _receive(
        self, max: int, timeout: Optional[float], ahead: Optional[int] = None
    ) -> List[Event]:
        # Arguments are checked by the native call (the SDK core's rules), in the thread.
        if self._stash:
            if not (isinstance(max, int) and 1 <= max <= MAX_BATCH):
                # The native call's error, not a receive: none goes to the engine while events
                # wait to be handed out (it raises before sending anything).
                plugin = self._plugin
                await self._call(lambda: plugin.next_batch(max, timeout))
            events = [self._stash.popleft() for _ in range(min(max, len(self._stash)))]
            self._drained()
            return self._handing(events)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        job = _Job(None, self._settler(loop, fut), ahead or max, max, timeout)
        events = await self._await(job, fut)
        return self._handing(events)

    async def next_event(self, timeout: Optional[float] = None) -> Event:
        """The next event, waiting at most ``timeout`` seconds (``None``: until one comes).
        Raises :class:`pyevents.Timeout` when none came in time; the plugin stays usable.

        Asking for the next event acknowledges the previous ones, as :meth:`Plugin.next`.
        """
        events = await self._receive(1, timeout)
        if not events:
            raise Timeout(f"no event within {timeout or 0} s from {self.endpoint}")
        return events[0]

    async def next_batch(self, max: int = 1000, timeout: Optional[float] = None) -> List[Event]:
        """Up to ``max`` events (1 to 65536) in one round trip, waiting at most ``timeout``
        seconds for the first (``None``: until one comes); ``[]`` when none came in time."""
        return await self._receive(max, timeout)

    def __aiter__(self) -> AsyncPlugin:
        return self

    async def __anext__(self) -> Event:
        """The next event, waiting as long as it takes; the iteration ends once the plugin
        has quit or was closed."""
        if self._stash:
            event = self._stash.popleft()
            self._drained()
            return self._handing([event])[0]
        try:
            # Fetched _AHEAD at a time; the others wait in the stash for the next ones.
            events = await self._receive(1, None, _AHEAD)
        except Closed:
            raise StopAsyncIteration from None
        return events[0]

    async def publish(self, data: _BytesLike) -> None:
        """Publishes one event (bytes, its filter first); waits while the bus is full, at most
        ``publish_timeout``. A publish whose task is cancelled may have been published."""
        plugin = self._plugin
        await self._call(lambda: plugin.publish(data))

    async def publish_many(self, events: Iterable[_BytesLike]) -> int:
        """Publishes every event of ``events``, in order, in one round trip per 65536 (taken
        from the iterable in the loop's thread); returns how many were published."""
        plugin = self._plugin
        it = iter(events)
        total = 0
        while True:
            chunk = list(itertools.islice(it, MAX_BATCH))
            if not chunk:
                return total
            total += await self._call(lambda: plugin.publish_many(chunk))

    async def ack(self, seq: Optional[int] = None) -> int:
        """Tells the engine every event handed out so far is processed (not those fetched
        ahead and not handed out yet), or with ``seq`` those up to and including ``seq``;
        returns how many events it still holds unacknowledged for this plugin."""
        plugin = self._plugin
        if seq is not None or plugin.protocol == 1:
            return await self._call(lambda: plugin.ack(seq))
        handed = self._handed

        def ack() -> int:
            # In the plugin's thread: what the client received is known there.
            last = plugin.last_seq
            if last is None:
                return plugin.ack()
            if handed is None:  # nothing handed out: acknowledge nothing
                return plugin.stats().pending
            return plugin.ack(min(handed, last))

        return await self._call(ack)

    async def info(self) -> Info:
        """Who this plugin is on the engine and what the engine supports."""
        return await self._call(self._plugin.info)

    async def stats(self) -> Stats:
        """This plugin's counters on the engine."""
        return await self._call(self._plugin.stats)

    async def quit(self) -> None:
        """Tells the engine this plugin is done; the plugin cannot be used afterwards. Calling
        it again does nothing."""
        if self._plugin.closed:
            return
        await self._call(self._plugin.quit)

    async def close(self) -> None:
        """Drops the connection without quitting: the engine delivers what was not
        acknowledged to the next connection."""
        if self._plugin.closed:
            return
        await self._call(self._plugin.close)

    async def __aenter__(self) -> AsyncPlugin:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> bool:
        """Quits. An error while quitting is raised only when no other exception is on its
        way."""
        try:
            await self.quit()
        except Exception:
            if exc_type is None:
                raise
        return False

    def __repr__(self) -> str:
        return f"AsyncPlugin(endpoint='{self.endpoint}', closed={self.closed})"
