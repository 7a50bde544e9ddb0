"""The ``leanlane`` command.

Errors a user can fix (a bad file, an unknown proposal id, proposals that clash) print one line
each, naming the file, the field and the reason, and exit with status 2; they never show a
traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from workflow.analysis import Analysis, analyze
from workflow.errors import ModelError
from workflow.interchange import bpmn_cli, discover_cli
from workflow.model import Process
from workflow.proposals import (
    DEFAULT_LIMIT,
    Proposal,
    ProposalConflict,
    apply_to_model,
    choose_compatible,
)
from workflow.render import (
    FORMATS,
    HEATMAP_MEASURES,
    Diagram,
    Renderer,
    RenderError,
    pain_heatmap,
    process_map,
    proposal_diff,
    proposal_side_by_side,
    service_blueprint,
)
from workflow.render.engine import DEFAULT_TIME_LIMIT, LAYOUTS
from workflow.report import render_text
from workflow.yaml_format import load_model, save_model

__all__ = ["UserError", "build_parser", "dispatch", "main", "run_reporting_errors"]

EXIT_USAGE = 2
VIEWS = ("map", "blueprint", "heatmap", "proposal")
MAX_ERROR_LINES = 20


class UserError(Exception):
    """Something the user can fix; the message is shown as is."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _add_analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a Leanlane YAML model (see docs/FORMAT.md)")
    parser.add_argument(
        "--as-of", type=_date, default=None, help="date flags are aged against (default: today)"
    )
    parser.add_argument(
        "--limit",
        type=_non_negative,
        default=DEFAULT_LIMIT,
        help=f"candidates measured in full per process (0 = all; default {DEFAULT_LIMIT})",
    )
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    parser.add_argument(
        "--runs",
        type=_non_negative,
        default=2000,
        help="simulated cases per process (0 = no simulation; default 2000)",
    )


