"""Pipeline plugin: tracks every image and score, retrying for ever on any error (here, the
time-outs it asks for), as the camera-trap application's oracle does."""

import os
import sys

from pyevents.events import get_next_msg, get_plugin_socket, send_quit_command

port, count = int(os.environ["EE_PLUGIN_PORT"]), int(sys.argv[1])
socket = get_plugin_socket(None, port, host="127.0.0.1")
socket.RCVTIMEO = 20
images, scores, errors = [], [], 0
while len(images) < count or len(scores) < count:
    try:
        event = get_next_msg(socket)
    except Exception:  # noqa: BLE001 - the pattern under test: log, and try again
        errors += 1
        continue
    (images if event.startswith(b"Image") else scores).append(event)
if images != [b"Image%d" % i for i in range(count)]:
    sys.exit("oracle: images out of order or repeated")
if sorted(scores) != sorted(b"Score%d" % i for i in range(count)):
    sys.exit("oracle: scores missing or repeated")
send_quit_command(socket)
print("oracle: %d images, %d scores, %d time-outs retried" % (count, count, errors), flush=True)
