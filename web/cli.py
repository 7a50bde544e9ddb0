"""The ``leanlane`` console command: the engine's commands plus ``run``, which serves the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workflow.cli import build_parser, dispatch, run_reporting_errors

__all__ = ["main"]


def _add_run(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("run", help="serve the web app on http://HOST:PORT")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(_add_run).parse_args(argv)
    if args.command == "run":
        from web import create_app

        app = create_app()
        print(f"Leanlane is running on http://{args.host}:{args.port}/ (Ctrl+C to stop)")
        app.run(host=args.host, port=args.port)
        return 0
    return run_reporting_errors(lambda: dispatch(args))


if __name__ == "__main__":
    sys.exit(main())
