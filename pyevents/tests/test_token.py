"""Plugin tokens (docs/security.md): a port with a token admits only a client that presents it,
given as `token=`, `token_file=`, or by the launch environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

import pyevents
from engine import Engine

TOKEN_FILE = "secret.token"


def guarded(start_engine: Callable[..., Engine]) -> Engine:
    return start_engine({"guarded": ["TypeA"]}, keys={"guarded": {"token_file": TOKEN_FILE}})


def test_a_token_or_its_file_opens_the_port_and_nothing_else_does(start_engine) -> None:
    engine = guarded(start_engine)
    path = engine.workdir / TOKEN_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    token = path.read_text().strip()
    port = engine.port("guarded")
    # No token, or a wrong one: refused at the handshake, so no reply ever comes.
    for kw in ({}, {"token": "f" * 64}):
        p = pyevents.Plugin(port, reply_timeout=0.3, retries=0, **kw)
        with pytest.raises(pyevents.Disconnected):
            p.info()
        with pytest.raises(pyevents.Disconnected):
            p.quit()
        p.close()
    p = pyevents.Plugin(port, token=token)
    assert p.info().name == "guarded"
    p.close()  # not quit: the plugin goes on
    with pyevents.Plugin(port, token_file=path) as p:
        assert p.stats().refused >= 2
        p.quit()


def test_bad_token_options_are_invalid_arguments(start_engine, tmp_path: Path) -> None:
    port = guarded(start_engine).port("guarded")
    cases = [
        ({"token": "short"}, "16 to 255 bytes"),
        ({"token": "0123456789abcdef0123", "token_file": "x"}, "not both"),
        ({"token_file": tmp_path / "absent"}, "could not read the plugin token file"),
    ]
    for kw, words in cases:
        with pytest.raises(pyevents.InvalidArgument, match=words):
            pyevents.Plugin(port, **kw)
        with pytest.raises(pyevents.InvalidArgument, match=words):
            pyevents.AsyncPlugin(port, **kw)


def test_a_plugin_finds_its_token_file_in_the_environment(start_engine) -> None:
    engine = guarded(start_engine)
    code = "import pyevents\nwith pyevents.Plugin() as p:\n    print(p.info().name)\n    p.quit()\n"
    env = dict(os.environ, EE_PLUGIN_PORT=str(engine.port("guarded")),
               EE_PLUGIN_TOKEN_FILE=str(engine.workdir / TOKEN_FILE))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "guarded"
