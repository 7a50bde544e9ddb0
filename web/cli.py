"""The ``leanlane`` console script.

``discover`` is dispatched before anything else is imported: reading a large event log is
meant to take about a second as a whole command, and the engine and web app would add most of
that just by loading. Every other command goes through :mod:`web.commands`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["discover"]:
        from workflow.interchange import discover_cli

        return discover_cli.main(arguments)
    from web import commands

    return commands.main(arguments)


if __name__ == "__main__":
    sys.exit(main())
