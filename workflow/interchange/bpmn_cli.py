"""The ``leanlane import-bpmn`` and ``leanlane export-bpmn`` commands.

``add_commands`` adds both to the ``leanlane`` parser's sub-commands and ``run`` executes one.
Errors a user can fix raise :class:`workflow.cli.UserError` or
:class:`~workflow.errors.ModelError`, which the ``leanlane`` command prints as
``leanlane: error: ...`` lines with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workflow.interchange.bpmn_export import export_bpmn
from workflow.interchange.bpmn_import import load_bpmn
from workflow.model import ProcessModel
from workflow.yaml_format import dumps_model, load_model

__all__ = ["COMMANDS", "add_commands", "run"]

COMMANDS = ("import-bpmn", "export-bpmn")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-bpmn`` and ``export-bpmn`` to a parser's sub-commands."""
    read = subparsers.add_parser(
        "import-bpmn",
        help="read a BPMN 2.0 file (from any modeller) into a Leanlane model",
        description="Read a BPMN 2.0 file into a Leanlane model. What BPMN cannot say "
        "(probabilities) or Leanlane cannot show is listed as warnings (see docs/BPMN.md).",
    )
    read.add_argument("file", help="a BPMN 2.0 XML file (.bpmn), at most 10 MiB")
    read.add_argument("-o", "--output", help="where to write the Leanlane YAML model")
    read.add_argument(
        "--json",
        action="store_true",
        help="print what was read as JSON: flow_nodes, sequence_flows, lanes, pools, "
        "message_flows, warnings",
    )
    write = subparsers.add_parser(
        "export-bpmn",
        help="write a Leanlane model as BPMN 2.0 with its diagram",
        description="Write a Leanlane model as BPMN 2.0 XML, laid out, for bpmn.io, Camunda "
        "Modeler and other modellers; Leanlane's figures travel as extension elements.",
    )
    write.add_argument("file", help="a Leanlane YAML model (see docs/FORMAT.md)")
    write.add_argument("-o", "--output", required=True, help="the .bpmn file to write")
    write.add_argument("--process", help="export only this process or journey (default: all)")


def _user_error(message: str) -> Exception:
    # Imported here so that workflow.cli can import this module at its top.
    from workflow.cli import UserError

    return UserError(message)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise _user_error(f"{path}: cannot write: {exc.strerror or exc}") from None


def _import(args: argparse.Namespace) -> int:
    if not args.output and not args.json:
        raise _user_error(
            "import-bpmn: give -o OUT.yaml to write the model, or --json to print what was read"
        )
    result = load_bpmn(args.file)
    if args.output:
        output = Path(args.output)
        _write(output, dumps_model(result.model).encode("utf-8"))
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    counts = result.counts
    processes = len(result.model.processes)
    print(
        f"Read {args.file}: {counts.flow_nodes} flow nodes, {counts.sequence_flows} sequence "
        f"flows, {counts.lanes} lanes, {counts.pools} pools, {counts.message_flows} message "
        f"flows; wrote {processes} process{'es' if processes != 1 else ''} to {args.output}"
    )
    for warning in result.warnings:
        print(f"  warning: {warning}")
    return 0


def _export(args: argparse.Namespace) -> int:
    model = load_model(args.file)
    subject: ProcessModel = model
    if args.process is not None:
        ids = [p.id for p in model.processes]
        if args.process not in ids:
            raise _user_error(
                f"{args.file}: no process {args.process!r}; this file has: {', '.join(ids)}"
            )
        subject = ProcessModel(
            model.name, (model.process(args.process),), description=model.description
        )
    output = Path(args.output)
    _write(output, export_bpmn(subject))
    steps = sum(len(p) for p in subject.processes)
    print(
        f"Wrote {len(subject.processes)} process(es) with {steps} steps to {output} (BPMN 2.0 "
        "with diagram)"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``import-bpmn`` or ``export-bpmn`` as parsed by :func:`add_commands`."""
    if args.command == "import-bpmn":
        return _import(args)
    if args.command == "export-bpmn":
        return _export(args)
    raise ValueError(f"not a BPMN command: {args.command!r}")
