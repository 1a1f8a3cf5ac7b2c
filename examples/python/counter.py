"""The `counter` example in Python: an external plugin that answers every `TypeA` event with a
`TypeB` event carrying the number of characters (bytes) after the 5-byte filter, and quits after
N events.

    python3 counter.py [PORT]       # PORT: argv, else $EE_PLUGIN_PORT (set by `event-engine run`)
    EE_COUNT=1000 python3 counter.py 6000

N is $EE_COUNT (default 5); the answers' type is $EE_REPLY_TYPE (default TypeB). The same example exists in every language under examples/; see
app.toml beside this file to run it with the engine, and examples/rust/counter.rs.
"""

import os
import sys

import pyevents

FILTER_LEN = 5  # b"TypeA"


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["EE_PLUGIN_PORT"])
    count = int(os.environ.get("EE_COUNT") or 5)
    reply = (os.environ.get("EE_REPLY_TYPE") or "TypeB").encode()
    answered = 0
    with pyevents.Plugin(port) as plugin:  # quits on exit
        while answered < count:
            # Up to what is left, in one round trip; waits as long as it takes (Ctrl-C works).
            batch = plugin.next_batch(min(1000, count - answered))
            plugin.publish_many(b"%s%d" % (reply, len(e.data) - FILTER_LEN) for e in batch)
            answered += len(batch)
    print(f"counter: answered {answered} events", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
