"""Web benchmark: the process page and the public feedback POST under load, against a ceiling.

The app runs the way it is deployed: gunicorn with 2 workers (sync, the default worker class)
serving ``web:create_app()`` on 127.0.0.1, on a fresh SQLite database seeded with the demo
organisation (``workflow.services.demo.seed_demo``; every map is rendered once at import, so no
layout runs in a page request) and, when a PostgreSQL server answers, on a database of its own
created and dropped here. Nothing leaves the machine; every phase stops by itself, and all
phases together generate load for under 30 s.

The load comes from a separate process: 16 connections, each sending its next request as soon
as the previous answer is read (HTTP/1.1 keep-alive; a sync worker closes the connection after
each answer, so the client reconnects). The GET routes are loaded with wrk when it is installed
(``apt-get install wrk``; ``--client python`` to do without), since a Python client takes CPU
the server could use on a small machine; the feedback always comes from the Python client,
which fetches each connection's CSRF token first. Three routes, one after the other:

- ceiling: ``GET /healthz``, which reads one row through the same stack (Flask, the request's
  SQLAlchemy session, security headers), so it is as fast as any page can be here;
- process page: ``GET /processes/<id>`` as the demo staff member (session cookie from a real
  login), the page every role sees, with the map SVG saved with the version;
- feedback: ``POST /j/<token>`` as customers, each connection first fetching the form for its
  CSRF token and cookie, then posting a step, a kind of trouble, a CES answer and a text. The
  feedback rate limit (5 a minute per client in production) is raised for the run through
  ``LEANLANE_FEEDBACK_RATE_LIMIT``, since every request comes from 127.0.0.1.

Afterwards every accepted feedback (a redirect to the thank-you page) must be in the database:
one customer flag and one CES answer each. Requests per second, p50 and p99 latency (as the
client sees it, queueing included) and errors are printed and compared with the goals.

    python bench/web.py              # 4 s per route and database; updates docs/BENCHMARKS.md
    python bench/web.py --quick      # 1 s per route and database
    python bench/web.py --no-write   # print only
    python bench/web.py --profile    # plus cProfile of the process page in-process
    python bench/web.py --client python  # the Python client for every route, even with wrk
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import http.client
import importlib.metadata
import io
import json
import math
import os
import pstats
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

# This file is bench/web.py: run as a script, its folder comes first on sys.path and "web"
# would name this file instead of the app package. The repository root goes first instead.
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench.reporting import (  # noqa: E402
    DOC,
    machine_info,
    marks,
    md_table,
    plain_table,
    write_section,
)

CONNECTIONS = 16
WORKERS = 2
SECONDS = 4.0
QUICK_SECONDS = 1.0
WARM_UP = 0.5
QUICK_WARM_UP = 0.3
#: wrk takes whole seconds; its warm-up run is a run of its own.
WRK_WARM_UP = 1
#: Time each feedback connection has to fetch its form before the load starts.
FORM_FETCH = 0.3
#: The load itself (warm-ups included) may last this long in one run, over all phases.
LOAD_BUDGET = 30.0
FEEDBACK_LIMIT = "1000000 per minute"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START_MARK, END_MARK = marks("web")
HEAD = (
    "database",
    "route",
    "requests",
    "req/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "errors",
    "x ceiling",
)
ROUTES = ("ceiling", "process page", "feedback POST")


# --- the load generator (runs in its own process: python bench/web.py --load) -----------------
@dataclass
class Sample:
    started: float
    seconds: float
    status: int
    location: str


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(part[:-2] for part in parts)
    else:
        body = await reader.read()
        headers["connection"] = "close"
    return status, headers, body


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _cookie_header(set_cookie: str, cookies: dict[str, str]) -> None:
    parsed = SimpleCookie()
    parsed.load(set_cookie)
    cookies.update({name: morsel.value for name, morsel in parsed.items()})


class Connection:
    """One keep-alive connection that reconnects when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(request)
        await self.writer.drain()
        try:
            status, headers, body = await _read_response(self.reader)
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _feedback_form(connection: Connection, spec: dict) -> tuple[str, str]:
    """GET the journey's form: its CSRF token and the session cookie that goes with it."""
    host = f"127.0.0.1:{spec['port']}"
    status, headers, body = await connection.send(_request("GET", spec["path"], host, {}, b""))
    if status != 200:
        raise RuntimeError(f"GET {spec['path']} answered {status}")
    found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', body
    )
    if not found or "set-cookie" not in headers:
        raise RuntimeError("the feedback form has no CSRF token or session cookie")
    cookies: dict[str, str] = {}
    _cookie_header(headers["set-cookie"], cookies)
    return found.group(1).decode(), "; ".join(f"{k}={v}" for k, v in cookies.items())


