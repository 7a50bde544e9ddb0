"""``leanlane prune-audit``: delete audit events older than a date, for operators who keep the
trail for a fixed time only (by default it is kept for good)."""

from __future__ import annotations

import argparse
import datetime as dt

from workflow.adapters.database import transaction, upgrade
from workflow.cli import UserError
from workflow.services import accounts, audit

__all__ = ["COMMANDS", "add_commands", "run"]

COMMANDS = ("prune-audit",)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None


def add_commands(commands: argparse._SubParsersAction) -> None:
    prune = commands.add_parser(
        "prune-audit", help="delete audit events (Admin > Activity) older than a date"
    )
    prune.add_argument(
        "--before",
        type=_day,
        required=True,
        metavar="DATE",
        help="delete the events of days before DATE (YYYY-MM-DD, UTC); DATE's own are kept",
    )
    prune.add_argument("--org", metavar="SLUG", help="only this organisation's events")


def run(app, args: argparse.Namespace) -> int:
    from web import database

    if args.before > dt.datetime.now(dt.UTC).date():
        raise UserError("--before lies in the future; choose today or an earlier day")
    upgrade(database.engine(app))
    before = dt.datetime.combine(args.before, dt.time())
    with transaction(database.session_factory(app)) as session:
        org_id = None
        if args.org:
            org = accounts.organisation_by_slug(session, args.org)
            if org is None:
                raise UserError(f"no organisation has the slug {args.org!r}")
            org_id = org.id
        removed = audit.prune(session, before, org_id=org_id)
    scope = f" of {args.org}" if args.org else ""
    print(f"Deleted {removed} audit event(s){scope} from before {args.before.isoformat()}.")
    return 0
