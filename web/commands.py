"""The web app's commands beside the engine's: ``run``, ``migrate``, ``set-password``,
``add-organisation``, ``send-outbox``, ``jobs``, and ``export-organisation`` and
``import-organisation`` (:mod:`web.org_archive_cli`), and ``prune-audit`` (:mod:`web.audit_cli`).

``run`` creates or upgrades the database, loads the demo organisation on the very first run
(printing its users' passwords once), then serves the app. ``migrate`` only upgrades the schema,
``set-password`` changes a user's password from the terminal and ``send-outbox`` sends the
queued "you said, we did" e-mails when an SMTP server is configured. ``jobs`` shows background
jobs (imports) with their status and progress, as the browser does (marking failed, as it does,
the jobs whose runner stopped); ``jobs --fail-stale`` does that for every organisation.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence

from sqlalchemy import func, select

from web import audit_cli, org_archive_cli
from workflow.adapters import tables as t
from workflow.adapters.database import transaction, upgrade
from workflow.cli import UserError, build_parser, dispatch, run_reporting_errors

__all__ = ["main"]


def _add_web_commands(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "run", help="create or upgrade the database, load the demo on first run, and serve"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    serve.add_argument(
        "--no-demo", action="store_true", help="start with an empty database, no demo data"
    )
    commands.add_parser("migrate", help="create or upgrade the database schema and exit")
    found = commands.add_parser(
        "add-organisation",
        help="create an organisation and invite its first admin (prints the invitation link)",
    )
    found.add_argument("name", help="the organisation's name")
    found.add_argument("--admin-email", required=True, help="e-mail address of its first admin")
    found.add_argument("--admin-name", default="", help="the admin's name")
    found.add_argument(
        "--url",
        default="http://127.0.0.1:5000",
        help="address people open the app at, for the link (default http://127.0.0.1:5000)",
    )
    password = commands.add_parser("set-password", help="set a user's password")
    password.add_argument("email", help="the user's e-mail address")
    password.add_argument(
        "--stdin", action="store_true", help="read the new password from standard input"
    )
    commands.add_parser(
        "send-outbox",
        help="send queued e-mails over SMTP (when LEANLANE_SMTP_HOST is set; else they wait)",
    )
    jobs = commands.add_parser(
        "jobs", help="list recent background jobs with status and progress, or show one"
    )
    jobs.add_argument("job_id", nargs="?", type=int, metavar="ID", help="show this job only")
    jobs.add_argument("--org", metavar="SLUG", help="only this organisation's jobs")
    jobs.add_argument(
        "--limit",
        type=_job_limit,
        default=20,
        metavar="N",
        help=f"how many of the newest jobs (default 20, at most {MAX_JOBS_LISTED})",
    )
    jobs.add_argument(
        "--fail-stale",
        action="store_true",
        help="mark failed every job whose runner stopped (no heartbeat within "
        "LEANLANE_JOB_STALE_AFTER seconds, 120 by default) or whose Redis queue entry is gone, "
        "and drop the files kept for retrying them after a day; for cron",
    )
    org_archive_cli.add_commands(commands)
    audit_cli.add_commands(commands)


MAX_JOBS_LISTED = 1000


def _job_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_JOBS_LISTED:
        raise argparse.ArgumentTypeError(f"choose between 1 and {MAX_JOBS_LISTED}")
    return value


def _prepare(app, *, demo: bool) -> None:
    """Upgrade the schema; on an empty database, load the demo organisation and say so."""
    from web import database, rendering
    from workflow.services.demo import demo_exists, seed_demo

    upgrade(database.engine(app))
    if not demo:
        return
    with transaction(database.session_factory(app)) as session:
        if demo_exists(session):
            return
        print("Loading the demo organisation (first run)...", flush=True)
        users = seed_demo(
            session,
            app.config["MODELS_DIR"],
            renderer=rendering.renderer(app),
            step_url=rendering.step_url,
        )
    print("\nDemo users (shown only this once):")
    for user in users:
        print(f"  {user.role:<9} {user.email:<34} password: {user.password}")
    print(
        "\nChange a password after logging in (Account), or here with:\n"
        "  leanlane set-password EMAIL\n",
        flush=True,
    )


def _set_password(app, email: str, from_stdin: bool) -> int:
    from web import database
    from workflow.services.accounts import set_password
    from workflow.services.errors import InvalidInput

    upgrade(database.engine(app))
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise UserError("the two passwords differ; nothing was changed")
    with transaction(database.session_factory(app)) as session:
        user = session.scalar(select(t.User).where(func.lower(t.User.email) == email.lower()))
        if user is None:
            raise UserError(f"no user has the e-mail address {email!r}")
        try:
            set_password(session, user, password, actor_id=None)
        except InvalidInput as exc:
            raise UserError(str(exc)) from None
    print(f"Password of {email} changed; their other sessions were logged out.")
    return 0


def _add_organisation(app, args: argparse.Namespace) -> int:
    from web import database
    from workflow.services.accounts import INVITE_DAYS, found_organisation
    from workflow.services.errors import InvalidInput

    engine = database.engine(app)
    try:
        upgrade(engine)
        with transaction(database.session_factory(app)) as session:
            try:
                org, admin, token = found_organisation(
                    session, args.name, args.admin_email, args.admin_name
                )
            except InvalidInput as exc:
                raise UserError(str(exc)) from None
            name, email = org.name, admin.email
    finally:
        engine.dispose()
    print(f"Created the organisation {name!r}. Its first admin, {email}, sets a password at:")
    print(f"  {args.url.rstrip('/')}/invite/{token}")
    print(f"The link works once, for {INVITE_DAYS} days.")
    return 0


def _send_outbox(app) -> int:
    """Send what waits in the outbox; without an SMTP server, say so and leave it queued."""
    from web import database
    from workflow.services import outbox

    engine = database.engine(app)
    try:
        upgrade(engine)
        settings = outbox.SmtpSettings.from_config(app.config)
        with transaction(database.session_factory(app)) as session:
            waiting = outbox.queued_count(session)
            if settings is None:
                print(
                    f"No SMTP server is configured (set LEANLANE_SMTP_HOST); {waiting} message"
                    f"{'s' if waiting != 1 else ''} stay queued."
                )
                return 0
            report = outbox.send_queued(session, outbox.smtp_sender(settings))
    finally:
        engine.dispose()
    print(
        f"Sent {report.sent} message{'s' if report.sent != 1 else ''} through "
        f"{settings.host}:{settings.port}; {report.failed} failed."
    )
    for error in report.errors:
        print(f"  {error}", file=sys.stderr)
    return 1 if report.failed else 0


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _progress(job: t.Job) -> str:
    return f"{round((job.progress or 0.0) * 100):d}%"


def _one_line(text: str, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _list_jobs(session, args: argparse.Namespace, app) -> None:
    from web.imports import fail_stale_jobs
    from workflow.services import accounts, jobs

    org_id = None
    if args.org:
        org = accounts.organisation_by_slug(session, args.org)
        if org is None:
            raise UserError(f"no organisation has the slug {args.org!r}")
        org_id = org.id
    found = jobs.recent_jobs(session, org_id=org_id, limit=args.limit)
    if fail_stale_jobs(app, session, job_ids=[job.id for job in found]):
        session.commit()
    if not found:
        print(f"No jobs for {args.org} yet." if args.org else "No jobs yet.")
        return
    slugs = dict(session.execute(select(t.Organisation.id, t.Organisation.slug)).all())
    print(
        f"{'id':>6}  {'organisation':<16} {'kind':<12} {'status':<8} {'progress':>8}  "
        f"{'created':<23}  message"
    )
    for job in found:
        print(
            f"{job.id:>6}  {_one_line(slugs.get(job.org_id, '?'), 16):<16} "
            f"{_one_line(job.kind, 12):<12} {job.status:<8} {_progress(job):>8}  "
            f"{_when(job.created_at):<23}  {_one_line(job.error or job.message, 60)}"
        )


def _show_job(session, job_id: int, app) -> None:
    from web.imports import fail_stale_jobs
    from workflow.services import jobs

    job = jobs.job_by_id(session, job_id)
    if job is None:
        raise UserError(f"no job has the id {job_id}")
    if fail_stale_jobs(app, session, job_ids=[job_id]):
        session.commit()
    org = session.get(t.Organisation, job.org_id)
    user = session.get(t.User, job.user_id) if job.user_id else None
    result = jobs.result_of(job)
    rows = [
        ("organisation", f"{org.slug} ({org.name})" if org else "?"),
        ("kind", job.kind),
        ("status", job.status),
        ("progress", _progress(job)),
        ("message", job.message or "-"),
        ("submitted by", user.email if user else "-"),
        ("created", _when(job.created_at)),
        ("started", _when(job.started_at)),
        ("heartbeat", _when(job.heartbeat_at)),
        ("finished", _when(job.finished_at)),
    ]
    if job.error:
        rows.append(("error", job.error))
    if result:
        rows.append(("result", json.dumps(result, sort_keys=True)))
    print(f"Job {job.id}")
    for label, value in rows:
        print(f"  {label:<13} {value}")


def _fail_stale_jobs(session, app) -> None:
    from web.imports import STALE_AFTER, fail_stale_jobs, job_queue
    from workflow.services import stale_jobs

    limit, queue = app.extensions[STALE_AFTER], job_queue(app)
    failed = fail_stale_jobs(app, session)
    dropped = stale_jobs.drop_kept_files(session)
    seconds = round(limit.total_seconds())
    why = f"no heartbeat for over {seconds} s"
    if queue is not None:
        why += ", or lost from the Redis queue"
    if failed:
        print(
            f"Marked {len(failed)} job{'s' if len(failed) != 1 else ''} failed ({why}): "
            f"{', '.join(map(str, failed))}"
        )
    elif queue is None:
        print(f"No stale jobs (every queued or running job beat within {seconds} s).")
    else:
        print(
            f"No stale jobs (every running job beat within {seconds} s, and every queued one "
            "is still in the Redis queue)."
        )
    if dropped:
        print(
            f"Dropped the kept file of {dropped} job{'s' if dropped != 1 else ''} failed a day ago."
        )


def _jobs(app, args: argparse.Namespace) -> int:
    from web import database

    upgrade(database.engine(app))
    with transaction(database.session_factory(app)) as session:
        if args.fail_stale:
            if args.job_id is not None or args.org:
                raise UserError("--fail-stale checks every job; give it no id and no --org")
            _fail_stale_jobs(session, app)
        elif args.job_id is not None:
            _show_job(session, args.job_id, app)
        else:
            _list_jobs(session, args, app)
    return 0


def _one_off(app, args: argparse.Namespace) -> int:
    from web import database

    if args.command == "migrate":
        upgrade(database.engine(app))
        print("The database schema is up to date.")
        return 0
    if args.command == "set-password":
        return _set_password(app, args.email, args.stdin)
    if args.command == "send-outbox":
        return _send_outbox(app)
    if args.command == "jobs":
        return _jobs(app, args)
    if args.command in org_archive_cli.COMMANDS:
        return org_archive_cli.run(app, args)
    if args.command in audit_cli.COMMANDS:
        return audit_cli.run(app, args)
    return _add_organisation(app, args)


def _web_command(args: argparse.Namespace) -> int:
    from web import create_app, database

    app = create_app()
    if args.command != "run":
        try:
            return _one_off(app, args)
        finally:
            database.engine(app).dispose()
    _prepare(app, demo=not args.no_demo)
    print(f"Leanlane is running on http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    app.run(host=args.host, port=args.port, threaded=True)
    return 0


WEB_COMMANDS = (
    "run",
    "migrate",
    "set-password",
    "send-outbox",
    "add-organisation",
    "jobs",
    *org_archive_cli.COMMANDS,
    *audit_cli.COMMANDS,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Every command of the ``leanlane`` console script but the fast ``discover``."""
    args = build_parser(_add_web_commands).parse_args(argv)
    if args.command in WEB_COMMANDS:
        return run_reporting_errors(lambda: _web_command(args))
    return run_reporting_errors(lambda: dispatch(args))
