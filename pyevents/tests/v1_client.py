"""Protocol v1 exactly as event-engine 0.2's ``events.py`` puts it on the wire, on plain pyzmq
(written for these tests; it sends the same bytes: ``plugin_command: next_msg`` as a string, an
event's bytes, ``plugin_command: quit``). It is also the pattern of real 0.2 plugins that call
``get_plugin_socket`` inside their receive loop: a new context and REQ socket per receive, never
closed.

It must stay runnable on Python 3.8, which 0.2 users run (``make test-python`` checks this file
with vermin).
"""

import zmq


def plugin_socket(context, port, host="127.0.0.1"):
    """A REQ socket connected to the external plugin at ``port`` on ``host``."""
    socket = context.socket(zmq.REQ)
    socket.connect("tcp://{}:{}".format(host, port))
    return socket


def next_msg(socket):
    """The next event's bytes."""
    socket.send_string("plugin_command: next_msg")
    return socket.recv()


def publish(socket, data):
    """Publishes ``data``; returns the engine's reply."""
    socket.send(data)
    return socket.recv_string()


def quit_plugin(socket):
    """Tells the engine the plugin is done (0.2 reads no reply)."""
    socket.send_string("plugin_command: quit")


def receive_with_a_socket_per_event(port, count, host="127.0.0.1"):
    """``count`` events, each through a fresh context and socket, as many 0.2 plugins do."""
    received = []
    for _ in range(count):
        socket = plugin_socket(zmq.Context(), port, host)
        received.append(next_msg(socket))
    return received


if __name__ == "__main__":
    # python v1_client.py PORT COUNT: receives COUNT events, one socket each, prints them, quits.
    import sys

    port, count = int(sys.argv[1]), int(sys.argv[2])
    for event in receive_with_a_socket_per_event(port, count):
        print(event.decode("utf-8", "replace"), flush=True)
    last = plugin_socket(zmq.Context(), port)
    quit_plugin(last)
    last.setsockopt(zmq.RCVTIMEO, 5000)
    last.recv()