async def _connection_loop(
    number: int, spec: dict, start: float, measure_from: float, end: float, out: dict
) -> None:
    connection = Connection(spec["port"])
    host = f"127.0.0.1:{spec['port']}"
    headers = {"Cookie": spec["cookie"]} if spec.get("cookie") else {}
    fields = spec.get("form")
    if fields is not None:
        token, cookie = await _feedback_form(connection, spec)
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    sent = 0
    while True:
        began = time.perf_counter()
        if began >= end:
            break
        if fields is None:
            request = _request(spec["method"], spec["path"], host, headers, b"")
        else:
            sent += 1
            body = urlencode(
                fields | {"csrf_token": token, "text": f"{fields['text']} ({number}-{sent})"}
            ).encode()
            request = _request("POST", spec["path"], host, headers, body)
        try:
            status, answer, _ = await connection.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            out["failures"].append(f"{type(exc).__name__}: {exc}")
            status, answer = 0, {}
        finished = time.perf_counter()
        location = answer.get("location", "")
        if fields is not None and status in (302, 303) and spec["accept"] in location:
            out["accepted"] += 1
        if measure_from <= finished <= end:
            out["samples"].append(Sample(began, finished - began, status, location))
    connection.close()


async def _load(spec: dict) -> dict:
    out = {"samples": [], "failures": [], "accepted": 0}
    start = time.perf_counter() + 0.05 + (FORM_FETCH if spec.get("form") else 0.0)
    measure_from = start + spec["warm_up"]
    end = measure_from + spec["seconds"]
    await asyncio.gather(
        *(
            _connection_loop(n, spec, start, measure_from, end, out)
            for n in range(spec["connections"])
        )
    )
    expected = spec["expect"]
    good = [
        s
        for s in out["samples"]
        if s.status == expected and (not spec.get("accept") or spec["accept"] in s.location)
    ]
    statuses: dict[str, int] = {}
    for sample in out["samples"]:
        statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
    return {
        "requests": len(out["samples"]),
        "good": len(good),
        "seconds": spec["seconds"],
        **_percentiles(sorted(s.seconds * 1000 for s in out["samples"])),
        "statuses": statuses,
        "failures": out["failures"][:5],
        "failure_count": len(out["failures"]),
        "accepted": out["accepted"],
    }


def _percentiles(latencies_ms: list[float]) -> dict[str, float]:
    def at(fraction: float) -> float:
        if not latencies_ms:
            return math.nan
        return latencies_ms[min(len(latencies_ms) - 1, math.ceil(fraction * len(latencies_ms)) - 1)]

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


def load_main() -> int:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_load(spec))))
    return 0


# --- the server, its database and the measurements ---------------------------------------------
@dataclass
class Result:
    database: str
    route: str
    requests: int
    good: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    failures: list[str]
    failure_count: int
    accepted: int = 0
    stored: int | None = None
    detail: str = ""
    #: Diagrams laid out while the route was loaded (new entries in the render cache).
    layouts: int = 0

    @property
    def errors(self) -> int:
        return self.requests - self.good + self.failure_count

    @property
    def rate(self) -> float:
        return self.good / self.seconds if self.seconds else 0.0


