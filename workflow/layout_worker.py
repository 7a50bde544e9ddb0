"""``python -m workflow.layout_worker ENGINE FORMAT``: DOT on stdin, the drawing on stdout.

Graphviz has no time limit of its own and its library cannot be interrupted from Python, so
every layout runs in a process of its own that the caller kills at the deadline. It lives
outside `workflow.render` so that starting it imports nothing but pygraphviz. Graphviz's
messages go to stderr; a failure exits with status 1.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["main"]

#: Address space of a layout process: a hostile graph cannot take the machine's memory.
MEMORY_LIMIT = 3 * 1024**3


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # Windows
        return
    with contextlib.suppress(ValueError, OSError):  # a platform without RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def main(argv: list[str]) -> int:
    engine, fmt = argv
    os.environ["SERVER_NAME"] = "leanlane"  # Graphviz then loads no files (images, styles)
    _limit_memory()
    try:
        import pygraphviz
    except ImportError:
        print("pygraphviz is not installed", file=sys.stderr)
        return 3
    dot = sys.stdin.buffer.read().decode("utf-8")
    try:
        graph = pygraphviz.AGraph(string=dot)
        data = graph.draw(format=fmt, prog=engine)
    except (Exception, MemoryError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # Graphviz's notes ("layout may take a long time") are noise
    sys.exit(main(sys.argv[1:]))
