"""The shared table of SDK cases (crates/event-engine-client/sdk-cases.txt) through the Python
API: the same inputs give the same result as in Rust, Node.js and C. No engine is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import pytest

import pyevents

CASES = Path(__file__).resolve().parents[2] / "crates" / "event-engine-client" / "sdk-cases.txt"


def section(name: str) -> List[List[str]]:
    rows: List[List[str]] = []
    current = ""
    for line in CASES.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        if current == name:
            rows.append([c.strip() for c in line.split("|")])
    assert rows, f"no cases in [{name}]"
    return rows


def given(cell: str) -> Optional[str]:
    return None if cell == "-" else "" if cell == '""' else cell


def outcome(make) -> str:
    try:
        return make()
    except pyevents.Error as e:
        return e.kind


@pytest.mark.parametrize("row", section("connect"), ids=lambda r: " ".join(r[:5]))
def test_connect(row: List[str], monkeypatch: pytest.MonkeyPatch) -> None:
    port, host, endpoint, env_endpoint, env_port, expected = row
    for var, value in (("EE_PLUGIN_ENDPOINT", env_endpoint), ("EE_PLUGIN_PORT", env_port)):
        if given(value) is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    kwargs: Dict[str, object] = {}
    if given(host) is not None:
        kwargs["host"] = given(host)
    if given(endpoint) is not None:
        kwargs["endpoint"] = given(endpoint)
    p = None if given(port) is None else int(port)
    assert outcome(lambda: pyevents.Plugin(p, **kwargs).endpoint) == expected


# The options of pyevents.Plugin, with their unit (times are in seconds in Python).
PYTHON_OPTIONS = {
    "reply_timeout": 1000.0,
    "retries": None,
    "publish_timeout": 1000.0,
    "long_poll": 1000.0,
    "max_batch_bytes": None,
}


@pytest.mark.parametrize("row", section("option"), ids=lambda r: " ".join(r[:2]))
def test_option(row: List[str]) -> None:
    name, value, expected = row
    if name not in PYTHON_OPTIONS:
        # poll_slice (fixed at 100 ms: signals are checked that often), reconnect_backoff and
        # max_backoff are not options of pyevents.Plugin: it refuses them.
        with pytest.raises(TypeError, match=name):
            pyevents.Plugin(1, **{name: 1.0})
        return
    per_second = PYTHON_OPTIONS[name]
    v: object = None if value == "none" else int(value) if per_second is None else float(value) / per_second
    assert outcome(lambda: (pyevents.Plugin(1, **{name: v}), "ok")[1]) == expected


@pytest.mark.parametrize("row", section("max"), ids=lambda r: r[0])
def test_max(row: List[str]) -> None:
    max_, expected = row
    plugin = pyevents.Plugin(1, reply_timeout=0.01, retries=0)
    assert outcome(lambda: (plugin.next_batch(int(max_), timeout=0), "ok")[1]) == expected
