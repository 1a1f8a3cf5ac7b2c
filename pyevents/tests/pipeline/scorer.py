"""Pipeline plugin: scores images, opening a new socket for every receive (pyevents.events), as
the camera-trap application's scorer does."""

import os
import sys

from pyevents.events import get_next_msg, get_plugin_socket, publish_msg, send_quit_command

port, count = int(os.environ["EE_PLUGIN_PORT"]), int(sys.argv[1])
seen = []
for _ in range(count):
    socket = get_plugin_socket(None, port, host="127.0.0.1")
    image = get_next_msg(socket)
    seen.append(image)
    publish_msg(socket, b"Score" + image[len(b"Image"):])
if seen != [b"Image%d" % i for i in range(count)]:
    sys.exit("scorer: images out of order or repeated: %r" % seen[:10])
send_quit_command(get_plugin_socket(None, port, host="127.0.0.1"))
print("scorer: %d images scored" % count, flush=True)
