"""Turning a :class:`~workflow.render.canvas.Diagram` into SVG, PNG or PDF, in bounded time.

Diagrams are laid out on our swimlane grid by default (:mod:`workflow.render.grid`); ``dot``
may be asked for instead. The Graphviz bundled in the ``pygraphviz`` wheels draws them, so
``pip install`` is enough; a system ``dot`` is used when configured (``LEANLANE_DOT`` or
``dot_command``). Each layout runs in a process of its own, killed at its deadline. ``dot``
gets a share of the time limit that grows with the diagram's size; if it fails or runs out,
the same diagram is drawn on the grid, which takes linear time. Results, failures included,
are cached by a hash of the DOT text, so an unchanged diagram is never laid out twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from workflow.render.canvas import Diagram
from workflow.render.grid import grid_graph
from workflow.render.layered import layered_graph

__all__ = [
    "FORMATS",
    "LAYOUTS",
    "DirectoryCache",
    "LayoutFailed",
    "MemoryCache",
    "RenderError",
    "Rendered",
    "Renderer",
]

FORMATS = ("svg", "png", "pdf")
#: "grid": our swimlane grid (lanes in order, linear time, the default); "layered": Graphviz's
#: ``dot`` with lane clusters, on the grid when ``dot`` fails or runs out of time.
LAYOUTS = ("grid", "layered")
#: Diagrams above this many steps skip ``dot`` and go straight to the grid.
LAYERED_MAX_NODES = 2500
DEFAULT_TIME_LIMIT = 20.0
_FAILED = b"\x00failed\x00"


class RenderError(Exception):
    """A diagram could not be drawn; the message says why and what to do."""


class LayoutFailed(Exception):
    """One layout attempt did not finish (time out, Graphviz error); another may."""


def layered_budget(nodes: int) -> float:
    """Seconds ``dot`` may take on a diagram of ``nodes`` steps before the grid is used.

    Short on purpose: ``dot`` with lane clusters often fails or is slow on processes of a
    hundred steps and more (bench/render.py), and the grid is the answer then.
    """
    return 0.3 + 0.0011 * nodes


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes) -> None: ...


class MemoryCache:
    """Least recently used renders, up to ``max_bytes`` in all."""

    def __init__(self, max_bytes: int = 64 * 1024**2) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


class DirectoryCache:
    """Renders as files named by their key, shared by every process using the directory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"bad cache key {key!r}")
        return self.path / key

    def get(self, key: str) -> bytes | None:
        try:
            return self._file(key).read_bytes()
        except FileNotFoundError:
            return None

    def set(self, key: str, value: bytes) -> None:
        target = self._file(key)
        partial = target.with_name(f"{key}.{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(value)
        os.replace(partial, target)


@dataclass(frozen=True)
class Rendered:
    data: bytes
    format: str
    layout: str  # "layered" (dot) or "grid"
    seconds: float
    cached: bool
    notes: tuple[str, ...] = field(default=())


def bundled_available() -> bool:
    try:
        import pygraphviz  # noqa: F401
    except ImportError:
        return False
    return True


def _bundled_command() -> list[str]:
    return [sys.executable, "-m", "workflow.layout_worker"]


def _run(command: list[str], dot: str, engine: str, timeout: float) -> tuple[bytes, list[str]]:
    """Run a layout process; it is killed when ``timeout`` seconds have passed."""
    env = dict(os.environ, SERVER_NAME="leanlane")
    try:
        # Our own layout command; the DOT goes in on stdin.
        done = subprocess.run(  # nosec B603
            command,
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=max(timeout, 0.01),
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LayoutFailed(f"{engine} took longer than {timeout:.1f} s") from None
    except OSError as exc:
        raise RenderError(f"cannot run Graphviz ({command[0]}): {exc.strerror}") from None
    messages = [
        line
        for line in done.stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith("Fontconfig")
    ]
    if done.returncode != 0 or not done.stdout:
        raise LayoutFailed(f"{engine}: " + " ".join(messages[-3:]))
    return done.stdout, messages


class Renderer:
    """Draws diagrams; one per application, shared by its threads."""

    def __init__(
        self,
        *,
        cache: Cache | None = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        dot_command: str | None = None,
        layout: str = "grid",
        layered_max_nodes: int = LAYERED_MAX_NODES,
        budget: Callable[[int], float] = layered_budget,
    ) -> None:
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
        self.layout = layout
        self.cache = cache if cache is not None else MemoryCache()
        self.time_limit = time_limit
        self.dot_command = dot_command or os.environ.get("LEANLANE_DOT") or None
        self.layered_max_nodes = layered_max_nodes
        self.budget = budget
        if self.dot_command is None and not bundled_available():
            self.dot_command = shutil.which("dot")

    @property
    def backend(self) -> str:
        return f"system Graphviz ({self.dot_command})" if self.dot_command else "bundled Graphviz"

    def _lay_out(self, dot: str, engine: str, fmt: str, timeout: float) -> tuple[bytes, list]:
        if self.dot_command:
            return _run([self.dot_command, f"-K{engine}", f"-T{fmt}"], dot, engine, timeout)
        if not bundled_available():
            raise RenderError(
                "no Graphviz found: install the pygraphviz wheel (pip install pygraphviz), "
                "or install Graphviz and set LEANLANE_DOT to its dot program"
            )
        return _run([*_bundled_command(), engine, fmt], dot, engine, timeout)

    def _attempt(self, dot: str, engine: str, fmt: str, timeout: float) -> tuple[bytes, bool]:
        key = hashlib.sha256(f"{engine}\n{fmt}\n{dot}".encode()).hexdigest()
        cached = self.cache.get(key)
        if cached == _FAILED:
            raise LayoutFailed(f"{engine} failed on this diagram before")
        if cached is not None:
            return cached, True
        try:
            data, _ = self._lay_out(dot, engine, fmt, timeout)
        except LayoutFailed:
            self.cache.set(key, _FAILED)
            raise
        self.cache.set(key, data)
        return data, False

    def render(self, diagram: Diagram, fmt: str = "svg") -> Rendered:
        """``diagram`` as ``fmt`` bytes: laid out by ``dot`` when it can, else on the grid."""
        if fmt not in FORMATS:
            raise RenderError(
                f"format {fmt!r} is not available; choose one of {', '.join(FORMATS)}"
            )
        began = time.perf_counter()
        notes: list[str] = []
        nodes = diagram.node_count
        wants_dot = self.layout == "layered" and diagram.layered
        if wants_dot and nodes <= self.layered_max_nodes:
            dot = layered_graph(diagram).source
            timeout = min(self.budget(nodes), self.time_limit)
            try:
                data, cached = self._attempt(dot, "dot", fmt, timeout)
                return Rendered(data, fmt, "layered", time.perf_counter() - began, cached)
            except LayoutFailed as exc:
                notes.append(f"drawn on the swimlane grid because {exc}")
        elif wants_dot:
            notes.append(f"drawn on the swimlane grid: {nodes:,} steps is beyond dot's range")
        grid = grid_graph(diagram).source
        remaining = self.time_limit - (time.perf_counter() - began)
        try:
            data, cached = self._attempt(grid, "nop2", fmt, max(remaining, 1.0))
        except LayoutFailed as exc:
            raise RenderError(f"the diagram could not be drawn: {exc}") from None
        return Rendered(data, fmt, "grid", time.perf_counter() - began, cached, tuple(notes))
