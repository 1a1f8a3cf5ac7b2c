"""Type-checked by test_stubs.py (mypy --strict), never run: the API as a plugin uses it."""

from typing import List

import pyevents
from pyevents.events import get_next_msg, get_plugin_socket, publish_msg, send_quit_command


def modern() -> int:
    with pyevents.Plugin(6000, reply_timeout=1.0, publish_timeout=None, max_batch_bytes=1 << 20) as plugin:
        event: pyevents.Event = plugin.next(timeout=0.5)
        first: bytes = event.data
        batch: List[pyevents.Event] = plugin.next_batch(10, timeout=None)
        published: int = plugin.publish_many(e.data for e in batch)
        plugin.publish(bytearray(first))
        subscriptions: List[bytes] = plugin.info().subscriptions
        pending: int = plugin.stats().pending + plugin.ack()
        for e in plugin:
            if e.redelivered and e.seq > 1:
                break
        seq = plugin.last_seq
    return published + pending + len(subscriptions) + (seq or 0)


async def modern_async() -> int:
    async with pyevents.AsyncPlugin(6000, publish_timeout=None) as plugin:
        event: pyevents.Event = await plugin.next_event(timeout=0.5)
        batch: List[pyevents.Event] = await plugin.next_batch(10, timeout=None)
        published: int = await plugin.publish_many(e.data for e in batch)
        await plugin.publish(memoryview(event.data))
        name: str = (await plugin.info()).name
        pending: int = (await plugin.stats()).pending + await plugin.ack()
        async for e in plugin:
            if e.redelivered:
                break
        seq = plugin.last_seq
        closed: bool = plugin.closed
    await plugin.close()
    return published + pending + len(name) + (seq or 0) + closed


def old() -> str:
    socket = get_plugin_socket(None, 6000)
    socket.RCVTIMEO = 100
    try:
        msg: bytes = get_next_msg(socket)
    except pyevents.Timeout as e:
        code: str = e.code
        return code
    except pyevents.ProtocolError as e:
        wire: str = e.wire_code
        number: int = e.wire_code_number
        kind: str = e.kind
        return f"{kind} {wire} {number}"
    reply: str = publish_msg(socket, msg)
    send_quit_command(socket)
    return reply
