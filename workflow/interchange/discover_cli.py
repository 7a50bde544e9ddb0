"""``leanlane discover LOG``: an event log in, a Leanlane process (or the log's facts) out.

``add_commands(subparsers)`` adds the command to the ``leanlane`` parser and ``run(args)`` runs
it. Errors a user can fix are printed as ``leanlane: error: ...`` with status 2 right here,
like the rest of the command line does, because this module must not import the engine's CLI:
the discovery benchmark times this command from process start, and ``workflow.cli`` pulls in
the whole engine. For the same reason the model-building modules are imported only with ``-o``.

    python -m workflow.interchange.discover_cli LOG --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from workflow.interchange.eventlog import (
    ACTIVITY,
    CASE,
    RESOURCE,
    ROLE,
    START,
    TIME,
    EventLog,
    EventLogError,
)

__all__ = ["add_commands", "main", "read_log", "run"]

EXIT_USAGE = 2
DEFAULT_KEEP = 0.8
GZIP_MAGIC = b"\x1f\x8b"


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1: {text!r}")
    return value


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``discover`` to a ``leanlane`` parser's subcommands."""
    parser = subparsers.add_parser(
        "discover",
        help="discover a process from an event log (CSV, XES or XES.gz)",
        description="Read an event log, keep its main paths and write a Leanlane process; "
        "with --json print the log's facts (directly-follows graph, times, variants).",
    )
    parser.add_argument("log", help="the event log: .csv, .xes or .xes.gz")
    columns = parser.add_argument_group(
        "columns", "which column (CSV) or attribute (XES) holds what; found by name if left out"
    )
    columns.add_argument(
        "--case",
        metavar="COL",
        help="case id (default: case:concept:name, "
        "case_id, case, ...; XES: the trace's concept:name)",
    )
    columns.add_argument(
        "--activity", metavar="COL", help="activity (default: concept:name, activity, ...)"
    )
    columns.add_argument(
        "--timestamp",
        metavar="COL",
        help="when the activity completed (default: time:timestamp, timestamp, ...)",
    )
    columns.add_argument(
        "--start-timestamp",
        metavar="COL",
        help="when it started (default: start_timestamp, start_time, ...; gives touch times)",
    )
    columns.add_argument(
        "--resource", metavar="COL", help="who did it (default: org:resource, resource, ...)"
    )
    columns.add_argument(
        "--role",
        metavar="COL",
        help="their role; lanes come from roles, else resources "
        "(default: org:role, role, org:group, ...)",
    )
    columns.add_argument(
        "--timestamp-format",
        metavar="FORMAT",
        help="strftime format of the timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' "
        "(default: recognised, ISO 8601 first)",
    )
    parser.add_argument(
        "--keep",
        type=_share,
        default=DEFAULT_KEEP,
        metavar="SHARE",
        help="keep the most frequent variants covering this share of the cases "
        f"(default {DEFAULT_KEEP:g}; 1 keeps everything)",
    )
    parser.add_argument("--name", help="name of the process (default: the log's file name)")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the unfiltered log facts as JSON (pm4py's shapes)",
    )
    parser.add_argument("-o", "--output", metavar="OUT.yaml", help="write the process here")


def _is_xes(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return True
    if name.endswith((".csv", ".tsv", ".txt")):
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return head.startswith((GZIP_MAGIC, b"<"))


def read_log(args: argparse.Namespace) -> EventLog:
    """The log named by ``args.log``, read with the columns the options name."""
    path = Path(args.log)
    chosen = {
        CASE: args.case,
        ACTIVITY: args.activity,
        TIME: args.timestamp,
        START: args.start_timestamp,
        RESOURCE: args.resource,
        ROLE: args.role,
    }
    if not path.exists():
        raise EventLogError(f"{path}: no such file")
    if _is_xes(path):
        from workflow.interchange.eventlog_xes import read_xes_log

        return read_xes_log(path, chosen, timestamp_format=args.timestamp_format)
    from workflow.interchange.eventlog_csv import read_csv_log

    return read_csv_log(path, chosen, timestamp_format=args.timestamp_format)


def _display_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".xes", ".csv", ".tsv", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "discovered"


def _write_model(args: argparse.Namespace, log: EventLog) -> str:
    from workflow.interchange.discovery import discover
    from workflow.interchange.discovery_filter import keep_main_variants
    from workflow.interchange.to_process import facts_to_model
    from workflow.yaml_format import dumps_model

    whole = discover(log)
    kept = keep_main_variants(log, args.keep)
    facts = discover(kept.log)
    name = args.name or _display_name(Path(args.log))
    span = (
        f" from {whole.first:%Y-%m-%d} to {whole.last:%Y-%m-%d}"
        if whole.first and whole.last
        else ""
    )
    summary = (
        f"Discovered from {Path(args.log).name}: {whole.events:,} events in {whole.cases:,} "
        f"cases{span}. The {kept.variants_kept:,} most frequent of {kept.variants:,} variants "
        f"cover {kept.share:.0%} of the cases (--keep {args.keep:g}) and make this map."
    )
    model = facts_to_model(facts, whole, name=name, summary=summary, has_start_times=log.has_start)
    output = Path(args.output)
    try:
        output.write_text(dumps_model(model), encoding="utf-8")
    except OSError as exc:
        raise EventLogError(f"{output}: cannot write: {exc.strerror}") from None
    process = model.processes[0]
    return (
        f"Wrote {output}: {len(process)} steps from {len(facts.activities)} activities, "
        f"{kept.variants_kept} of {kept.variants} variants ({kept.share:.0%} of "
        f"{kept.cases:,} cases), {process.volume:,.0f} cases a year"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``discover``; returns the exit status (2 with a message for a user's error)."""
    if not args.json and not args.output:
        print("leanlane: error: discover needs -o OUT.yaml, --json, or both", file=sys.stderr)
        return EXIT_USAGE
    try:
        log = read_log(args)
        if args.output:
            message = _write_model(args, log)
        if args.json:
            from workflow.interchange.discovery import discover, facts_json

            facts = facts_json(discover(log, details=False), tool="leanlane")
            facts["source"] = Path(args.log).name
            json.dump(facts, sys.stdout, indent=1, ensure_ascii=False)
            sys.stdout.write("\n")
        if args.output:
            print(message, file=sys.stderr if args.json else sys.stdout)
    except EventLogError as exc:
        print(f"leanlane: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``discover`` alone, for ``python -m workflow.interchange.discover_cli``."""
    parser = argparse.ArgumentParser(prog="leanlane")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] != ["discover"]:
        arguments.insert(0, "discover")
    return run(parser.parse_args(arguments))


if __name__ == "__main__":
    sys.exit(main())
