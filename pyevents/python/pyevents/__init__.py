"""pyevents: the Python SDK of event-engine.

An external plugin is a process that receives the events it subscribed to, and publishes
events, through its port on an engine::

    import pyevents

    with pyevents.Plugin(6000) as plugin:
        for event in plugin:
            plugin.publish(b"TypeB" + event.data[5:])

The same for asyncio, with :class:`pyevents.AsyncPlugin`::

    async with pyevents.AsyncPlugin(6000) as plugin:
        async for event in plugin:
            await plugin.publish(b"TypeB" + event.data[5:])

Plugins written for event-engine 0.2's ``events.py`` keep working with
``from pyevents.events import get_plugin_socket, get_next_msg, publish_msg, send_quit_command``.

The protocol is spoken by the shared Rust client (``event-engine-client``), which this package
wraps; see ``docs/python.md``.
"""

from .errors import (
    Closed,
    Disconnected,
    Error,
    InvalidArgument,
    Interrupted,
    ProtocolError,
    Timeout,
    TransportError,
    UnexpectedReply,
)
from ._native import MAX_BATCH, PROTOCOL_VERSION, Event, Info, Plugin, Stats, __version__
from .aio import AsyncPlugin

__all__ = [
    "Plugin",
    "AsyncPlugin",
    "Event",
    "Info",
    "Stats",
    "Error",
    "Timeout",
    "Disconnected",
    "ProtocolError",
    "InvalidArgument",
    "Interrupted",
    "Closed",
    "UnexpectedReply",
    "TransportError",
    "MAX_BATCH",
    "PROTOCOL_VERSION",
    "__version__",
]
