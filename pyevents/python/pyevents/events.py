"""Drop-in replacement for event-engine 0.2's ``events.py``.

Change one import and nothing else::

    # from events import get_plugin_socket, get_next_msg, publish_msg, send_quit_command
    from pyevents.events import get_plugin_socket, get_next_msg, publish_msg, send_quit_command

    context = zmq.Context()                      # still accepted (or None); not needed
    socket = get_plugin_socket(context, 6000)    # host="engine" by default, as before
    socket.RCVTIMEO = 100
    try:
        msg = get_next_msg(socket)
    except zmq.error.Again:                      # pyevents.Timeout is a zmq.error.Again
        ...
    publish_msg(socket, b"TypeBresult")          # returns "event-engine: msg published"
    send_quit_command(socket)

It speaks exactly the protocol v1 bytes of 0.2's ``events.py`` (``plugin_command: next_msg``,
an event's bytes to publish it, ``plugin_command: quit``; never anything else), through the same
Rust client as :class:`pyevents.Plugin` (``Plugin(protocol=1)``), so a plugin that uses it works
against an event-engine 0.2 engine and a 0.3 one alike. As with 0.2, an event is delivered when
the engine sends it: every ``get_next_msg`` returns the next event, whichever socket asks (a
plugin may call ``get_plugin_socket`` for every receive). For at-least-once delivery (events
redelivered after a crash), batches and engine-side time-outs, use :class:`pyevents.Plugin`.

What is better than 0.2: nothing is printed; a time-out leaves the socket usable, and loses
nothing: the request stays open and the next receive waits for its reply instead of asking
again (publishing meanwhile goes through a second connection); Ctrl-C interrupts a wait.

**Time-outs.** ``get_next_msg(socket, timeout)`` waits ``timeout`` milliseconds (-1: no limit)
and raises :class:`pyevents.Timeout` (a ``zmq.error.Again`` when pyzmq is installed) when no
event came in time. Without a ``timeout`` argument it waits the socket's ``RCVTIMEO`` (-1 unless
the plugin set it). In 0.2, ``get_next_msg`` overwrote ``RCVTIMEO`` with its own default of -1,
so a plugin that set ``socket.RCVTIMEO = 100`` and caught ``zmq.error.Again`` waited for ever
instead; here the plugin gets what it asked for. An explicit ``timeout`` applies to that call
only and does not change ``RCVTIMEO``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from ._native import Plugin, tcp_endpoint
from .errors import Closed, Error, InvalidArgument

__all__ = [
    "get_plugin_socket",
    "get_next_msg",
    "publish_msg",
    "send_quit_command",
    "PluginSocket",
]

NEXT_MSG = b"plugin_command: next_msg"
QUIT = b"plugin_command: quit"
COMMAND_PREFIX = b"plugin_command:"
MSG_PUBLISHED = b"event-engine: msg published"
BYE = b"event-engine: bye"

# pyzmq's option and flag numbers (zmq.RCVTIMEO, ...), for setsockopt()/getsockopt().
RCVTIMEO = 27
SNDTIMEO = 28
LINGER = 17
NOBLOCK = 1

BytesLike = Union[bytes, bytearray, memoryview]


def _seconds(timeout_ms: int) -> Optional[float]:
    """A ZeroMQ time-out in milliseconds (negative: no limit) in seconds (None: no limit)."""
    return None if timeout_ms < 0 else timeout_ms / 1000.0


class PluginSocket:
    """What :func:`get_plugin_socket` returns: it looks like 0.2's ZeroMQ REQ socket.

    It has ``RCVTIMEO`` (milliseconds, -1 for no limit), ``send``/``send_string``,
    ``recv``/``recv_string``, ``setsockopt``/``getsockopt``, ``close`` and ``closed``, and
    understands the requests of protocol v1: ``plugin_command: next_msg``, ``plugin_command:
    quit`` and any other bytes (an event to publish). Unlike a REQ socket it never gets stuck:
    after a time-out, ``recv()`` waits again for the same request, or a new request can be sent
    (a ``next_msg`` still waits for the reply of the one that timed out: no event is lost).

    ``plugin`` is the :class:`pyevents.Plugin` underneath, for code that migrates piecemeal.
    """

    def __init__(self, endpoint: str) -> None:
        #: The connection to the engine (protocol v1: 0.2's bytes).
        self.plugin = Plugin(endpoint=endpoint, protocol=1)
        #: Receive time-out in milliseconds (-1: wait for ever), as on a ZeroMQ socket.
        self.RCVTIMEO: int = -1
        #: Accepted for compatibility; publishing waits as ``Plugin.publish`` does.
        self.SNDTIMEO: int = -1
        #: Accepted for compatibility.
        self.LINGER: int = -1
        self._reply: Optional[bytes] = None  # what recv() returns next, or NEXT_MSG

    @property
    def endpoint(self) -> str:
        """The endpoint this socket talks to."""
        return self.plugin.endpoint

    @property
    def closed(self) -> bool:
        """True once the socket was closed or the plugin quit."""
        return self.plugin.closed

    # --- requests --------------------------------------------------------------------------

    def send(self, data: BytesLike, flags: int = 0, copy: bool = True, track: bool = False) -> None:
        """Sends a v1 request: ``plugin_command: next_msg``, ``plugin_command: quit``, or an
        event to publish (published at once; ``recv()`` then returns the engine's reply)."""
        if isinstance(data, str):
            raise TypeError("unicode not allowed, use send_string")
        frame = bytes(data)
        if frame == NEXT_MSG:
            self._reply = NEXT_MSG
        elif frame == QUIT:
            self.plugin.quit()
            self._reply = BYE
        elif frame.startswith(COMMAND_PREFIX):
            raise InvalidArgument(
                f"{frame[:40]!r}: a PluginSocket sends only the v1 requests next_msg and quit; "
                "use pyevents.Plugin for the others"
            )
        else:
            self._reply = None
            self.plugin.publish(frame)
            self._reply = MSG_PUBLISHED

    def send_string(self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8") -> None:
        """Sends ``u`` encoded (like pyzmq's ``send_string``)."""
        if not isinstance(u, str):
            raise TypeError("str objects only")
        self.send(u.encode(encoding), flags)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> bytes:
        """The reply to the last request: for ``next_msg``, the next event, waiting at most
        ``RCVTIMEO`` ms (0 with ``flags=zmq.NOBLOCK``). Raises :class:`pyevents.Timeout` when
        no event came in time; the request stays open, so ``recv()`` can wait again."""
        if self._reply is None:
            raise Error("recv() without a request: send one first (e.g. plugin_command: next_msg)")
        if self._reply == NEXT_MSG:
            timeout = 0 if flags & NOBLOCK else self.RCVTIMEO
            data = self._next(timeout)
            self._reply = None
            return data
        reply, self._reply = self._reply, None
        return reply

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """The reply to the last request, decoded."""
        return self.recv(flags).decode(encoding)

    def _next(self, timeout_ms: int) -> bytes:
        return self.plugin.next(_seconds(timeout_ms)).data

    # --- options ---------------------------------------------------------------------------

    def setsockopt(self, option: int, value: Any) -> None:
        """``zmq.RCVTIMEO``, ``zmq.SNDTIMEO`` and ``zmq.LINGER`` are kept; others are ignored."""
        if option == RCVTIMEO:
            self.RCVTIMEO = int(value)
        elif option == SNDTIMEO:
            self.SNDTIMEO = int(value)
        elif option == LINGER:
            self.LINGER = int(value)

    def getsockopt(self, option: int) -> int:
        """The value of ``zmq.RCVTIMEO``, ``zmq.SNDTIMEO`` or ``zmq.LINGER``."""
        if option == RCVTIMEO:
            return self.RCVTIMEO
        if option == SNDTIMEO:
            return self.SNDTIMEO
        if option == LINGER:
            return self.LINGER
        raise InvalidArgument(f"option {option} is not kept by a PluginSocket")

    set = setsockopt
    get = getsockopt

    # --- life cycle ------------------------------------------------------------------------

    def close(self, linger: Optional[int] = None) -> None:
        """Closes the connection without quitting. An event the engine had not yet sent goes to
        the next connection that asks; one it sent was delivered (protocol v1)."""
        self.plugin.close()

    def __enter__(self) -> "PluginSocket":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PluginSocket {self.endpoint} RCVTIMEO={self.RCVTIMEO}{' closed' if self.closed else ''}>"


def get_plugin_socket(context: Any, port: Union[int, str], host: str = "engine") -> PluginSocket:
    """A socket to the external plugin at ``port`` on ``host`` (0.2's signature; ``context``,
    a ``zmq.Context`` or None, is not needed). Connecting is lazy, as with ZeroMQ."""
    return PluginSocket(tcp_endpoint(host, int(port)))


def get_next_msg(socket: Any, timeout: Optional[int] = None) -> bytes:
    """The next event's bytes, waiting at most ``timeout`` ms (-1: no limit; omitted: the
    socket's ``RCVTIMEO``). Raises :class:`pyevents.Timeout` (a ``zmq.error.Again`` when pyzmq
    is installed) when no event came in time; the socket stays usable. Prints nothing.

    ``socket`` may also be a pyzmq REQ socket made by the plugin itself: it then gets 0.2's v1
    exchange, minus the printing."""
    if isinstance(socket, PluginSocket):
        if socket.closed:
            raise Closed("the socket is closed")
        socket._reply = None
        return socket._next(socket.RCVTIMEO if timeout is None else int(timeout))
    if timeout is not None:
        socket.RCVTIMEO = timeout
    socket.send_string("plugin_command: next_msg")
    data: bytes = socket.recv()
    return data


def publish_msg(socket: Any, data: BytesLike) -> str:
    """Publishes ``data`` (an event: bytes, filter first); returns the engine's reply,
    ``"event-engine: msg published"``."""
    if isinstance(socket, PluginSocket):
        socket.send(data)
        return socket.recv_string()
    socket.send(data)
    reply: str = socket.recv_string()
    return reply


def send_quit_command(socket: Any) -> None:
    """Tells the engine the plugin is done."""
    socket.send_string("plugin_command: quit")
