"""Fixtures: a real engine (the workspace's `event-engine` CLI) per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import Engine, Subscriptions  # noqa: E402


@pytest.fixture
def start_engine(tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """Starts engines with the given external plugins; stops them when the test ends."""
    engines: List[Engine] = []

    def start(
        plugins: Dict[str, Subscriptions],
        bus: Optional[Dict[str, object]] = None,
        keys: Optional[Dict[str, Dict[str, object]]] = None,
    ) -> Engine:
        e = Engine(tmp_path / f"engine{len(engines)}", plugins, bus, keys)
        engines.append(e)
        return e

    yield start
    for e in engines:
        e.stop()


@pytest.fixture
def engine(start_engine: Callable[..., Engine]) -> Engine:
    """An engine with two plugins: `sensor` (receives TypeA) and `feeder` (receives TypeB)."""
    return start_engine({"sensor": ["TypeA"], "feeder": ["TypeB"]})