def run_load(spec: dict, script: str = __file__, slack: float = 60) -> dict:
    """Run ``script --load`` (this file's client, or another benchmark's) in its own process
    with ``spec`` on standard input, and return what it printed as JSON."""
    done = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=spec["warm_up"] + spec["seconds"] + slack,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    return json.loads(done.stdout)


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    found = re.search(r"wrk (\S+)", done.stdout + done.stderr)
    return f"wrk {found.group(1)}" if found else "wrk"


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk_load(wrk: str, spec: dict) -> dict:
    """The same measurement with wrk (2 threads): a warm-up run, then the measured one."""
    url = f"http://127.0.0.1:{spec['port']}{spec['path']}"
    command = [wrk, "-t2", f"-c{spec['connections']}"]
    if spec.get("cookie"):
        command += ["-H", f"Cookie: {spec['cookie']}"]
    timeout = WRK_WARM_UP + spec["seconds"] + 60
    subprocess.run(
        [*command, f"-d{WRK_WARM_UP}s", url], capture_output=True, timeout=timeout, check=True
    )
    out = subprocess.run(
        [*command, f"-d{int(spec['seconds'])}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout
    count, took = re.search(r"(\d+) requests in ([\d.]+\w+),", out).groups()
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    distribution = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    latency_max = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)
    failures = sum(int(n) for n in sockets.groups()) if sockets else 0
    requests = int(count)
    return {
        "requests": requests,
        "good": requests - (int(bad.group(1)) if bad else 0),
        "seconds": _milliseconds(took) / 1000,
        "p50_ms": _milliseconds(distribution["50"]),
        "p99_ms": _milliseconds(distribution["99"]),
        "max_ms": _milliseconds(latency_max),
        "statuses": {"non-2xx/3xx": int(bad.group(1))} if bad else {},
        "failures": [sockets.group(0)] if failures else [],
        "failure_count": failures,
        "accepted": 0,
    }


def load_seconds(seconds: float, warm_up: float, wrk: str | None) -> float:
    """How long the load of one database lasts, warm-ups and form fetching included."""
    get = (WRK_WARM_UP + seconds) if wrk else (0.05 + warm_up + seconds)
    return 2 * get + 0.05 + FORM_FETCH + warm_up + seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Site:
    """What the load needs to know about a seeded database."""

    url: str
    staff_email: str
    staff_password: str
    process_id: int
    process_name: str
    journey_id: int
    journey_name: str
    token: str
    step_id: str
    render_dir: str


def seed(url: str, workdir: Path) -> Site:
    """Migrate ``url`` and load the demo organisation, as ``leanlane run`` does on a first run.

    Diagrams are cached in ``workdir/renders`` by their content, so a second database seeded
    with the same ``workdir`` reuses the first one's layouts.
    """
    from sqlalchemy import func, select

    from web import create_app, database, rendering
    from workflow.adapters import tables as t
    from workflow.adapters.database import transaction, upgrade
    from workflow.services import feedback
    from workflow.services.demo import seed_demo

    render_dir = str(workdir / "renders")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RENDER_CACHE_DIR": render_dir})
    upgrade(database.engine(app))
    with transaction(database.session_factory(app)) as session:
        users = seed_demo(
            session,
            app.config["MODELS_DIR"],
            renderer=rendering.renderer(app),
            step_url=rendering.step_url,
        )
        staff = next(user for user in users if user.role == "staff")
        staff_row = session.scalar(select(t.User).where(t.User.email == staff.email))
        member_of = select(t.ProcessMember.process_id).where(
            t.ProcessMember.user_id == staff_row.id
        )
        # The staff member's process with the largest saved map: the heaviest page they open.
        largest = session.execute(
            select(t.Process.id, t.Process.name)
            .join(
                t.ProcessVersion,
                (t.ProcessVersion.process_id == t.Process.id)
                & (t.ProcessVersion.number == t.Process.current_version),
            )
            .where(t.Process.id.in_(member_of))
            .order_by(func.length(t.ProcessVersion.map_svg).desc())
            .limit(1)
        ).one()
        journey = session.scalars(
            select(t.Process)
            .where(t.Process.public_token.is_not(None))
            .order_by(t.Process.id)
            .limit(1)
        ).one()
        public = feedback.describe_journey(session, journey)
        site = Site(
            url,
            staff.email,
            staff.password,
            largest.id,
            largest.name,
            journey.id,
            journey.name,
            journey.public_token,
            public.steps[0].id,
            render_dir,
        )
    database.engine(app).dispose()
    return site


def stored_feedback(url: str, journey_id: int) -> tuple[int, int]:
    """Customer flags and CES answers stored on the journey."""
    from sqlalchemy import func, select

    from workflow.adapters import tables as t
    from workflow.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            flags = connection.scalar(
                select(func.count())
                .select_from(t.Flag)
                .where(t.Flag.process_id == journey_id, t.Flag.source == "customer")
            )
            answers = connection.scalar(
                select(func.count())
                .select_from(t.CesAnswer)
                .where(t.CesAnswer.process_id == journey_id)
            )
    finally:
        engine.dispose()
    return flags, answers


@contextlib.contextmanager
def gunicorn(
    site: Site,
    workers: int = WORKERS,
    extra_env: dict[str, str] | None = None,
    threads: int = 1,
) -> Iterator[int]:
    """gunicorn on a free port of 127.0.0.1: sync workers, or threaded ones (gthread) when
    ``threads`` is above 1."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": site.url,
        "LEANLANE_SECRET_KEY": secrets.token_hex(16),
        "LEANLANE_FEEDBACK_RATE_LIMIT": FEEDBACK_LIMIT,
        "LEANLANE_RENDER_CACHE_DIR": site.render_dir,
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "web:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(port, server)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


def log_in(port: int, email: str, password: str) -> str:
    """Log in through the form, as a browser does; the session cookie to send afterwards."""
    cookies: dict[str, str] = {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/login")
    answer = connection.getresponse()
    page = answer.read().decode()
    for value in answer.headers.get_all("Set-Cookie") or []:
        _cookie_header(value, cookies)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST",
        "/login",
        body=urlencode({"email": email, "password": password, "csrf_token": token.group(1)}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    answer = connection.getresponse()
    answer.read()
    if answer.status != 302:
        raise RuntimeError(f"logging in as {email} answered {answer.status}")
    for value in answer.headers.get_all("Set-Cookie") or []:
        _cookie_header(value, cookies)
    connection.close()
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def layouts(render_dir: str) -> int:
    """Diagrams laid out so far: each layout leaves one entry in the renderer's disk cache."""
    folder = Path(render_dir)
    return sum(1 for item in folder.rglob("*") if item.is_file()) if folder.exists() else 0


def check_page(port: int, path: str, cookie: str, expected: str) -> None:
    """The page answers 200 with ``expected`` in it, so the load measures the real page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Cookie": cookie})
    answer = connection.getresponse()
    body = answer.read().decode("utf-8", "replace")
    connection.close()
    if answer.status != 200 or expected not in body:
        raise RuntimeError(f"GET {path} answered {answer.status} without {expected!r}")


def bench_database(
    label: str, url: str, workdir: Path, seconds: float, warm_up: float, wrk: str | None, log
):
    log(f"{label}: migrating and loading the demo organisation ...")
    site = seed(url, workdir)
    steady = in_process(site, 40 if seconds < SECONDS else 100)
    results = []
    with gunicorn(site) as port:
        cookie = log_in(port, site.staff_email, site.staff_password)
        check_page(port, f"/processes/{site.process_id}", cookie, "<svg")
        common = {"port": port, "connections": CONNECTIONS, "seconds": seconds, "warm_up": warm_up}
        specs = {
            "ceiling": {"method": "GET", "path": "/healthz", "expect": 200},
            "process page": {
                "method": "GET",
                "path": f"/processes/{site.process_id}",
                "cookie": cookie,
                "expect": 200,
            },
            "feedback POST": {
                "method": "POST",
                "path": f"/j/{site.token}",
                "expect": 302,
                "accept": f"/j/{site.token}/thanks",
                "form": {
                    "step": site.step_id,
                    "category": "waiting",
                    "score": "3",
                    "text": "I waited two weeks for an answer",
                    "email": "",
                    "website": "",
                },
            },
        }
        before = stored_feedback(url, site.journey_id)
        for route, spec in specs.items():
            log(f"{label}: {route} ({CONNECTIONS} connections, {seconds:g} s) ...")
            layouts_before = layouts(site.render_dir)
            if wrk and "form" not in spec:
                measured = wrk_load(wrk, common | spec)
            else:
                measured = run_load(common | spec)
            if route == "process page":
                check_page(port, spec["path"], cookie, "<svg")
            result = Result(label, route, **measured)
            result.layouts = layouts(site.render_dir) - layouts_before
            if route == "feedback POST":
                after = stored_feedback(url, site.journey_id)
                flags, answers = (after[0] - before[0], after[1] - before[1])
                result.stored = min(flags, answers)
                result.detail = (
                    f"{result.accepted} accepted, {flags} customer flags and {answers} CES "
                    "answers stored"
                )
            elif route == "process page":
                result.detail = (
                    f"{site.process_name} (process {site.process_id}); in-process through the "
                    f"test client, one request at a time: {steady['process page']:.2f} ms, the "
                    f"ceiling {steady['ceiling']:.2f} ms "
                    f"({steady['ceiling'] / steady['process page']:.2f}x)"
                )
            results.append(result)
    return results


def postgres_admin_url() -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgresql", "postgres:")):
        from sqlalchemy.engine import make_url

        url = make_url(configured)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.set(database="postgres").render_as_string(hide_password=False)
    return DEFAULT_POSTGRES


@contextlib.contextmanager
def postgres_database(log, name: str | None = None) -> Iterator[str | None]:
    """A new PostgreSQL database for the run (``name``, else a random one), dropped afterwards;
    None when no server answers. A database left by an interrupted run of the same name is
    dropped first."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin_url = postgres_admin_url()
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = name or f"leanlane_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        log(f"PostgreSQL: skipped, no server answers at {admin_url} ({exc.orig})")
        yield None
        return
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def in_process(site: Site, runs: int) -> dict[str, float]:
    """Milliseconds a request of the ceiling and of the process page take through the Flask test
    client in this process: no network, no other requests, so steadier than the load on a busy
    machine (median of 5 rounds of ``runs`` requests)."""
    from web import create_app, database

    app = create_app(
        {
            "DATABASE_URL": site.url,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RENDER_CACHE_DIR": site.render_dir,
        }
    )
    client = app.test_client()
    client.post("/login", data={"email": site.staff_email, "password": site.staff_password})
    times = {}
    for route, path in (("ceiling", "/healthz"), ("process page", f"/processes/{site.process_id}")):
        if client.get(path).status_code != 200:
            raise RuntimeError(f"GET {path} through the test client did not answer 200")
        rounds = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(runs):
                client.get(path)
            rounds.append((time.perf_counter() - began) / runs * 1000)
        times[route] = sorted(rounds)[2]
    database.engine(app).dispose()
    return times


def profile_process_page(top: int = 20) -> str:
    """cProfile of 300 process-page requests through the Flask test client (no server)."""
    from web import create_app

    with tempfile.TemporaryDirectory() as workdir:
        site = seed(f"sqlite:///{workdir}/profile.sqlite3", Path(workdir))
        app = create_app(
            {
                "DATABASE_URL": site.url,
                "SECRET_KEY": "bench",
                "WTF_CSRF_ENABLED": False,
                "RENDER_CACHE_DIR": site.render_dir,
            }
        )
        client = app.test_client()
        client.post("/login", data={"email": site.staff_email, "password": site.staff_password})
        path = f"/processes/{site.process_id}"
        for _ in range(20):
            assert client.get(path).status_code == 200
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for _ in range(300):
            client.get(path)
        profiler.disable()
        seconds = time.perf_counter() - began
        out = io.StringIO()
        out.write(f"{path}: {seconds / 300 * 1000:.2f} ms a request in-process (profiled)\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        from web import database

        database.engine(app).dispose()
        return out.getvalue()


# --- the report --------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass
class Report:
    results: list[Result]
    seconds: float
    warm_up: float
    wrk: str
    machine: dict[str, str]
    when: str
    elapsed: float
    skipped: list[str] = field(default_factory=list)

    def find(self, database: str, route: str) -> Result | None:
        return next((r for r in self.results if r.database == database and r.route == route), None)

    def rows(self) -> list[list[str]]:
        rows = []
        for result in self.results:
            ceiling = self.find(result.database, "ceiling")
            ratio = (
                f"{result.rate / ceiling.rate:.2f}"
                if ceiling and ceiling.rate and result.route != "ceiling"
                else "-"
            )
            rows.append(
                [
                    result.database,
                    result.route,
                    f"{result.requests:,}",
                    f"{result.rate:,.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    f"{result.max_ms:.1f}",
                    f"{result.errors:,}",
                    ratio,
                ]
            )
        return rows

    def notes(self) -> list[str]:
        notes = []
        for result in self.results:
            if result.detail:
                notes.append(f"{result.database}, {result.route}: {result.detail}")
            if result.errors:
                shown = ", ".join(f"HTTP {k}: {v}" for k, v in sorted(result.statuses.items()))
                notes.append(
                    f"{result.database}, {result.route}: {result.errors} errors ({shown}; "
                    f"{result.failure_count} connection failures {result.failures})"
                )
        return notes

    def goals(self) -> list[tuple[str, str, str]]:
        rows = []
        for database in dict.fromkeys(r.database for r in self.results):
            ceiling = self.find(database, "ceiling")
            page = self.find(database, "process page")
            post = self.find(database, "feedback POST")
            if ceiling and page and database == "SQLite":
                ratio = page.rate / ceiling.rate if ceiling.rate else 0.0
                rows.append(
                    (
                        "SQLite: process page at least 0.4x the ceiling",
                        f"{ratio:.2f}x ({page.rate:,.0f} / {ceiling.rate:,.0f} req/s)",
                        verdict(ratio >= 0.4),
                    )
                )
                rows.append(
                    (
                        "SQLite: process page at least 300 req/s",
                        f"{page.rate:,.0f} req/s",
                        verdict(page.rate >= 300),
                    )
                )
            if page:
                rows.append(
                    (
                        f"{database}: no layout inside a process page request",
                        f"{page.layouts} layouts",
                        verdict(page.layouts == 0),
                    )
                )
                p99 = page.p99_ms
                rows.append(
                    (
                        f"{database}: process page p99 under 100 ms",
                        f"{p99:.1f} ms",
                        verdict(p99 < 100),
                    )
                )
            if post:
                p99 = post.p99_ms
                rows.append(
                    (
                        f"{database}: feedback POST p99 under 100 ms",
                        f"{p99:.1f} ms",
                        verdict(p99 < 100),
                    )
                )
            errors = sum(r.errors for r in self.results if r.database == database)
            rows.append((f"{database}: no errors", f"{errors:,} errors", verdict(errors == 0)))
            if post:
                lost = post.accepted - (post.stored or 0)
                rows.append(
                    (
                        f"{database}: every accepted feedback stored",
                        f"{post.stored:,} of {post.accepted:,} stored",
                        verdict(lost == 0 and post.accepted > 0),
                    )
                )
        return rows

    def broken(self) -> bool:
        """Errors or lost feedback make the run fail; a slow one only says MISS."""
        return any(
            verdict_ == "MISS" and ("errors" in goal or "stored" in goal)
            for goal, _, verdict_ in self.goals()
        )

    def method(self) -> str:
        python = f"a Python asyncio client in its own process ({self.warm_up:g} s warm-up)"
        clients = (
            f"{self.wrk} -t2 for the GET routes ({WRK_WARM_UP} s warm-up run) and {python} "
            "for the feedback"
            if self.wrk
            else python
        )
        return (
            f"gunicorn {importlib.metadata.version('gunicorn')}, {WORKERS} sync workers, on "
            f"127.0.0.1; {CONNECTIONS} connections from {clients}; {self.seconds:g} s measured "
            f"per route and database; feedback rate limit raised to {FEEDBACK_LIMIT!r} for "
            "the run"
        )

    def text(self) -> str:
        out = io.StringIO()
        out.write(f"Web benchmark, {self.when} ({self.elapsed:.0f} s)\n")
        for key, value in self.machine.items():
            out.write(f"  {key:<9} {value}\n")
        out.write(f"  method    {self.method()}\n\n")
        out.write(plain_table(HEAD, self.rows()))
        for note in self.notes() + self.skipped:
            out.write(f"  {note}\n")
        out.write("\nGoals\n")
        out.write(plain_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]))
        return out.getvalue()

    def markdown(self) -> str:
        lines = [
            START_MARK,
            "## Web app: process page and customer feedback under load",
            "",
            f"Measured {self.when} with `python bench/web.py` ({self.elapsed:.0f} s). "
            f"{self.method()}. The ceiling is `GET /healthz`, which reads one row through the "
            "same stack; the process page is `GET /processes/<id>` as the demo staff member "
            "(logged in through the form), with the map saved with the version; the feedback "
            "is `POST /j/<token>` with the form's CSRF token (a step, a kind of trouble, a CES "
            "answer and a text). Latency is what the client sees, waiting for a free worker "
            "included; 'x ceiling' is req/s over the ceiling's in the same run. A sync worker "
            "closes the connection after each answer, so every request opens one. The clients "
            "share the machine's CPUs with the server, and so does any other work on it (the "
            "load line): compare figures within one run. The in-process times in the notes "
            "(Flask test client, one request at a time) are steadier on a busy machine.",
            "",
            *(f"- {key}: {value}" for key, value in self.machine.items()),
            "",
            md_table(HEAD, self.rows()),
            "",
            *(f"- {note}" for note in self.notes() + self.skipped),
            "",
            md_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]),
            END_MARK,
        ]
        return "\n".join(lines) + "\n"


