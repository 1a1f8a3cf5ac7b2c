"""A fake engine for the tests that need one to misbehave on demand: a pyzmq ROUTER socket that
answers every request with a scripted reply (or not at all), recording each request."""

from __future__ import annotations

import threading
from typing import List, Optional

import zmq


class FakeEngine:
    """Answers each request with `reply` (a list of frames); `reply=None` never answers.
    `requests` holds the body of every request (what follows the REQ envelope). A subclass may
    answer otherwise by overriding `answer`."""

    def __init__(self, reply: Optional[List[bytes]]) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.reply = reply
        self.requests: List[List[bytes]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self.stop.is_set():
            if not poller.poll(20):
                continue
            frames = self.sock.recv_multipart()
            split = frames.index(b"") + 1  # the REQ envelope ends with an empty frame
            reply = self.answer(frames[split:])
            if reply is not None:
                self.sock.send_multipart(frames[:split] + reply)

    def answer(self, body: List[bytes]) -> Optional[List[bytes]]:
        """Records the request; the frames to answer it with, or None for no answer."""
        self.requests.append(body)
        return self.reply

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()
        self.ctx.term()
