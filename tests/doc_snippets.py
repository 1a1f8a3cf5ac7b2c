#!/usr/bin/env python3
"""Runs every code block of README.md and the guides, as a reader would.

Every fenced block of the files in DOCS is either prose (``text`` or ``mermaid``) or named:
its info string is ``LANG NAME`` (```` ```python readme-python ````), and HANDLERS below has a
function for NAME that runs it. An unnamed code block, a name without a handler or a handler
without a block fails the run. A block is completed only by what a reader would add:

* a plugin (Python, JavaScript, C, Rust) gets an engine: an ``app.toml`` with a generator of
  events it subscribes to and a collector of its answers, run by ``event-engine run``, which
  launches the block as the plugin's process; the run must deliver every answer;
* a fragment gets the lines around it a program needs (imports, ``main``), and the function
  the reader writes (``classify``) a trivial body;
* shell blocks run as written, in a scratch ``$HOME`` or project folder, with the debug builds
  ``make test`` already made (``C_PROFILE=debug``, ``EVENT_ENGINE_NODE_PROFILE=debug``, the
  shared ``CARGO_TARGET_DIR``); the few commands that would rebuild everything in release mode
  or write to ``/usr/local`` are checked with ``make -n`` instead (they are said so below);
* a sample of output (``text NAME``) is compared with real output: each of its lines, with
  ports, times and durations masked, must be a line the command printed;
* blocks that name a fixed port or host (0.2 code) are pointed at the test's engine.

Rust blocks are programs of ``crates/doc-snippets`` (``doc-snippet NAME``). Run by
``make test-docs`` (part of ``make test``) after the SDK tests have built everything:

    TARGET_DIR=target python3 tests/doc_snippets.py [NAME...]
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
try:
    import tomllib
except ImportError:  # Python < 3.11: the venv has tomli
    import tomli as tomllib  # type: ignore[no-redef]
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("TARGET_DIR") or os.environ.get("CARGO_TARGET_DIR") or REPO / "target").resolve()
DEBUG = TARGET / "debug"
ENGINE = DEBUG / "event-engine"
DOC_SNIPPET = DEBUG / "doc-snippet"
SCRATCH = TARGET / "doc-snippets"
DEADLINE = 120.0

DOCS = [
    "README.md",
    "docs/rust.md",
    "docs/python.md",
    "docs/node.md",
    "docs/c.md",
    "docs/cli.md",
    "docs/migrating-from-0.2.md",
    "docs/architecture.md",
    "docs/security.md",
]
PROSE = {"text", "mermaid"}


@dataclass
class Block:
    file: str
    line: int
    lang: str
    name: str | None
    text: str

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def read_blocks() -> list[Block]:
    out = []
    for doc in DOCS:
        lines = (REPO / doc).read_text().splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("```"):
                info = lines[i][3:].split()
                start = i
                body = []
                i += 1
                while i < len(lines) and not lines[i].startswith("```"):
                    body.append(lines[i])
                    i += 1
                lang = info[0] if info else ""
                name = info[1] if len(info) > 1 else None
                out.append(Block(doc, start + 1, lang, name, "\n".join(body) + "\n"))
            i += 1
    return out


BLOCKS: dict[str, Block] = {}


def block(name: str) -> Block:
    return BLOCKS[name]


# --------------------------------------------------------------------------------------------
# Running things


def scratch(name: str) -> Path:
    d = SCRATCH / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def with_path(first: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` with `first` at the front of its PATH."""
    env["PATH"] = f"{first}:{env['PATH']}"
    return env


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{DEBUG}:{env['PATH']}"
    env["CARGO_TARGET_DIR"] = str(TARGET)
    # A scratch $HOME must not hide the toolchain (rustup and cargo look under $HOME).
    home = Path(os.environ.get("HOME", "/root"))
    env.setdefault("RUSTUP_HOME", str(home / ".rustup"))
    env.setdefault("CARGO_HOME", str(home / ".cargo"))
    env.update(extra)
    return env


def sh(script: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = DEADLINE) -> str:
    """Runs a shell block with bash -e; returns its output (stdout and stderr); fails on error."""
    r = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env or env_with(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}:\n$ {script}\n{r.stdout[-4000:]}")
    return r.stdout


