#!/usr/bin/env python3
"""The attacks of issue "No client can crash, wedge or starve the engine", against a real
`event-engine run` process: each prints what happened and the engine's peak memory.

    python3 crates/event-engine-bench/attacks.py ENGINE_BIN [ATTACK ...]

Attacks: abort wedge bypass mem-2g mem-empty-frames mem-1000x1m mem-unfinished fd-spin.
Needs pyzmq. Everything runs on 127.0.0.1 and ends by itself (bounded counts and times).
"""

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

import zmq

ENGINE = None


def rss_kib(pid, key="VmHWM"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Engine:
    """`event-engine run` on a generated app.toml; `plugins` are (name, [filters])."""

    def __init__(self, toml_body, prlimit_nofile=None):
        self.dir = tempfile.mkdtemp(prefix="ee-attack-")
        self.app = os.path.join(self.dir, "app.toml")
        self.ready = os.path.join(self.dir, "ready.json")
        with open(self.app, "w") as f:
            f.write(toml_body)
        cmd = [ENGINE, "run", self.app, "--ready-file", self.ready, "--quiet"]
        if prlimit_nofile:
            cmd = ["prlimit", f"--nofile={prlimit_nofile}"] + cmd
        self.log = open(os.path.join(self.dir, "engine.log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("engine did not start: " + self.output())
            time.sleep(0.02)
        with open(self.ready) as f:
            self.info = json.load(f)
        self.pid = self.info["pid"]

    def port(self, name):
        return self.info["plugins"][name]["port"]

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def plugin_toml(name, subs, port=0):
    s = ", ".join(json.dumps(x) for x in subs)
    return f'[[plugins]]\nname = "{name}"\nport = {port}\nsubscriptions = [{s}]\n'


def req(ctx, port, frames, timeout_ms=5000):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(f"tcp://127.0.0.1:{port}")
    s.send_multipart(frames)
    if s.poll(timeout_ms):
        r = s.recv_multipart()
    else:
        r = None
    s.close(0)
    return r


def flood(ctx, port, n):
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.SNDHWM, 0)
    d.connect(f"tcp://127.0.0.1:{port}")
    for _ in range(n):
        d.send_multipart([b"", b"plugin_command: hello"])
    return d


def attack_abort(ctx):
    e = Engine(plugin_toml("victim", ["TypeA"]))
    d = flood(ctx, e.port("victim"), 200_000)
    time.sleep(3)
    d.close(0)
    t0 = time.time()
    while time.time() - t0 < 5 and e.alive():
        time.sleep(0.05)
    alive = e.alive()
    out = e.output()
    rc = e.stop()
    reply = None
    print(f"abort: engine alive 5 s after the flooding DEALER left: {alive}; exit {rc}"
          + ("; " + out.strip().splitlines()[-1] if not alive and out.strip() else ""))


def attack_wedge(ctx):
    body = (plugin_toml("victim", ["TypeA"]) + plugin_toml("other", ["TypeB"])
            + '[[generators]]\nname = "gen"\ncount = 100000\nevent = "TypeA{i}"\ninterval_ms = 0\n'
            + '[[generators]]\nname = "gen-b"\ncount = 200\nevent = "TypeB{i}"\ninterval_ms = 10\n')
    e = Engine(body)
    d = flood(ctx, e.port("victim"), 200_000)
    time.sleep(3)
    t0 = time.time()
    r = req(ctx, e.port("victim"), [b"plugin_command: hello"], timeout_ms=10_000)
    hello = time.time() - t0
    # The other plugin's consumer: how many of gen-b's 200 events in 5 s?
    o = ctx.socket(zmq.REQ)
    o.connect(f"tcp://127.0.0.1:{e.port('other')}")
    got = 0
    t0 = time.time()
    while time.time() - t0 < 5:
        o.send(b"plugin_command: recv max=1000 timeout_ms=200")
        if not o.poll(3000):
            break
        rep = o.recv_multipart()
        got += len(rep) - 1
    o.close(0)
    r2 = req(ctx, e.port("victim"), [b"plugin_command: quit"], timeout_ms=5000)
    print(f"wedge: a second client's hello answered: {r is not None} "
          f"({hello:.1f} s); other plugin's consumer got {got} event(s) in 5 s; "
          f"quit answered: {r2 is not None}; engine alive: {e.alive()}")
    d.close(0)
    e.stop()


def attack_bypass(ctx):
    e = Engine(plugin_toml("collector", ["Legit"]))
    p = ctx.socket(zmq.PUB)
    p.connect(f"tcp://127.0.0.1:{e.info['publish_port']}")
    time.sleep(0.5)
    p.send_multipart([b"Legit-first", b"Secret-not-subscribed", b""])
    p.send(b"")
    p.send(b"Legit-single")
    time.sleep(0.5)
    got = req(ctx, e.port("collector"), [b"plugin_command: recv max=100 timeout_ms=1000"])
    print(f"bypass: the plugin subscribed to 'Legit' received {got[1:] if got else None}")
    p.close(0)
    e.stop()


def mem_attack(ctx, name, send):
    e = Engine(plugin_toml("victim", ["TypeA"]))
    time.sleep(0.3)
    base = rss_kib(e.pid, "VmRSS")
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(f"tcp://127.0.0.1:{e.port('victim')}")
    t0 = time.time()
    send(d)
    reply = d.recv_multipart() if d.poll(20_000) else None
    took = time.time() - t0
    time.sleep(0.5)
    peak = rss_kib(e.pid)
    still = req(ctx, e.port("victim"), [b"plugin_command: hello"], 5000)
    print(f"{name}: engine peak RSS {peak / 1024:.0f} MiB (baseline {base / 1024:.0f} MiB); "
          f"reply {reply[-1][:90] if reply else None} after {took:.1f} s; "
          f"connection/engine still serving: {still is not None}")
    d.close(0)
    e.stop()


def attack_mem_2g(ctx):
    big = bytearray(2 * 1024**3)
    big[:5] = b"TypeA"

    def send(d):
        d.send_multipart([b"", zmq.Frame(memoryview(big), copy=False)])
    mem_attack(ctx, "2 GiB event (v1 publish)", send)


def attack_mem_empty_frames(ctx):
    def send(d):
        d.send_multipart([b"", b"plugin_command: publish"] + [b""] * 4_000_000)
    mem_attack(ctx, "4 M empty frames (v2 publish)", send)


def attack_mem_1000x1m(ctx):
    mib = b"TypeA" + b"x" * (1024 * 1024 - 5)

    def send(d):
        d.send_multipart([b"", b"plugin_command: publish"] + [mib] * 1000)
    mem_attack(ctx, "1000 x 1 MiB frames (v2 publish)", send)


def zmtp_dealer(port):
    """A raw TCP connection that speaks ZMTP 3.0 as a DEALER (greeting and READY)."""
    s = socket.create_connection(("127.0.0.1", port))
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\x00")
    greeting += b"\x00" + b"\x00" * 31
    s.sendall(greeting)

    def prop(name, value):
        return bytes([len(name)]) + name + len(value).to_bytes(4, "big") + value
    body = b"\x05READY" + prop(b"Socket-Type", b"DEALER") + prop(b"Identity", b"")
    s.sendall(bytes([0x04, len(body)]) + body)
    return s


def attack_mem_unfinished(ctx):
    """A message that never ends: 500 frames of 1 MiB, each with MORE set, over raw ZMTP."""
    e = Engine(plugin_toml("victim", ["TypeA"]))
    s = zmtp_dealer(e.port("victim"))
    s.sendall(bytes([0x01, 0]))  # the empty delimiter, MORE
    frame = b"TypeA" + b"x" * (1024 * 1024 - 5)
    header = bytes([0x03]) + len(frame).to_bytes(8, "big")  # MORE | LONG
    sent = 0
    s.settimeout(10)
    try:
        for _ in range(500):
            s.sendall(header + frame)
            sent += 1
    except OSError:
        pass
    time.sleep(3)
    peak = rss_kib(e.pid)
    now = rss_kib(e.pid, "VmRSS")
    still = req(ctx, e.port("victim"), [b"plugin_command: hello"], 5000)
    print(f"unfinished message ({sent} MiB sent, never ended, raw ZMTP): engine peak RSS "
          f"{peak / 1024:.0f} MiB, RSS 3 s later {now / 1024:.0f} MiB; engine serving: "
          f"{still is not None}")
    s.close()
    e.stop()


def attack_fd_spin(ctx):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    e = Engine(plugin_toml("victim", ["TypeA"]) + plugin_toml("other", ["TypeB"]),
               prlimit_nofile=1024)
    conns = []
    for _ in range(1100):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", e.port("victim")))
        except BlockingIOError:
            pass
        conns.append(s)
    time.sleep(1)
    c0, t0 = cpu_ticks(e.pid), time.time()
    time.sleep(3)
    cpu = (cpu_ticks(e.pid) - c0) / os.sysconf("SC_CLK_TCK") / (time.time() - t0)
    t0 = time.time()
    r = req(ctx, e.port("other"), [b"plugin_command: hello"], 40_000)
    took = time.time() - t0
    for s in conns[:200]:
        s.close()
    t1 = time.time()
    r2 = req(ctx, e.port("other"), [b"plugin_command: hello"], 20_000)
    took2 = time.time() - t1
    out = e.output()
    for s in conns[200:]:
        s.close()
    print(f"fd limit: engine CPU {cpu * 100:.0f} % with 1100 idle connections under nofile=1024; "
          f"a new client on another port answered: {r is not None} after {took:.1f} s; "
          f"after 200 closed: {r2 is not None} after {took2:.1f} s; "
          f"engine log lines about descriptors: {sum('descriptor' in l or 'open files' in l for l in out.splitlines())}")
    e.stop()


ATTACKS = {
    "abort": attack_abort,
    "wedge": attack_wedge,
    "bypass": attack_bypass,
    "mem-2g": attack_mem_2g,
    "mem-empty-frames": attack_mem_empty_frames,
    "mem-1000x1m": attack_mem_1000x1m,
    "mem-unfinished": attack_mem_unfinished,
    "fd-spin": attack_fd_spin,
}


def main():
    global ENGINE
    ENGINE = sys.argv[1]
    names = sys.argv[2:] or list(ATTACKS)
    ctx = zmq.Context()
    for n in names:
        try:
            ATTACKS[n](ctx)
        except Exception as ex:  # report and go on with the next attack
            print(f"{n}: harness error {ex!r}")
        sys.stdout.flush()
    ctx.term()


if __name__ == "__main__":
    main()
