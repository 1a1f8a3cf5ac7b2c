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


# A key pair of ZeroMQ's test vectors (engine public key; a client's secret key).
ENGINE_PUBLIC = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
PLUGIN_SECRET = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"


def test_curve_options_are_checked_and_need_a_curve_build(start_engine, tmp_path: Path) -> None:
    port = guarded(start_engine).port("guarded")
    key_file = tmp_path / "plugin.key"
    key_file.write_text(PLUGIN_SECRET + "\n")
    cases = [
        ({"curve_server_key": "short", "curve_secret_key": PLUGIN_SECRET}, "40 characters"),
        ({"curve_server_key": ENGINE_PUBLIC}, "both the engine's public key"),
        ({"curve_server_key": ENGINE_PUBLIC, "curve_secret_key": PLUGIN_SECRET,
          "curve_secret_key_file": key_file}, "not both"),
        ({"curve_server_key": ENGINE_PUBLIC, "curve_secret_key_file": tmp_path / "absent"},
         "could not read the plugin secret key file"),
    ]
    for kw, words in cases:
        for cls in (pyevents.Plugin, pyevents.AsyncPlugin):
            with pytest.raises(pyevents.InvalidArgument, match=words):
                cls(port, **kw)
    # The package's libzmq (the default build) has no CURVE: a clear error, never a crash. A
    # CURVE build gets a client instead, and a token with it is refused.
    good = {"curve_server_key": ENGINE_PUBLIC, "curve_secret_key_file": key_file}
    try:
        p = pyevents.Plugin(port, **good)
    except pyevents.InvalidArgument as e:
        assert "make build-curve" in str(e)
    else:
        p.close()
        with pytest.raises(pyevents.InvalidArgument, match="not both"):
            pyevents.Plugin(port, token="0123456789abcdef0123", **good)
