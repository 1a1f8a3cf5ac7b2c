"""The exceptions of pyevents.

Every exception is a :class:`pyevents.Error` with two stable attributes:

``code``
    a short machine-readable name (``"timeout"``, ``"disconnected"``, ...); for a
    :class:`ProtocolError`, the engine's wire code name (``"bad_sequence"``, ...).
``kind``
    the error kind number shared by every event-engine SDK (the C status codes, Node's
    ``errno``): 1 invalid argument, 2 disconnected, 3 protocol, 4 interrupted, 5 closed,
    6 unexpected reply, 7 ZeroMQ; ``None`` for :class:`Timeout`, which is not an error of the
    client but an answer ("nothing came in time").

:class:`Timeout` is a :class:`TimeoutError` and, when pyzmq is importable, also a
``zmq.error.Again``, so plugins written for event-engine 0.2's ``events.py`` that catch
``zmq.error.Again`` keep working unchanged.
"""

from __future__ import annotations

import errno as _errno
from typing import Optional, Tuple, Type

__all__ = [
    "Error",
    "InvalidArgument",
    "Disconnected",
    "ProtocolError",
    "Interrupted",
    "Closed",
    "UnexpectedReply",
    "TransportError",
    "Timeout",
]


class Error(Exception):
    """The base class of every pyevents exception."""

    #: A short stable machine-readable name of the error.
    code: str = "error"
    #: The error kind number shared by every SDK (``None`` when it is not a client error).
    kind: Optional[int] = None

    def __init__(self, message: str = "") -> None:
        Exception.__init__(self, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(Error, ValueError):
    """An argument was invalid (an empty event, a batch size out of range, ...)."""

    code = "invalid_argument"
    kind = 1


class Disconnected(Error, ConnectionError):
    """The engine did not answer in time, even after reconnecting. Is it running?"""

    code = "disconnected"
    kind = 2


class ProtocolError(Error):
    """The engine refused the request.

    ``code`` is the engine's error code name (``"bad_sequence"``, ``"pending_full"``, ...) and
    ``wire_code`` its number (1 to 9, ``docs/protocol.md`` §4.2).
    """

    code = "protocol"
    kind = 3

    def __init__(self, message: str = "", code: str = "protocol", wire_code: int = 0) -> None:
        Error.__init__(self, message)
        self.code = code
        #: The engine's numeric error code (1 to 9).
        self.wire_code = wire_code


class Interrupted(Error):
    """A blocking call was interrupted by :meth:`pyevents.Plugin.cancel` from another thread.

    (Ctrl-C raises :class:`KeyboardInterrupt`, as everywhere in Python.)
    """

    code = "interrupted"
    kind = 4


class Closed(Error):
    """The plugin has quit (or its socket was closed); make a new one."""

    code = "closed"
    kind = 5


class UnexpectedReply(Error):
    """The engine's reply did not follow the protocol (an engine that only speaks v1?)."""

    code = "unexpected_reply"
    kind = 6


class TransportError(Error):
    """A ZeroMQ call failed (a bad endpoint, too many open files, ...)."""

    code = "zmq"
    kind = 7


def _timeout_bases() -> Tuple[Type[BaseException], ...]:
    try:
        from zmq.error import Again  # type: ignore[import-not-found,unused-ignore]
    except Exception:  # pyzmq is optional; any failure to import it means "not there"
        return (Error, TimeoutError)
    return (Error, TimeoutError, Again)


class Timeout(*_timeout_bases()):  # type: ignore[misc]
    """No event came in time.

    A :class:`TimeoutError`, and also a ``zmq.error.Again`` when pyzmq is importable (as the
    exception of event-engine 0.2's ``events.py`` was). The connection stays usable.
    """

    code = "timeout"
    kind = None

    def __init__(self, message: str = "no event came in time") -> None:
        Error.__init__(self, message)
        # What zmq.error.Again carries, so code that looks at it sees what it expects.
        self.errno = _errno.EAGAIN
        self.strerror = message

    def __str__(self) -> str:
        return Error.__str__(self)
