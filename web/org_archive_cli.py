"""``leanlane export-organisation`` and ``leanlane import-organisation``: move an organisation
with everything it owns to another database (or copy it within one).

The archive holds password and API token hashes, so it is written readable by its owner only.
Both commands exit 0 on success and 2 with ``leanlane: error:`` lines when refused; an import
that is refused writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from workflow.adapters.database import transaction, upgrade
from workflow.cli import EXIT_USAGE, UserError
from workflow.services import org_archive
from workflow.services.errors import InvalidInput, NotFound

__all__ = ["COMMANDS", "add_commands", "run"]

COMMANDS = ("export-organisation", "import-organisation")


def add_commands(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export-organisation",
        help="write an organisation with all it owns (users, processes, signals...) to a file",
    )
    export.add_argument("organisation", help="the organisation's id, slug or name")
    export.add_argument("--output", "-o", required=True, metavar="FILE", help="archive to write")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    load = commands.add_parser(
        "import-organisation", help="create a new organisation from an archive file"
    )
    load.add_argument("file", metavar="FILE", help="archive written by export-organisation")
    load.add_argument(
        "--name", default="", help="name of the new organisation (default: as archived)"
    )
    load.add_argument(
        "--email-tag",
        default="",
        metavar="TAG",
        help="import users as name+TAG@domain (when their addresses are already in this database)",
    )


def _write_private(path: Path, data: bytes, force: bool) -> None:
    """Write ``data`` readable by the owner only, replacing ``path`` in one step."""
    if path.exists() and not force:
        raise UserError(f"{path} exists; choose another file or add --force to replace it")
    partial = path.with_name(f".{path.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def _export(app, args: argparse.Namespace) -> int:
    from web import database

    with transaction(database.session_factory(app)) as session:
        try:
            org_id = org_archive.find_organisation(session, args.organisation).id
        except NotFound as exc:
            raise UserError(str(exc)) from None
    try:
        name, data = org_archive.export_snapshot(database.session_factory(app), org_id)
    except InvalidInput as exc:
        raise UserError(str(exc)) from None
    path = Path(args.output)
    _write_private(path, data, args.force)
    print(f"Wrote {name!r} to {path} ({len(data):,} bytes).")
    print("It holds password and API token hashes: keep it as safe as a database backup.")
    return 0


def _read(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise UserError(f"{path} is {size:,} bytes; at most {limit:,} are accepted")
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def _import(app, args: argparse.Namespace) -> int:
    from web import database

    limits = org_archive.ArchiveLimits()
    data = _read(Path(args.file), limits.max_bytes)
    try:
        with transaction(database.session_factory(app)) as session:
            report = org_archive.import_organisation(
                session, data, name=args.name, email_tag=args.email_tag, limits=limits
            )
    except InvalidInput as exc:
        print(f"leanlane: error: {exc}", file=sys.stderr)
        for line in exc.problems[1:]:
            print(f"leanlane: error: {line}", file=sys.stderr)
        print("leanlane: nothing was imported.", file=sys.stderr)
        return EXIT_USAGE
    print(f"Imported {report.name!r} as organisation {report.org_id} (slug {report.slug}):")
    for table, count in report.rows.items():
        print(f"  {table:<20} {count:>7}")
    for note in report.notes:
        print(f"Note: {note}.")
    print("Its users log in with their old passwords.")
    return 0


def run(app, args: argparse.Namespace) -> int:
    from web import database

    upgrade(database.engine(app))
    if args.command == "export-organisation":
        return _export(app, args)
    return _import(app, args)