def build_parser(
    extend: Callable[[argparse._SubParsersAction], None] | None = None,
) -> argparse.ArgumentParser:
    """The engine's commands; ``extend`` may add more (the web package adds ``run``)."""
    parser = argparse.ArgumentParser(
        prog="leanlane",
        description="Find where the time, the pain and the waste are in a process, and what "
        "to change.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("validate", help="check a model file and report every problem")
    check.add_argument("file")

    show = commands.add_parser("analyze", help="metrics, top steps and ranked proposals")
    _add_analysis_options(show)
    show.add_argument("--json", action="store_true", help="print JSON (keys in docs/CLI.md)")
    show.add_argument("--top", type=_non_negative, default=5, help="steps shown per process")
    show.add_argument(
        "--proposals", type=_non_negative, default=10, help="proposals shown (0 = all)"
    )

    apply = commands.add_parser("propose", help="apply proposals and write the simplified model")
    _add_analysis_options(apply)
    apply.add_argument(
        "--apply",
        required=True,
        metavar="IDS|all",
        help="comma-separated proposal ids or ranks, or 'all' for every compatible proposal",
    )
    apply.add_argument("-o", "--output", required=True, help="where to write the new model")

    draw = commands.add_parser("render", help="draw a process as SVG, PNG or PDF")
    _add_analysis_options(draw)
    draw.add_argument("--view", choices=VIEWS, default="map", help="what to draw (default map)")
    draw.add_argument("--process", help="process or journey id (default: the first in the file; "
                      "for a blueprint, the first journey)")
    draw.add_argument("--proposal", metavar="ID|RANK", help="the proposal to show (view proposal)")
    draw.add_argument("--side-by-side", action="store_true",
                      help="proposal view: before and after instead of one diff picture")
    draw.add_argument("--measure", choices=HEATMAP_MEASURES, default="priority",
                      help="heatmap fill (default priority)")
    draw.add_argument("--format", choices=FORMATS, default=None,
                      help="svg, png or pdf (default: from the output's suffix, else svg)")
    draw.add_argument("--layout", choices=LAYOUTS, default="grid",
                      help="grid: lanes in order, any size (default); layered: Graphviz dot")
    draw.add_argument("--time-limit", type=_positive, default=DEFAULT_TIME_LIMIT,
                      help=f"seconds a layout may take (default {DEFAULT_TIME_LIMIT:g})")
    draw.add_argument("-o", "--output", required=True, help="the file to write")
    bpmn_cli.add_commands(commands)
    discover_cli.add_commands(commands)
    if extend is not None:
        extend(commands)

    return parser


def _analyze(args: argparse.Namespace) -> Analysis:
    model = load_model(args.file)
    try:
        return analyze(
            model, as_of=args.as_of, limit=args.limit, simulation_runs=args.runs, seed=args.seed
        )
    except ModelError as exc:
        raise ModelError(exc.problems, args.file) from None


def _choose(analysis: Analysis, spec: str, source: str) -> tuple[list[Proposal], list[Proposal]]:
    """The proposals a user named, and (for 'all') the ones skipped because they clash."""
    proposals = list(analysis.proposals)
    if spec.strip().lower() == "all":
        return choose_compatible(analysis.model, proposals)
    by_id = {p.id: p for p in proposals}
    by_rank = {str(p.rank): p for p in proposals}
    chosen = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        proposal = by_id.get(token) or by_rank.get(token)
        if proposal is None:
            raise UserError(
                f"{source}: no proposal {token!r}; run 'leanlane analyze {source}' to see "
                "the ids and ranks"
            )
        if proposal not in chosen:
            chosen.append(proposal)
    if not chosen:
        raise UserError("--apply: name at least one proposal id or rank, or 'all'")
    return chosen, []


def _command_propose(args: argparse.Namespace) -> int:
    analysis = _analyze(args)
    if not analysis.proposals:
        raise UserError(f"{args.file}: no proposals to apply")
    chosen, skipped = _choose(analysis, args.apply, args.file)
    try:
        result = apply_to_model(analysis.model, chosen)
    except ProposalConflict as exc:
        raise UserError(f"{args.file}: {exc}") from None
    output = Path(args.output)
    try:
        save_model(result, output)
    except OSError as exc:
        raise UserError(f"{output}: cannot write: {exc.strerror}") from None
    print(f"Applied {len(chosen)} proposal(s) to {args.file}; wrote {output}")
    for proposal in chosen:
        print(f"  + {proposal.id}: {proposal.title}")
    for proposal in skipped:
        print(f"  - skipped {proposal.id}: it does not combine with a better proposal above")
    return 0


def _pick_process(analysis: Analysis, wanted: str | None, journey: bool) -> Process:
    processes = analysis.model.processes
    if wanted is not None:
        for process in processes:
            if process.id == wanted:
                return process
        raise UserError(
            f"no process {wanted!r}; this file has: {', '.join(p.id for p in processes)}"
        )
    if journey:
        journeys = [p for p in processes if p.is_journey]
        if not journeys:
            raise UserError("a blueprint needs a customer journey, and this file has none")
        return journeys[0]
    return processes[0]


def _diagram(args: argparse.Namespace, analysis: Analysis) -> Diagram:
    if args.view == "proposal":
        if not args.proposal:
            raise UserError("--view proposal needs --proposal ID or rank (see 'leanlane analyze')")
        proposal = _choose(analysis, args.proposal, args.file)[0][0]
        process = analysis.model.process(proposal.process)
        draw = proposal_side_by_side if args.side_by_side else proposal_diff
        return draw(process, proposal)
    process = _pick_process(analysis, args.process, journey=args.view == "blueprint")
    if args.view == "blueprint":
        if not process.is_journey:
            raise UserError(f"{process.id!r} is an employee process; a blueprint needs a journey")
        return service_blueprint(analysis.model, process.id, analysis)
    if args.view == "heatmap":
        return pain_heatmap(process, analysis.process(process.id), measure=args.measure)
    return process_map(process, analysis.process(process.id))


def _command_render(args: argparse.Namespace) -> int:
    output = Path(args.output)
    fmt = args.format or output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        fmt = "svg" if args.format is None and not output.suffix else fmt
    if fmt not in FORMATS:
        raise UserError(
            f"{output}: cannot tell the format from {output.suffix!r}; "
            f"use --format {'|'.join(FORMATS)}"
        )
    analysis = _analyze(args)
    diagram = _diagram(args, analysis)
    try:
        result = Renderer(layout=args.layout, time_limit=args.time_limit).render(diagram, fmt)
    except RenderError as exc:
        raise UserError(str(exc)) from None
    try:
        output.write_bytes(result.data)
    except OSError as exc:
        raise UserError(f"{output}: cannot write: {exc.strerror}") from None
    print(f"Wrote {diagram.title} to {output} ({fmt}, {result.layout} layout, "
          f"{result.seconds:.2f} s)")
    for note in result.notes:
        print(f"  note: {note}")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    """Run one parsed engine command and return its exit status."""
    if args.command == "validate":
        model = load_model(args.file)
        steps = sum(len(p) for p in model.processes)
        print(f"{args.file}: valid ({len(model.processes)} processes, {steps} steps)")
        return 0
    if args.command == "analyze":
        analysis = _analyze(args)
        if args.json:
            json.dump(analysis.to_dict(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(render_text(analysis, top=args.top, proposals=args.proposals))
        return 0
    if args.command == "propose":
        return _command_propose(args)
    if args.command == "render":
        return _command_render(args)
    if args.command in bpmn_cli.COMMANDS:
        return bpmn_cli.run(args)
    if args.command == "discover":
        return discover_cli.run(args)
    raise AssertionError(f"unknown command {args.command!r}")


def run_reporting_errors(command: Callable[[], int]) -> int:
    """Run a command; turn errors a user can fix into ``leanlane: error:`` lines and status 2."""
    try:
        return command()
    except ModelError as exc:
        lines = exc.lines()
        for line in lines[:MAX_ERROR_LINES]:
            print(f"leanlane: error: {line}", file=sys.stderr)
        if len(lines) > MAX_ERROR_LINES:
            print(f"leanlane: ... and {len(lines) - MAX_ERROR_LINES} more", file=sys.stderr)
        return EXIT_USAGE
    except UserError as exc:
        print(f"leanlane: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """The engine commands alone (the installed ``leanlane`` also has ``run``)."""
    return run_reporting_errors(lambda: dispatch(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
