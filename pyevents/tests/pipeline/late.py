"""Pipeline plugin: declared in app.toml but started late; 0.2's v1 bytes on raw pyzmq, one
socket per receive."""

import os
import sys

import v1_client

port, count = int(os.environ["EE_PLUGIN_PORT"]), int(sys.argv[1])
got = v1_client.receive_with_a_socket_per_event(port, count)
if got != [b"Image%d" % i for i in range(count)]:
    sys.exit("late: images out of order or repeated")
import zmq  # noqa: E402

v1_client.quit_plugin(v1_client.plugin_socket(zmq.Context(), port))
print("late: %d images" % count, flush=True)