def libraries() -> str:
    names = ("flask", "sqlalchemy", "gunicorn", "psycopg")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    import sqlite3

    found.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s per route and database")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the process page in-process"
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load the GET routes with wrk or the Python client (auto: wrk when installed)",
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        return load_main()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    seconds = QUICK_SECONDS if args.quick else SECONDS
    warm_up = QUICK_WARM_UP if args.quick else WARM_UP
    wrk = shutil.which("wrk") if args.client != "python" else None
    if args.client == "wrk" and wrk is None:
        parser.error("wrk is not installed (apt-get install wrk), or use --client python")
    assert 2 * load_seconds(seconds, warm_up, wrk) <= LOAD_BUDGET
    load_at_start = os.getloadavg()[0]
    began = time.perf_counter()
    results: list[Result] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="leanlane-bench-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
        results += bench_database("SQLite", url, Path(workdir), seconds, warm_up, wrk, log)
        if args.sqlite_only:
            skipped.append("PostgreSQL: not measured (--sqlite-only)")
        else:
            with postgres_database(log) as postgres_url:
                if postgres_url is None:
                    skipped.append(f"PostgreSQL: no server answers at {postgres_admin_url()}")
                else:
                    results += bench_database(
                        "PostgreSQL", postgres_url, Path(workdir), seconds, warm_up, wrk, log
                    )
    machine = machine_info(libraries())
    machine["load"] = (
        f"{load_at_start:.2f} at the start (1-minute load average: other work shares the CPUs)"
    )
    report = Report(
        results,
        seconds,
        warm_up,
        wrk_version(wrk) if wrk else "",
        machine,
        dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        time.perf_counter() - began,
        skipped,
    )
    print(report.text())
    if args.profile:
        print(profile_process_page())
    if not args.no_write:
        write_section("web", report.markdown(), after="render")
        print(f"wrote the web section of {DOC.relative_to(ROOT)}")
    return 1 if report.broken() else 0


if __name__ == "__main__":
    sys.exit(main())
