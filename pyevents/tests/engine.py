"""A real engine for the tests: the workspace's `event-engine` CLI, started on free ports.

`EE_ENGINE_BIN` names the binary (`make test-python` sets it); otherwise the debug build in the
workspace's `target/` is used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

import zmq

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

Subscriptions = Iterable[Union[str, Dict[str, str]]]


def engine_bin() -> str:
    path = os.environ.get("EE_ENGINE_BIN") or str(REPO / "target" / "debug" / "event-engine")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no event-engine binary at {path}: run `cargo build -p event-engine-cli` "
            "or set EE_ENGINE_BIN"
        )
    return path


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def app_toml(
    plugins: Dict[str, Subscriptions],
    bus: Optional[Dict[str, object]] = None,
    keys: Optional[Dict[str, Dict[str, object]]] = None,
) -> str:
    """`keys`: more keys of some plugins' entries (e.g. `token_file`)."""
    lines: List[str] = []
    if bus:
        lines.append("[bus]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in bus.items()]
    for name, subs in plugins.items():
        lines += ["", "[[plugins]]", f"name = {_toml_value(name)}"]
        lines.append(f"subscriptions = {_toml_value(list(subs))}")
        lines += [f"{k} = {_toml_value(v)}" for k, v in ((keys or {}).get(name) or {}).items()]
    return "\n".join(lines) + "\n"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.01):
    """Polls `predicate` until it returns something truthy, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Engine:
    """An `event-engine run` process with external plugins on free ports."""

    def __init__(
        self,
        workdir: Path,
        plugins: Dict[str, Subscriptions],
        bus: Optional[Dict[str, object]] = None,
        keys: Optional[Dict[str, Dict[str, object]]] = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.app = workdir / "app.toml"
        self.app.write_text(app_toml(plugins, bus, keys))
        self.ready_file = workdir / "ready.json"
        self.log = workdir / "engine.log"
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [engine_bin(), "run", str(self.app), "--ready-file", str(self.ready_file)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        ready = wait_for(self._read_ready, 30, "the engine's ready file")
        self.ready: dict = ready
        self.ports: Dict[str, int] = {n: p["port"] for n, p in ready["plugins"].items()}
        #: The bus's outgoing endpoint, where a raw ZeroMQ SUB socket receives events.
        self.subscribe_endpoint: str = ready["subscribe"]
        #: The bus's incoming endpoint, where a raw ZeroMQ PUB socket publishes events.
        self.publish_endpoint: str = ready["publish"]

    def _read_ready(self) -> Optional[dict]:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the engine exited with {self.proc.returncode}: {self.output()}")
        try:
            return json.loads(self.ready_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def port(self, name: str) -> int:
        return self.ports[name]

    def endpoint(self, name: str) -> str:
        return f"tcp://127.0.0.1:{self.ports[name]}"

    def output(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")

    def quit(self, *names: str) -> None:
        """Sends v1 `quit` on the ports of the plugins `names` (as a 0.2 plugin would)."""
        ctx = zmq.Context.instance()
        for name in names:
            s = ctx.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 5000)
            s.connect(self.endpoint(name))
            s.send(b"plugin_command: quit")
            assert s.recv() == b"event-engine: bye"
            s.close()

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Ctrl-C, then SIGKILL if it does not go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