def dry_run(*targets: str) -> None:
    """`make -n TARGET...`: the commands exist and the Makefile knows the targets."""
    sh("make -n --no-print-directory " + " ".join(shlex.quote(t) for t in targets) + " > /dev/null", REPO)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(ready: Path) -> list[dict]:
    r = subprocess.run(
        [str(ENGINE), "stats", "--ready", str(ready), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        timeout=30,
    )
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return []


def run_app(
    d: Path,
    app: str,
    until: Callable[[list[dict]], bool] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """`event-engine run` of `app` in `d`. A plugin that never quits by itself (most examples)
    is stopped with SIGTERM once `until(stats)` holds (default: every collector finished);
    returns the exit status (0, or 143 after that SIGTERM) and the output."""
    (d / "app.toml").write_text(app)
    ready = d / "ready.json"
    log = (d / "run.log").open("w+")
    child = subprocess.Popen(
        [str(ENGINE), "run", "app.toml", "--ready-file", str(ready)],
        cwd=d,
        env=env or env_with(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    until = until or (
        lambda s: all(p.get("state") == "finished" for p in s if p.get("kind") == "internal")
    )
    deadline = time.monotonic() + DEADLINE
    stopped = False
    while child.poll() is None:
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            log.seek(0)
            raise AssertionError(f"the application did not finish in {DEADLINE}s:\n{log.read()}")
        if not stopped and ready.exists():
            s = stats(ready)
            if s and until(s):
                child.send_signal(signal.SIGTERM)
                stopped = True
                continue
        time.sleep(0.05)  # polling the engine's stats with a deadline, not synchronisation
    log.seek(0)
    out = log.read()
    code = child.returncode
    if code not in (0, 143) or (code == 143 and not stopped):
        raise AssertionError(f"event-engine run exited {code}:\n{out}")
    return code, out


def plugin_app(command: list[str], n: int = 100, subscribe: str = "TypeA", reply: str = "TypeB",
               event: str = "TypeAThis is message {i}", collect: int | None = None,
               extra: str = "") -> str:
    app = f"""
[[generators]]
name = "producer"
count = {n}
event = {json.dumps(event)}

[[plugins]]
name = "snippet"
subscriptions = [{json.dumps(subscribe)}]
[plugins.run]
command = {json.dumps(command)}
{extra}"""
    collect = n if collect is None else collect
    if collect:  # 0: no collector
        app += f"""
[[collectors]]
name = "collector"
subscriptions = [{json.dumps(reply)}]
count = {collect}
timeout_ms = 60000
"""
    return app


def expect_collected(out: str, n: int) -> None:
    if not re.search(rf"collector +finished; {n} event\(s\)", out):
        raise AssertionError(f"the collector did not get {n} answers:\n{out}")


def masked(line: str) -> str:
    line = re.sub(r"tcp://127\.0\.0\.1:\d+", "tcp://127.0.0.1:PORT", line)
    line = re.sub(r"\b\d\d:\d\d:\d\d\.\d{3}\b", "TIME", line)
    line = re.sub(r"\b\d+(\.\d+)?(ms|µs|s)\b", "DURATION", line)
    line = re.sub(r'"pid": \d+', '"pid": PID', line)
    return line.rstrip()


def expect_sample(sample: Block, real: str, skip_after_blank: bool = False) -> None:
    """Every line of the sample (but `...` and `$ command` lines) is a line of `real`."""
    real_lines = {masked(l) for l in real.splitlines()}
    for line in sample.text.splitlines():
        if skip_after_blank and not line.strip():
            break
        if not line.strip() or line.strip() == "..." or line.startswith("$ "):
            continue
        if masked(line) not in real_lines:
            raise AssertionError(
                f"{sample.where()}: this line of the sample is not what the command prints:\n"
                f"  {line}\nit printed:\n{real}"
            )


# --------------------------------------------------------------------------------------------
# Languages


def python_plugin(d: Path, code: str, n: int = 100, env: dict[str, str] | None = None, **kw) -> str:
    (d / "plugin.py").write_text(code)
    _, out = run_app(d, plugin_app(["python3", "plugin.py"], n, **kw), env=env)
    return out


CLASSIFY = "def classify(data):\n    return b'cat'\n\n"


def node_project(d: Path) -> None:
    """What `npm install <repo>/bindings/node` gives a project: node_modules/event-engine."""
    (d / "node_modules").mkdir(exist_ok=True)
    link = d / "node_modules" / "event-engine"
    if not link.exists():
        link.symlink_to(REPO / "bindings" / "node")


def node_main(body: str, prelude: str = "", postlude: str = "") -> str:
    return (
        "const { Plugin } = require('event-engine');\n\n"
        "async function main() {\n"
        f"{prelude}{body}{postlude}"
        "}\n\nmain().catch((err) => { console.error(err); process.exit(1); });\n"
    )


def node_plugin(d: Path, code: str, n: int = 100, **kw) -> str:
    node_project(d)
    (d / "plugin.js").write_text(code)
    _, out = run_app(d, plugin_app(["node", "plugin.js"], n, **kw))
    return out


C_PREFIX = SCRATCH / "home" / ".local"


def pkg_env() -> dict[str, str]:
    return env_with(
        HOME=str(SCRATCH / "home"),
        PKG_CONFIG_PATH=f"{C_PREFIX}/lib/pkgconfig",
    )


def c_build(d: Path, source: str, lang: str = "c", out: str = "prog") -> Path:
    """Builds a C (or C++) file against the installed prefix (readme-c-install makes it)."""
    ext, cc, std = ("c", os.environ.get("CC", "cc"), "-std=c99") if lang == "c" else (
        "cpp", os.environ.get("CXX", "c++"), "-std=c++17")
    (d / f"{out}.{ext}").write_text(source)
    sh(f"{cc} {std} -Wall -Wextra -Werror {out}.{ext} -o {out} $(pkg-config --cflags --libs event_engine)",
       d, pkg_env())
    return d / out


# --------------------------------------------------------------------------------------------
# The handlers, by block name


def two_commands(b: Block) -> None:
    # `make demo` and `make test` are what CI runs for real (make test runs this file).
    assert "make demo" in b.text and "make test" in b.text
    dry_run("demo", "test")


def prerequisites(b: Block) -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "```sh prerequisites" in ci, ".ci/run no longer reads the prerequisites block"
    line = next(l for l in b.text.splitlines() if l.startswith("apt-get install "))
    for pkg in line.split()[2:]:
        probe = {"python3-venv": "python3 -c 'import venv, ensurepip'", "nodejs": "command -v node"}.get(
            pkg, f"command -v {pkg} || dpkg -s {pkg}")  # libraries (libzmq3-dev) are no commands
        sh(f"{probe} > /dev/null", REPO)


def demo_output(b: Block) -> None:
    log = TARGET / "demo.log"
    assert log.exists(), f"{log} is written by `make test-demo`, which runs before this"
    expect_sample(b, log.read_text())


def rust_program(b: Block) -> None:
    r = subprocess.run([str(DOC_SNIPPET), b.name], env=env_with(), timeout=DEADLINE,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, f"doc-snippet {b.name} exited {r.returncode}:\n{r.stdout}"


def rust_client(b: Block) -> None:
    d = scratch(b.name)
    _, out = run_app(d, plugin_app([str(DOC_SNIPPET), b.name], 100))
    expect_collected(out, 100)


INSTALLED = SCRATCH / "cargo-root"


def readme_cli(b: Block) -> None:
    # As written, plus the shared debug build: `--debug --root` a scratch folder (cargo install
    # honours CARGO_TARGET_DIR, so nothing is rebuilt).
    lines = b.text.strip().splitlines()
    install = lines[0].split("#")[0].strip()
    assert install == "cargo install --locked --path crates/event-engine-cli", install
    shutil.rmtree(INSTALLED, ignore_errors=True)
    sh(f"{install} --debug --root {INSTALLED} --quiet", REPO, timeout=1800)
    run = lines[1].split("#")[0].strip()
    out = sh(run, REPO, with_path(INSTALLED / "bin", env_with()))
    expect_collected(out, 1000)


FRESH_VENV = SCRATCH / "venv"


def python_install(b: Block) -> None:
    # docs/python.md: a new virtualenv (in the scratch folder instead of ./.venv), then pip
    # install from the checkout, in the dev profile (what `make test` built).
    shutil.rmtree(FRESH_VENV, ignore_errors=True)
    script = b.text.replace(".venv", str(FRESH_VENV))
    sh(script, REPO, env_with(MATURIN_PEP517_ARGS="--profile dev", PIP_DISABLE_PIP_VERSION_CHECK="1"),
       timeout=1800)
    sh(f"{FRESH_VENV}/bin/python -c 'import pyevents'", REPO)


def readme_python_install(b: Block) -> None:
    if not (FRESH_VENV / "bin" / "python").exists():
        python_install(block("python-install"))
    sh(b.text, REPO, fresh_venv_env(MATURIN_PEP517_ARGS="--profile dev", PIP_DISABLE_PIP_VERSION_CHECK="1"),
       timeout=1800)


def fresh_venv_env(**extra: str) -> dict[str, str]:
    return with_path(FRESH_VENV / "bin", env_with(**extra))


def readme_python(b: Block) -> None:
    # In the virtualenv the README's own install made.
    out = python_plugin(scratch(b.name), b.text, env=fresh_venv_env())
    expect_collected(out, 100)


def python_app_and_plugin(b: Block) -> None:
    d = scratch("python-app")
    (d / "classifier.py").write_text(CLASSIFY + block("python-plugin").text)
    app = block("python-app").text + """
[[generators]]
name = "camera"
count = 50
event = "Frame{i}"

[[collectors]]
name = "collector"
subscriptions = ["Label"]
count = 50
timeout_ms = 60000
"""
    _, out = run_app(d, app)
    expect_collected(out, 50)


def security_curve_app(b: Block) -> None:
    # The CURVE recipe's app.toml, checked by `event-engine check` with the plugin's public key
    # file in place (a key pair of ZeroMQ's test vectors; check does not read the engine's
    # secret key, and the default build needs none to check).
    d = scratch(b.name)
    (d / "keys").mkdir(exist_ok=True)
    (d / "keys" / "scorer.pub").write_text("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n")
    (d / "app.toml").write_text(b.text)
    r = subprocess.run([str(ENGINE), "check", "app.toml"], cwd=d, capture_output=True,
                       text=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 external plugin(s)" in r.stdout, r.stdout


def security_app(b: Block) -> None:
    # The three kinds of plugin of docs/security.md, on free ports: the launched classifier
    # (its token from the launch environment), the uploader started by hand with the token file
    # the engine made, and a 0.2 client (raw pyzmq, protocol v1) on the auth = "none" port.
    d = scratch(b.name)
    (d / "secrets").mkdir(exist_ok=True)
    token = d / "secrets" / "uploader.token"
    token.unlink(missing_ok=True)
    up, legacy = free_port(), free_port()
    app = b.text.replace("port = 6001", f"port = {up}").replace("port = 6002", f"port = {legacy}")
    (d / "classifier.py").write_text(
        "import pyevents\n\nwith pyevents.Plugin() as plugin:\n    plugin.publish(b'Labelcat')\n")
    (d / "uploader.py").write_text(
        "import pyevents\n\nwith pyevents.Plugin() as plugin:\n    for event in plugin:\n"
        "        print('UPLOADED', event.data.decode(), flush=True)\n        break\n")
    (d / "legacy.py").write_text(
        "import sys\nimport zmq\n\ns = zmq.Context().socket(zmq.REQ)\ns.RCVTIMEO = 30000\n"
        "s.connect('tcp://127.0.0.1:' + sys.argv[1])\ns.send(b'plugin_command: quit')\n"
        "print('LEGACY', s.recv().decode())\n")
    done: dict[str, subprocess.CompletedProcess[str]] = {}

    def others() -> None:
        deadline = time.monotonic() + DEADLINE
        while not token.exists():  # made by the engine at start-up; polled with a deadline
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        env = env_with(EE_PLUGIN_ENDPOINT=f"tcp://127.0.0.1:{up}", EE_PLUGIN_TOKEN_FILE=str(token))
        for name, cmd, e in (("uploader", ["python3", "uploader.py"], env),
                             ("legacy", ["python3", "legacy.py", str(legacy)], env_with())):
            done[name] = subprocess.run(cmd, cwd=d, env=e, capture_output=True, text=True,
                                        timeout=DEADLINE)

    t = threading.Thread(target=others)
    t.start()
    _, out = run_app(d, app, until=lambda s: False)
    t.join(DEADLINE)
    assert "UPLOADED Labelcat" in done["uploader"].stdout, (done, out)
    assert "LEGACY" in done["legacy"].stdout, (done, out)
    assert 'plugin legacy: auth = "none": anyone who can reach' in out, out
    assert token.stat().st_mode & 0o777 == 0o600
    assert token.read_text().strip() not in out, "a token was printed"


def python_batches(b: Block) -> None:
    out = python_plugin(scratch(b.name), "import pyevents\n\n" + CLASSIFY + b.text, n=100,
                        reply="Label")
    expect_collected(out, 100)


def python_asyncio(b: Block) -> None:
    # The block as a plugin, launched by the engine (its port from the environment).
    out = python_plugin(scratch(b.name), CLASSIFY + b.text, n=100, reply="Label")
    expect_collected(out, 100)


def python_import(b: Block) -> None:
    sh(f"python3 -c {shlex.quote(b.text)}", REPO)


def python_logging(b: Block) -> None:
    # The block, then a call that logs at debug level: a request to a port where no engine
    # answers, retried on a new connection ("reconnecting").
    code = b.text + f"""
import pyevents
plugin = pyevents.Plugin({free_port()}, reply_timeout=0.05, retries=0)
try:
    plugin.next(timeout=0)
except pyevents.Disconnected:
    pass
"""
    out = sh(f"python3 -c {shlex.quote(code)}", REPO)
    assert re.search(r"pyevents\.client DEBUG .*reconnecting", out), out


PORT_FROM_ENV = "int(os.environ['EE_PLUGIN_PORT'])"


def python_02_loop(b: Block) -> None:
    # 0.2 code names the port 6000 on the host "engine": pointed at the test's engine.
    code = b.text.replace("6000)", PORT_FROM_ENV + ", host='127.0.0.1')")
    assert code != b.text
    prelude = ("import os\nimport zmq\n"
               "from pyevents.events import get_plugin_socket, get_next_msg, publish_msg\n"
               "def process(data):\n    return data\n\n")
    out = python_plugin(scratch(b.name), prelude + code)
    expect_collected(out, 100)


def python_batch_loop(b: Block) -> None:
    code = b.text.replace('6000, host="engine"', PORT_FROM_ENV + ', host="127.0.0.1"')
    assert code != b.text
    prelude = "import os\nimport pyevents\ndef process(data):\n    return data\n\n"
    out = python_plugin(scratch(b.name), prelude + code)
    expect_collected(out, 100)


def node_install(b: Block) -> None:
    lines = [l for l in b.text.splitlines() if l and not l.startswith("#")]
    assert lines == ["npm install /path/to/event-engine/bindings/node", "npm install"], lines
    env = env_with(EVENT_ENGINE_NODE_PROFILE="debug")
    project = scratch(b.name)
    (project / "package.json").write_text('{ "name": "my-plugin", "version": "1.0.0", "private": true }\n')
    sh(lines[0].replace("/path/to/event-engine", str(REPO)) + " --no-audit --no-fund", project, env)
    sh("node -e \"const { Plugin } = require('event-engine'); if (typeof Plugin.connect !== 'function') process.exit(1)\"",
       project, env)
    sh(lines[1] + " --no-audit --no-fund", REPO / "bindings" / "node", env)


def readme_node_install(b: Block) -> None:
    out = sh(b.text.strip().split("#")[0] + " --no-audit --no-fund", REPO,
             env_with(EVENT_ENGINE_NODE_PROFILE="debug"))
    # Under the Node.js the README asks for, no dependency refuses it; and the addon's build is
    # shown while it runs (bindings/node/.npmrc), not minutes of silence.
    assert "EBADENGINE" not in out, out
    shown = sh("npm config get foreground-scripts", REPO / "bindings" / "node").strip()
    assert shown == "true", shown


def node_plugin_block(b: Block) -> None:
    out = node_plugin(scratch(b.name), b.text)
    expect_collected(out, 100)


def node_publish(b: Block) -> None:
    d = scratch(b.name)
    node_project(d)
    code = node_main(b.text, "  const plugin = await Plugin.connect();\n",
                     "  if (n !== 2) throw new Error(`publishMany said ${n}`);\n  await plugin.quit();\n")
    (d / "plugin.js").write_text(code)
    app = plugin_app(["node", "plugin.js"], 0, collect=4).replace(
        'subscriptions = ["TypeB"]', 'subscriptions = ["TypeB", { hex = "0100" }]')
    code, out = run_app(d, app)
    expect_collected(out, 4)


def children_of(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def node_sigterm(b: Block) -> None:
    d = scratch(b.name)
    node_project(d)
    (d / "plugin.js").write_text(node_main(b.text, "  const plugin = await Plugin.connect();\n",
                                           "  console.log('the loop ended');\n"))
    app = plugin_app(["node", "plugin.js"], 3, collect=0)
    signalled = []

    def stop_the_plugin(s: list[dict]) -> bool:
        # SIGTERM to the plugin's process alone (as `docker stop` of its container does): it
        # quits, and the engine, with every plugin done, finishes by itself.
        if not signalled and any(p.get("plugin") == "snippet" and p.get("stats", {}).get("delivered", 0) >= 3
                                 for p in s):
            ready = json.loads((d / "ready.json").read_text())
            children = [pid for pid in children_of(ready["pid"]) if b"plugin.js" in cmdline(pid)]
            assert len(children) == 1, children
            os.kill(children[0], signal.SIGTERM)
            signalled.append(children[0])
        return False

    code, out = run_app(d, app, until=stop_the_plugin)
    assert code == 0 and signalled, out
    assert "the loop ended" in out and re.search(r"snippet +finished; process exit 0", out), out


def node_errors(b: Block) -> None:
    d = scratch(b.name)
    node_project(d)
    port = free_port()  # instead of 6000, which something else on this host may use
    (d / "errors.js").write_text(b.text.replace("port: 6000", f"port: {port}"))
    out = sh("node errors.js", d)
    assert f"no engine at tcp://127.0.0.1:{port}" in out, out


def node_esm(b: Block) -> None:
    d = scratch(b.name)
    node_project(d)
    (d / "plugin.mjs").write_text(b.text)
    _, out = run_app(d, plugin_app(["node", "plugin.mjs"], 100))
    expect_collected(out, 100)


def node_types(b: Block) -> None:
    # An ES module of a project (`"type": "module"`), under the resolution Node.js itself has
    # (nodenext: index.d.mts through "exports") and under a bundler's.
    d = scratch(b.name)
    node_project(d)
    (d / "package.json").write_text(json.dumps({"name": "types-snippet", "private": True, "type": "module"}))
    (d / "usage.ts").write_text(b.text + "void info; void event;\n")
    for module, resolution in (("nodenext", "nodenext"), ("es2022", "bundler")):
        (d / "tsconfig.json").write_text(json.dumps({
            "compilerOptions": {
                "strict": True, "noEmit": True, "target": "es2022", "module": module,
                "moduleResolution": resolution, "types": ["node"],
                "typeRoots": [str(REPO / "bindings/node/node_modules/@types")],
            },
            "files": ["usage.ts"],
        }))
        sh(f"{REPO}/bindings/node/node_modules/.bin/tsc -p .", d)


def node_counter(b: Block) -> None:
    env = env_with(EVENT_ENGINE_NODE_PROFILE="debug")
    out = sh(b.text.replace("npm install)", "npm install --no-audit --no-fund)"), REPO, env)
    expect_collected(out, 5)
    expect_sample(block("node-counter-output"), out)


def readme_c_install(b: Block) -> None:
    # As written, with the debug library `make test-c` built; $HOME is a scratch folder.
    shutil.rmtree(SCRATCH / "home", ignore_errors=True)
    (SCRATCH / "home").mkdir(parents=True)
    sh(b.text.split("#")[0], REPO, env_with(HOME=str(SCRATCH / "home"), C_PROFILE="debug"))
    assert (C_PREFIX / "lib" / "libevent_engine.so.0").exists()


def ensure_prefix() -> None:
    if not (C_PREFIX / "lib" / "pkgconfig" / "event_engine.pc").exists():
        readme_c_install(block("readme-c-install"))


def readme_c_build(b: Block) -> None:
    ensure_prefix()
    d = scratch(b.name)
    (d / "plugin.c").write_text(block("readme-c").text)
    env = pkg_env()
    env.pop("PKG_CONFIG_PATH")  # the block sets it
    env.pop("LD_LIBRARY_PATH", None)  # the binary must find the library by its rpath
    sh(b.text, d, env)
    _, out = run_app(d, plugin_app(["./plugin"], 100, reply="TypeBdone"), env=env)
    expect_collected(out, 100)


def c_plugin_in(d: Path, program: str, n: int = 100) -> None:
    env = env_with()
    env.pop("LD_LIBRARY_PATH", None)
    _, out = run_app(d, plugin_app([program], n, reply="Seen"), env=env)
    expect_collected(out, n)


def c_compile(b: Block) -> None:
    ensure_prefix()
    d = scratch(b.name)
    source = block("c-plugin").text
    (d / "plugin.c").write_text(source)
    (d / "plugin.cpp").write_text(source)
    env = pkg_env()
    env.pop("LD_LIBRARY_PATH", None)
    lines = b.text.replace("/usr/local/lib/", f"{C_PREFIX}/lib/")
    # One build after the other, each run as the plugin (the C one, the C++ one, the static one).
    for i, cmd in enumerate(_commands(lines)):
        sh(cmd, d, env)
        built = d / ("a.out" if " -o " not in cmd else cmd.split(" -o ")[1].split()[0])
        target = d / f"built-{i}"
        shutil.move(built, target)
        c_plugin_in(d, str(target))


def _commands(text: str) -> list[str]:
    """The commands of a shell block, with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        line = line.split("#")[0].rstrip() if not line.strip().startswith("#") else ""
        if not line:
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    return out


def c_cmake(b: Block) -> None:
    ensure_prefix()
    d = scratch(b.name)
    (d / "CMakeLists.txt").write_text(b.text)
    (d / "plugin.cpp").write_text(block("c-plugin").text)
    sh(block("c-cmake-build").text, d, pkg_env())
    c_plugin_in(d, str(d / "build" / "plugin"))


def cpp_plugin(b: Block) -> None:
    # The C++ layer from the installed prefix (event_engine.hpp beside event_engine.h), as the
    # plugin of an app: it answers every event.
    ensure_prefix()
    d = scratch(b.name)
    prog = c_build(d, b.text, lang="cpp")
    c_plugin_in(d, str(prog))


def c_host(b: Block) -> None:
    ensure_prefix()
    d = scratch(b.name)
    prog = c_build(d, "#include <stdio.h>\n#include <event_engine.h>\n\nint main(void) {\n" + b.text
                   + "    return s == EE_OK ? 0 : 1;\n}\n")
    out = sh(str(prog), d)
    m = re.search(r"classifier: tcp://127\.0\.0\.1:(\d+)", out)
    assert m and int(m.group(1)) > 0, out


def c_internal(b: Block) -> None:
    ensure_prefix()
    d = scratch(b.name)
    function, statements = b.text.split("/* ... */")
    prog = c_build(d, "#include <event_engine.h>\n\n" + function + "\nint main(void) {\n"
                   "    ee_app_t *app = NULL;\n    ee_app_new(0, 0, &app);\n" + statements
                   + "    ee_app_free(app);\n    return 0;\n}\n")
    sh(str(prog), d)


def c_examples(b: Block) -> None:
    cmds = _commands(b.text)
    assert cmds[0].startswith("make examples-c"), cmds
    dry_run("examples-c")  # built by make test-c (C_PROFILE=debug) before this runs
    env = env_with()
    sh(cmds[1].replace("target/debug/", f"{DEBUG}/"), REPO, env)
    out = sh(cmds[2], REPO, env)
    expect_collected(out, 5)


def c_build_block(b: Block) -> None:
    # A release build and an install into /usr/local: checked, not run (readme-c-install runs
    # the install into a scratch prefix).
    cmds = _commands(b.text)
    assert cmds == ["make build-c", "make install PREFIX=/usr/local"], cmds
    dry_run("build-c")
    dry_run("install", "PREFIX=/usr/local")


def cli_install(b: Block) -> None:
    cmds = _commands(b.text)
    assert cmds[0] == block("readme-cli").text.splitlines()[0].split("#")[0].strip(), cmds
    if not (INSTALLED / "bin" / "event-engine").exists():
        readme_cli(block("readme-cli"))
    d = scratch(b.name)
    shutil.copy(REPO / "examples/python/app.toml", d / "app.toml")
    shutil.copy(REPO / "examples/python/counter.py", d / "counter.py")
    out = sh(cmds[1], d, with_path(INSTALLED / "bin", env_with()))
    assert "app.toml: ok:" in out
    expect_collected(out, 1000)


def cli_run_output(b: Block) -> None:
    out = sh(f"{ENGINE} run examples/python/app.toml", REPO)
    expect_sample(b, out.replace(str(REPO) + "/", ""))


def cli_ready(b: Block) -> None:
    sample = json.loads(b.text)
    with watched_engine(scratch(b.name)) as ready:
        real = json.loads(ready.read_text())
    missing = set(sample) - set(real)
    assert not missing, f"the ready file has no {missing}: {real}"
    assert set(sample["plugins"]["classifier"]) <= set(real["plugins"]["classifier"]), real


def cli_reference(b: Block) -> None:
    d = scratch(b.name)
    (d / "app.toml").write_text(b.text)
    out = sh(f"{ENGINE} check app.toml", d)
    assert "app.toml: ok: 1 external plugin(s) (1 launched), 1 generator(s), 1 collector(s)" in out, out


@contextlib.contextmanager
def watched_engine(d: Path) -> Iterator[Path]:
    """An engine with one external plugin, `classifier` (subscribed to TypeA, no process), for
    the duration of the block; yields its ready file. Stopped with SIGTERM afterwards."""
    (d / "app.toml").write_text('[[plugins]]\nname = "classifier"\nsubscriptions = ["TypeA"]\n')
    ready = d / "ports.json"
    child = subprocess.Popen([str(ENGINE), "run", "app.toml", "--ready-file", str(ready)], cwd=d,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DEADLINE
        while not ready.exists():
            assert time.monotonic() < deadline and child.poll() is None, "no ready file"
            time.sleep(0.05)  # polling for the file with a deadline
        yield ready
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=DEADLINE)


def cli_tap_output(b: Block) -> None:
    d = scratch(b.name)
    with watched_engine(d) as ready:
        command = b.text.splitlines()[0][2:].replace("ports.json", str(ready)).replace(
            "event-engine", str(ENGINE), 1)
        tap = subprocess.Popen(shlex.split(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        printed: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [printed.put(l) for l in tap.stdout or []], daemon=True).start()
        # A SUB socket's subscription reaches the engine a moment after `connect` (the tap's
        # "listening" line comes before): publish each event until the tap has printed it.
        lines: list[str] = []
        deadline = time.monotonic() + DEADLINE
        try:
            for i in range(2):
                while not any(f"message {i}" in l for l in lines):
                    assert time.monotonic() < deadline, "the tap printed:\n" + "".join(lines)
                    sh(f"{ENGINE} pub --ready {ready} TypeA 'This is message {i}'", d)
                    try:
                        while True:
                            lines.append(printed.get(timeout=0.2))
                    except queue.Empty:
                        pass
        finally:
            tap.terminate()
            tap.wait(timeout=DEADLINE)
        expect_sample(b, "".join(lines))


def cli_stats_output(b: Block) -> None:
    # The external plugins' table (the bridge's lines after the blank line need a NATS bridge:
    # docs/scaling.md's tests run one).
    d = scratch(b.name)
    with watched_engine(d) as ready:
        out = sh(f"{ENGINE} stats --ready {ready}", d)
        sample_header = b.text.splitlines()[1]
        assert masked(sample_header) in {masked(l) for l in out.splitlines()}, out
        row = b.text.splitlines()[2].split()
        real = next(l for l in out.splitlines() if l.startswith("classifier")).split()
        assert len(row) == len(real), (row, real)
        assert len(b.text.splitlines()[2]) == len(sample_header), "the sample's columns moved"


def cargo_dependencies(b: Block) -> None:
    deps = tomllib.loads(b.text)["dependencies"]
    engine = tomllib.loads((REPO / "crates/event-engine/Cargo.toml").read_text())
    workspace = tomllib.loads((REPO / "Cargo.toml").read_text())
    version = workspace["workspace"]["package"]["version"] if isinstance(
        engine["package"]["version"], dict) else engine["package"]["version"]
    ee = deps["event-engine"]
    if isinstance(ee, dict):
        assert (REPO / ee["path"] / "Cargo.toml").exists(), ee
    else:
        assert version.startswith(ee + "."), (ee, version)
    zmq = workspace["workspace"]["dependencies"]["zmq"]
    zmq = zmq["version"] if isinstance(zmq, dict) else zmq
    assert deps["zmq"] == zmq, (deps["zmq"], zmq)


def make_targets(*targets: str) -> Callable[[Block], None]:
    def check(b: Block) -> None:
        for t in targets:
            assert f"make {t}" in b.text, t
        dry_run(*targets)
    return check


def covered_by(other: str) -> Callable[[Block], None]:
    def check(b: Block) -> None:
        assert other in HANDLERS
    return check


HANDLERS: dict[str, Callable[[Block], None]] = {
    # README.md
    "two-commands": two_commands,
    "prerequisites": prerequisites,
    "demo-output": demo_output,
    "readme-rust": rust_program,
    "readme-cli": readme_cli,
    "readme-python-install": readme_python_install,
    "readme-python": readme_python,
    "readme-node-install": readme_node_install,
    "readme-node": node_plugin_block,
    "readme-c-install": readme_c_install,
    "readme-c-build": readme_c_build,
    "readme-c": covered_by("readme-c-build"),
    # docs/rust.md
    "rust-dependencies": cargo_dependencies,
    "rust-application": rust_program,
    "rust-background": rust_program,
    "rust-client": rust_client,
    # docs/python.md
    "python-install": python_install,
    "python-app": python_app_and_plugin,
    "python-plugin": covered_by("python-app"),
    "python-batches": python_batches,
    "python-asyncio": python_asyncio,
    "python-import": python_import,
    "python-logging": python_logging,
    "python-02-loop": python_02_loop,
    "python-batch-loop": python_batch_loop,
    "python-dev": make_targets("test-python", "bench-python"),
    # docs/node.md
    "node-plugin": node_plugin_block,
    "node-install": node_install,
    "node-publish": node_publish,
    "node-sigterm": node_sigterm,
    "node-errors": node_errors,
    "node-esm": node_esm,
    "node-types": node_types,
    "node-counter": node_counter,
    "node-counter-output": covered_by("node-counter"),
    "node-dev": make_targets("test-node", "bench-node"),
    # docs/c.md
    "c-build": c_build_block,
    "c-compile": c_compile,
    "c-cmake": c_cmake,
    "c-cmake-build": covered_by("c-cmake"),
    "c-plugin": covered_by("c-compile"),
    "cpp-plugin": cpp_plugin,
    "c-host": c_host,
    "c-internal": c_internal,
    "c-examples": c_examples,
    # docs/cli.md
    "cli-install": cli_install,
    "cli-run-output": cli_run_output,
    "cli-ready": cli_ready,
    "security-app": security_app,
    "security-curve-app": security_curve_app,
    "cli-reference": cli_reference,
    "cli-tap-output": cli_tap_output,
    "cli-stats-output": cli_stats_output,
    # docs/migrating-from-0.2.md
    "migrating-dependencies": cargo_dependencies,
}


def makefile_honours_cargo_target_dir() -> None:
    """Every path the Makefile's targets use is under $CARGO_TARGET_DIR when it is set: a dry
    run with it elsewhere names no `target/` of the checkout."""
    elsewhere = "/nonexistent/ee-target"
    env = env_with(CARGO_TARGET_DIR=elsewhere)
    for inherited in ("TARGET_DIR", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        env.pop(inherited, None)
    r = subprocess.run(
        ["make", "-n", "--no-print-directory", "demo", "test", "install", "bench-python", "bench-node",
         "bench-attacks", "fuzz", "dist"],
        cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stdout
    assert elsewhere in r.stdout, r.stdout
    stray = [l for l in r.stdout.splitlines() if re.search(r"""(^|[\s=:'"(])target/""", l)]
    assert not stray, "these commands ignore CARGO_TARGET_DIR:\n" + "\n".join(stray)


def main() -> int:
    problems = []
    for b in read_blocks():
        if b.lang in PROSE:
            if b.name:
                BLOCKS[b.name] = b
            continue
        if not b.name:
            problems.append(f"{b.where()}: a ```{b.lang} block without a name (```{b.lang} NAME)")
            continue
        if b.name in BLOCKS:
            problems.append(f"{b.where()}: the name {b.name} is used twice")
        BLOCKS[b.name] = b
    for name, b in BLOCKS.items():
        if b.lang not in PROSE and name not in HANDLERS:
            problems.append(f"{b.where()}: nothing runs the block {name} (add it to HANDLERS)")
    for name in HANDLERS:
        if name not in BLOCKS:
            problems.append(f"HANDLERS names {name}, which no document has")
    if not sys.argv[1:]:
        try:
            makefile_honours_cargo_target_dir()
            print("ok    Makefile honours CARGO_TARGET_DIR", flush=True)
        except AssertionError as e:
            problems.append(f"Makefile: {e}")
    wanted = sys.argv[1:] or [n for n in HANDLERS if n in BLOCKS]
    passed = 0
    for name in wanted:
        if name not in BLOCKS or name not in HANDLERS:
            continue
        b = BLOCKS[name]
        started = time.monotonic()
        try:
            HANDLERS[name](b)
            passed += 1
            print(f"ok    {name:<24} {b.where():<34} {time.monotonic() - started:5.1f}s", flush=True)
        except Exception as e:  # report every block, then fail
            problems.append(f"{b.where()}: {name}: {type(e).__name__}: {e}")
            print(f"FAIL  {name:<24} {b.where():<34} {time.monotonic() - started:5.1f}s", flush=True)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"doc snippets: {passed} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
