"""Load benchmark: staff pages, reviewer dashboards and customer feedback at the same time.

The app runs as it is deployed for many users: gunicorn (4 sync workers with ``--preload``;
``--workers N`` and ``--threads N`` try other shapes, gthread workers above one thread)
serving ``web:create_app()`` on 127.0.0.1, on a PostgreSQL database of its own
(``leanlane_load``, created here and dropped afterwards) seeded with the demo organisation, and
with ``REDIS_URL=redis://127.0.0.1:6379/<n>`` set, so the rate limits are counted in Redis
and shared by every worker. The server, seeding and measuring come from ``bench/web.py``.

Three kinds of client load the app together, from one separate process (Python asyncio, one
keep-alive connection each, each sending its next request as soon as the previous answer is
read):

- staff: the demo staff member (logged in through the form) opening every process page and
  every step page of the organisation in turn;
- reviewer: the demo reviewer opening the review dashboard ``/review/<id>`` of every process
  in turn (each worker measures the organisation once, during the warm-up, and measures it
  again when the run's customer feedback has made its figures older than
  ``REVIEW_ANALYSIS_MAX_AGE`` seconds, 30 by default);
- customers: anonymous visitors fetching a public journey form for its CSRF token, then posting
  feedback (a step, a kind of trouble, a CES answer and a text that names the submission). The
  feedback rate limit (5 a minute per client in production) is raised for the run through
  ``LEANLANE_FEEDBACK_RATE_LIMIT``, since every customer comes from 127.0.0.1.

Afterwards every accepted feedback (a redirect to the thank-you page) must be in the database
as a customer flag with its own text, with a CES answer. The run reports requests/s, p50, p95
and p99 latency (queueing included), 5xx answers and errors per kind and overall. The whole run
stops by itself within 60 s (the load lasts 15 s, 8 s with ``--quick``). Last, ``/healthz`` and
the largest process page are timed in-process one request at a time, as ``bench/web.py`` does:
a slower virtual machine shows there, not only in the latency.

    python bench/load.py              # updates the load section of docs/BENCHMARKS.md
    python bench/load.py --quick      # about 10 s of load
    python bench/load.py --no-write   # print only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import io
import json
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

# Run as a script, bench/ comes first on sys.path and bench/web.py would shadow the app package
# "web": the repository root goes first instead.
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench.reporting import DOC, machine_info, marks, md_table, plain_table, write_section  # noqa: E402
from bench.web import (  # noqa: E402
    FEEDBACK_LIMIT,
    Connection,
    Site,
    _feedback_form,
    _request,
    check_page,
    gunicorn,
    in_process,
    libraries,
    log_in,
    postgres_admin_url,
    postgres_database,
    run_load,
    seed,
)

DATABASE = "leanlane_load"
REDIS_DB = 7
WORKERS = 4
#: Threads per worker: 1 runs sync workers, more runs gthread workers.
THREADS = 1
CLIENTS = {"staff": 8, "reviewer": 4, "feedback": 4}
SECONDS = 15.0
QUICK_SECONDS = 8.0
#: Load before measuring: long enough for every worker to measure the organisation once (about
#: half a second of CPU each), so the figures are the steady state a running server sees.
WARM_UP = 3.0
#: Requests per round of the in-process timing that tells how fast the machine is.
REFERENCE_RUNS = 50
#: Time each customer connection has to fetch its form before the load starts.
FORM_FETCH = 0.5
#: Everything (seeding, server start, load, checks, clean-up) must end within this.
TOTAL_BUDGET = 60
P95_GOAL_MS = 300.0
START_MARK, END_MARK = marks("load")
KINDS = ("staff", "reviewer", "feedback")
LABELS = {
    "staff": "staff pages",
    "reviewer": "review dashboards",
    "feedback": "feedback POST",
}
HEAD = (
    "kind",
    "clients",
    "requests",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "5xx",
    "errors",
)


# --- the load generator (its own process: python bench/load.py --load) -------------------------
async def _client(kind: dict, number: int, spec: dict, out: dict) -> None:
    connection = Connection(spec["port"])
    host = f"127.0.0.1:{spec['port']}"
    paths = kind["paths"]
    form = kind.get("form")
    headers = {"Cookie": kind["cookie"]} if kind.get("cookie") else {}
    if form is not None:
        journey = kind["journeys"][number % len(kind["journeys"])]
        path = f"/j/{journey['token']}"
        token, cookie = await _feedback_form(connection, {"port": spec["port"], "path": path})
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    await asyncio.sleep(max(0.0, spec["start"] - time.time()))
    measure_from = spec["start"] + spec["warm_up"]
    end = measure_from + spec["seconds"]
    sent = 0
    while (began := time.time()) < end:
        sent += 1
        if form is None:
            path = paths[(number + sent) % len(paths)]
            request = _request("GET", path, host, headers, b"")
        else:
            text = f"{form['text']} (load {number}-{sent})"
            body = form | {"step": journey["step"], "csrf_token": token, "text": text}
            request = _request("POST", path, host, headers, urlencode(body).encode())
        try:
            status, answer, _ = await connection.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            out["failures"].append(f"{path}: {type(exc).__name__}: {exc}")
            status, answer = 0, {}
        finished = time.time()
        if form is None:
            good = status == 200
        else:
            good = status in (302, 303) and "/thanks" in answer.get("location", "")
            if good:
                out["accepted"].append({"journey": journey["id"], "text": text})
        if not good:
            out["bad"].append(f"{path}: HTTP {status}")
        if measure_from <= finished <= end:
            out["samples"].append(((finished - began) * 1000, status, good))
    connection.close()


async def _load(spec: dict) -> dict:
    outs = {
        name: {"samples": [], "failures": [], "bad": [], "accepted": []} for name in spec["kinds"]
    }
    await asyncio.gather(
        *(
            _client(kind, number, spec, outs[name])
            for name, kind in spec["kinds"].items()
            for number in range(kind["clients"])
        )
    )
    return outs


def load_main() -> int:
    spec = json.loads(sys.stdin.read())
    spec["start"] = time.time() + 0.05 + FORM_FETCH
    print(json.dumps(asyncio.run(_load(spec))))
    return 0


# --- what the clients open and what must be stored ---------------------------------------------
@dataclass
class Targets:
    staff_paths: list[str]
    review_paths: list[str]
    journeys: list[dict]
    reviewer_email: str
    reviewer_password: str


def targets(site: Site) -> Targets:
    """Every process and step page, every dashboard, every public journey of the demo, and a
    known password for the demo reviewer (the demo's passwords are random and shown once)."""
    import secrets

    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from workflow.adapters import repository
    from workflow.adapters import tables as t
    from workflow.adapters.database import make_engine, transaction
    from workflow.services import accounts, feedback

    engine = make_engine(site.url)
    try:
        with transaction(sessionmaker(engine, expire_on_commit=False)) as session:
            reviewer = session.scalar(select(t.User).where(t.User.role == "reviewer"))
            password = secrets.token_urlsafe(16)
            accounts.set_password(session, reviewer, password)
            rows = repository.org_processes(session, reviewer.org_id)
            staff_paths, review_paths, journeys = [], [], []
            for row in rows:
                staff_paths.append(f"/processes/{row.id}")
                parsed = repository.parse_document(
                    repository.current_version(session, row).document
                )
                staff_paths += [
                    f"/processes/{row.id}/steps/{step.id}" for step in parsed.process.steps()
                ]
                review_paths.append(f"/review/{row.id}")
                if row.public_token:
                    steps = feedback.describe_journey(session, row).steps
                    journeys.append({"id": row.id, "token": row.public_token, "step": steps[0].id})
            email = reviewer.email
    finally:
        engine.dispose()
    return Targets(staff_paths, review_paths, journeys, email, password)


def stored_texts(url: str, journey_ids: list[int]) -> tuple[set[tuple[int, str]], int]:
    """Customer flags on the journeys, as (journey, text), and the number of CES answers."""
    from sqlalchemy import func, select

    from workflow.adapters import tables as t
    from workflow.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            flags = connection.execute(
                select(t.Flag.process_id, t.Flag.text).where(
                    t.Flag.process_id.in_(journey_ids), t.Flag.source == "customer"
                )
            )
            texts = {(process_id, text) for process_id, text in flags}
            answers = connection.scalar(
                select(func.count())
                .select_from(t.CesAnswer)
                .where(t.CesAnswer.process_id.in_(journey_ids))
            )
    finally:
        engine.dispose()
    return texts, answers


@contextlib.contextmanager
def redis_keys(url: str) -> Iterator[None]:
    """Remove the rate-limit counters the run leaves in its Redis database, and only those."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3)
    before = set(client.keys("*"))
    try:
        yield
    finally:
        created = set(client.keys("*")) - before
        if created:
            client.delete(*created)
        client.close()


# --- the measurements and the report -----------------------------------------------------------
def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Figures:
    kind: str
    clients: int
    seconds: float
    latencies: list[float]
    server_errors: int
    errors: int
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def at(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)

    def row(self) -> list[str]:
        return [
            self.kind,
            str(self.clients),
            f"{self.requests:,}",
            f"{self.rate:,.0f}",
            f"{self.at(0.5):.1f}",
            f"{self.at(0.95):.1f}",
            f"{self.at(0.99):.1f}",
            f"{self.at(1.0):.1f}",
            f"{self.server_errors:,}",
            f"{self.errors:,}",
        ]


def figures(kind: str, clients: int, seconds: float, out: dict) -> Figures:
    samples = out["samples"]
    return Figures(
        kind,
        clients,
        seconds,
        sorted(ms for ms, _, _ in samples),
        sum(1 for _, status, _ in samples if status >= 500),
        len(out["bad"]) + len(out["failures"]),
        (out["failures"] + out["bad"])[:5],
    )


@dataclass
class Report:
    kinds: list[Figures]
    overall: Figures
    accepted: int
    stored: int
    answers: int
    workers: int
    threads: int
    redis_url: str
    seconds: float
    pages: dict[str, int]
    machine: dict[str, str]
    #: Milliseconds a request takes in-process, one at a time: how fast this machine is.
    reference: dict[str, float]
    when: str
    elapsed: float

    @property
    def lost(self) -> int:
        return self.accepted - self.stored

    def goals(self) -> list[tuple[str, str, str]]:
        rows = [
            ("no errors", f"{self.overall.errors:,} errors", _verdict(self.overall.errors == 0)),
            (
                "every accepted feedback stored",
                f"{self.stored:,} of {self.accepted:,} stored, {self.answers:,} CES answers",
                _verdict(self.lost == 0 and self.accepted > 0 and self.answers >= self.accepted),
            ),
        ]
        for figure in [*self.kinds, self.overall]:
            p95 = figure.at(0.95)
            rows.append(
                (
                    f"{figure.kind}: p95 under {P95_GOAL_MS:.0f} ms",
                    f"{p95:.1f} ms",
                    _verdict(p95 < P95_GOAL_MS),
                )
            )
        return rows

    def broken(self) -> bool:
        """Errors or lost feedback fail the run; a slow one only says MISS."""
        return self.overall.errors > 0 or self.lost != 0 or self.answers < self.accepted

    def notes(self) -> list[str]:
        notes = [
            f"staff pages: {self.pages['staff']} paths (every process page and step page); "
            f"review dashboards: {self.pages['reviewer']} processes; feedback: "
            f"{self.pages['feedback']} public journeys",
        ]
        notes.append(
            "this machine's speed: through the Flask test client, one request at a time on the "
            f"same database, `GET /healthz` took {self.reference['ceiling']:.2f} ms and the "
            f"staff member's largest process page {self.reference['process page']:.2f} ms "
            "(`bench/web.py` reports the same two figures; they vary by a fifth between runs, "
            "but virtual machines of the same type have differed threefold)"
        )
        for figure in [*self.kinds, self.overall]:
            if figure.failures:
                notes.append(f"{figure.kind}: first errors {figure.failures}")
        return notes

    def server(self) -> str:
        if self.threads == 1:
            return f"{self.workers} sync workers"
        return f"{self.workers} gthread workers with {self.threads} threads each"

    def method(self) -> str:
        clients = ", ".join(f"{CLIENTS[k]} {LABELS[k]}" for k in KINDS)
        return (
            f"gunicorn {importlib.metadata.version('gunicorn')}, {self.server()}, `--preload`, on "
            f"127.0.0.1, PostgreSQL database `{DATABASE}` (created and dropped by the run), "
            f"`REDIS_URL={self.redis_url}` (rate limits shared by the workers); "
            f"{sum(CLIENTS.values())} keep-alive connections at once from a Python asyncio "
            f"client in its own process ({clients}); {self.seconds:g} s measured after "
            f"{WARM_UP:g} s warm-up; feedback rate limit raised to {FEEDBACK_LIMIT!r} for the run"
        )

    def text(self) -> str:
        out = io.StringIO()
        out.write(f"Load benchmark, {self.when} ({self.elapsed:.0f} s)\n")
        for key, value in self.machine.items():
            out.write(f"  {key:<9} {value}\n")
        out.write(f"  method    {self.method()}\n\n")
        out.write(plain_table(HEAD, [f.row() for f in [*self.kinds, self.overall]]))
        for note in self.notes():
            out.write(f"  {note}\n")
        out.write("\nGoals\n")
        out.write(plain_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]))
        return out.getvalue()

    def markdown(self) -> str:
        lines = [
            START_MARK,
            "## Web app under mixed load: staff, reviewers and customers at once",
            "",
            f"Measured {self.when} with `python bench/load.py` ({self.elapsed:.0f} s in all). "
            f"{self.method()}. Staff open process and step pages, reviewers open review "
            "dashboards (each worker measures the organisation during the warm-up and again "
            "once the run's own feedback has left its figures more than "
            "`REVIEW_ANALYSIS_MAX_AGE` seconds behind, 30 by default), customers post feedback "
            "with the form's CSRF token. Latency is what the client sees, waiting for a free "
            "worker included; the clients share the machine's CPUs with the server. Every "
            "accepted feedback is then looked up in the database by its text.",
            "",
            *(f"- {key}: {value}" for key, value in self.machine.items()),
            "",
            md_table(HEAD, [f.row() for f in [*self.kinds, self.overall]]),
            "",
            *(f"- {note}" for note in self.notes()),
            "",
            md_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]),
            END_MARK,
        ]
        return "\n".join(lines) + "\n"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class OutOfTime(Exception):
    """The run passed its total budget; the server and the database are cleaned up."""


def _out_of_time(_signum, _frame) -> None:
    raise OutOfTime(f"the run took over {TOTAL_BUDGET} s")


def measure(workers: int, seconds: float, redis_url: str, log, threads: int = THREADS) -> Report:
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="leanlane-load-") as workdir,
        postgres_database(log, DATABASE) as url,
    ):
        if url is None:
            raise RuntimeError(f"no PostgreSQL server answers at {postgres_admin_url()}")
        log(f"seeding {DATABASE} with the demo organisation ...")
        site = seed(url, Path(workdir))
        aims = targets(site)
        journey_ids = [journey["id"] for journey in aims.journeys]
        before, answers_before = stored_texts(url, journey_ids)
        with redis_keys(redis_url), gunicorn(
            site, workers, {"REDIS_URL": redis_url}, threads
        ) as port:
            staff = log_in(port, site.staff_email, site.staff_password)
            reviewer = log_in(port, aims.reviewer_email, aims.reviewer_password)
            check_page(port, aims.staff_paths[1], staff, "</html>")
            check_page(port, aims.review_paths[0], reviewer, "</html>")
            spec = {
                "port": port,
                "seconds": seconds,
                "warm_up": WARM_UP,
                "kinds": {
                    "staff": {
                        "clients": CLIENTS["staff"],
                        "paths": aims.staff_paths,
                        "cookie": staff,
                    },
                    "reviewer": {
                        "clients": CLIENTS["reviewer"],
                        "paths": aims.review_paths,
                        "cookie": reviewer,
                    },
                    "feedback": {
                        "clients": CLIENTS["feedback"],
                        "paths": [],
                        "journeys": aims.journeys,
                        "form": {
                            "category": "waiting",
                            "score": "3",
                            "text": "I waited two weeks for an answer",
                            "email": "",
                            "website": "",
                        },
                    },
                },
            }
            log(
                f"loading {sum(CLIENTS.values())} clients for {seconds:g} s "
                f"({workers} workers x {threads} threads) ..."
            )
            outs = run_load(spec, __file__, slack=15)
        after, answers_after = stored_texts(url, journey_ids)
        log("timing requests one at a time in-process, as a measure of this machine's speed ...")
        reference = in_process(site, REFERENCE_RUNS)
    accepted = [(a["journey"], a["text"]) for a in outs["feedback"]["accepted"]]
    stored = sum(1 for item in accepted if item in after and item not in before)
    kinds = [figures(LABELS[k], CLIENTS[k], seconds, outs[k]) for k in KINDS]
    merged = {
        "samples": [s for k in KINDS for s in outs[k]["samples"]],
        "bad": [b for k in KINDS for b in outs[k]["bad"]],
        "failures": [f for k in KINDS for f in outs[k]["failures"]],
    }
    overall = figures("overall", sum(CLIENTS.values()), seconds, merged)
    return Report(
        kinds,
        overall,
        len(accepted),
        stored,
        answers_after - answers_before,
        workers,
        threads,
        redis_url,
        seconds,
        {
            "staff": len(aims.staff_paths),
            "reviewer": len(aims.review_paths),
            "feedback": len(aims.journeys),
        },
        _machine(),
        reference,
        dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        time.perf_counter() - began,
    )


def _machine() -> dict[str, str]:
    machine = machine_info(libraries() + f", redis-py {importlib.metadata.version('redis')}")
    machine["load"] = f"{os.getloadavg()[0]:.2f} at the end (1-minute load average)"
    return machine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:g} s of load")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    parser.add_argument("--workers", type=int, choices=range(1, 9), default=WORKERS)
    parser.add_argument(
        "--threads", type=int, choices=range(1, 9), default=THREADS, help="threads per worker"
    )
    parser.add_argument(
        "--redis-db", type=int, default=REDIS_DB, help="Redis database number on 127.0.0.1:6379"
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        return load_main()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(TOTAL_BUDGET)
    try:
        report = measure(
            args.workers,
            QUICK_SECONDS if args.quick else SECONDS,
            f"redis://127.0.0.1:6379/{args.redis_db}",
            log,
            args.threads,
        )
    finally:
        signal.alarm(0)
    print(report.text())
    if not args.no_write:
        write_section("load", report.markdown(), after="web")
        print(f"wrote the load section of {DOC.relative_to(ROOT)}")
    return 1 if report.broken() else 0


if __name__ == "__main__":
    sys.exit(main())
