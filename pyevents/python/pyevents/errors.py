"""The exceptions of pyevents.

Every exception is a :class:`pyevents.Error` with three stable attributes, the same in every
event-engine SDK (Rust ``ErrorKind``, Node.js ``code``/``codeNumber``/``kind``, C status codes):

``kind``
    the kind's name: ``"disconnected"``, ``"protocol"``, ...
``code``
    its string code: ``"EE_DISCONNECTED"``, ... (the name of the C status);
``code_number``
    its number: 1 invalid argument, 2 disconnected, 3 protocol, 4 interrupted, 5 closed,
    6 unexpected reply, 7 ZeroMQ.

The kinds, their numbers and codes come from the Rust client (``_native.ERROR_KINDS``): this
module only gives each kind its class. :class:`Timeout` (kind ``"timeout"``, code
``"EE_TIMEOUT"``, number ``None``) is Python's own: not an error of the client but an answer
("nothing came in time"). A :class:`ProtocolError` also has the engine's reason, ``wire_code``
(``"pending_full"``, ...) and ``wire_code_number``.

:class:`Timeout` is a :class:`TimeoutError` and, when pyzmq is importable, also a
``zmq.error.Again``, so plugins written for event-engine 0.2's ``events.py`` that catch
``zmq.error.Again`` keep working unchanged.
"""

from __future__ import annotations

import errno as _errno
from typing import Dict, Optional, Tuple, Type

from ._native import ERROR_KINDS

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

    #: The kind's name, e.g. ``"disconnected"``.
    kind: str = "error"
    #: The kind's string code, e.g. ``"EE_DISCONNECTED"``.
    code: str = "EE_ERROR"
    #: The kind's number, shared by every SDK (``None`` when it is not a client error).
    code_number: Optional[int] = None

    def __init__(self, message: str = "") -> None:
        Exception.__init__(self, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(Error, ValueError):
    """An argument was invalid (an empty event, a batch size out of range, ...)."""


class Disconnected(Error, ConnectionError):
    """The engine did not answer in time, even after reconnecting. Is it running?"""


class ProtocolError(Error):
    """The engine refused the request.

    ``wire_code`` is the engine's error code (``"bad_sequence"``, ``"pending_full"``, ...) and
    ``wire_code_number`` its number (1 to 9, ``docs/protocol.md`` §4.2).
    """

    def __init__(self, message: str = "", wire_code: str = "", wire_code_number: int = 0) -> None:
        Error.__init__(self, message)
        #: The engine's error code, e.g. ``"pending_full"``.
        self.wire_code = wire_code
        #: Its number (1 to 9).
        self.wire_code_number = wire_code_number


class Interrupted(Error):
    """A blocking call was interrupted by :meth:`pyevents.Plugin.cancel` from another thread.

    (Ctrl-C raises :class:`KeyboardInterrupt`, as everywhere in Python.)
    """


class Closed(Error):
    """The plugin has quit (or its socket was closed); make a new one."""


class UnexpectedReply(Error):
    """The engine's reply did not follow the protocol (an engine that only speaks v1?)."""


class TransportError(Error):
    """A ZeroMQ call failed (a bad endpoint, too many open files, ...)."""


def _bind_kinds() -> Dict[str, Type[Error]]:
    """Gives each class of the Rust client's table its kind, code and number; a kind without
    its class here fails the import (and so every test) until this module handles it."""
    classes: Dict[str, Type[Error]] = {}
    for number, kind, code, class_name in ERROR_KINDS:
        cls = globals().get(class_name)
        if not (isinstance(cls, type) and issubclass(cls, Error)):
            raise ImportError(f"pyevents.errors has no class {class_name} for error kind {kind!r}")
        cls.kind, cls.code, cls.code_number = kind, code, number
        classes[class_name] = cls
    return classes


#: The class of each kind of the Rust client's table, by class name.
KINDS = _bind_kinds()


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

    kind = "timeout"
    code = "EE_TIMEOUT"
    code_number = None

    def __init__(self, message: str = "no event came in time") -> None:
        Error.__init__(self, message)
        # What zmq.error.Again carries, so code that looks at it sees what it expects.
        self.errno = _errno.EAGAIN
        self.strerror = message

    def __str__(self) -> str:
        return Error.__str__(self)
