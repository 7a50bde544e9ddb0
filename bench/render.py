"""Render benchmark: process maps drawn as SVG by our swimlane grid, against plain ``dot``.

Processes come from ``workflow.generate.random_process`` (fixed seeds), well structured, or
"tangled" the way a process discovered from an event log is: the same generator's output with
about size/2 extra flows between random task-like steps (forward and backward, across lanes;
kept inside their parallel branch so the process stays valid), every way out of a step that now
has k of them carrying probability 1/k. The diagram (``process_map``) is built outside the
timer; the timed run is ``Renderer(cache=MemoryCache(0)).render(diagram, "svg")`` (the default
"grid" layout: our positions and routes, drawn by Graphviz's ``nop2`` in a worker process), so
every render is really laid out. An output counts as failed when the renderer raises or the
SVG does not parse as XML; every SVG must also show a cluster for each lane that has steps.

Because the machine is noisy, the same run also times a baseline on the same diagrams: plain
``dot`` on the DOT with lane clusters (``workflow.render.layered.layered_graph(diagram).source``)
run by the renderer's own worker, ``python -m workflow.layout_worker dot svg``, killed at a cap;
a time-out or a non-zero exit counts as a failure. ``Renderer(layout="layered")`` (``dot`` within
a size-based budget, the grid when it fails) is timed on the goal sizes too, for information,
and so is ``dot`` on the same DOT with the lane clusters dropped (plain subgraphs instead).

    python bench/render.py             # 200, 1,000, 2,000 steps + 60 graphs; updates the doc
    python bench/render.py --quick     # 200 and 1,000 steps + 20 graphs of up to 1,000 steps
    python bench/render.py --no-write  # print only
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import io
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import graphviz
import networkx as nx
import pygraphviz
from reporting import (
    DOC,
    ROOT,
    fmt_s,
    machine_info,
    marks,
    md_table,
    plain_table,
    write_section,
)

from workflow.generate import random_process
from workflow.model import Flow, Process
from workflow.render import Diagram, MemoryCache, Rendered, Renderer, process_map
from workflow.render.engine import layered_budget
from workflow.render.layered import layered_graph
from workflow.structure import find_parallel_blocks
from workflow.validate import check_process

#: Goal sizes and the seconds our default renderer may take on each.
GOALS = {200: 0.5, 1_000: 2.0, 2_000: 5.0}
QUICK_GOAL_SIZES = (200, 1_000)
KINDS = ("structured", "tangled")
SEED = 20_260_101
SET_SEED = SEED + 1_000_000
#: The generated set: (smallest, largest, how many) log-spaced sizes, each structured and tangled.
SET_SIZES = (10, 2_000, 30)
QUICK_SET_SIZES = (10, 1_000, 10)
REPEATS = 3
#: A graph whose first run takes longer than this (seconds) is run once, not REPEATS times.
SLOW_RUN_SECONDS = 5.0
#: Plain dot is killed after this many seconds (goal sizes, generated set, --quick for both).
DOT_CAP_GOALS = 30.0
DOT_CAP_SET = 20.0
DOT_CAP_QUICK = 10.0
TIME_LIMIT = 20.0
WORKER = [sys.executable, "-m", "workflow.layout_worker"]
SVG_NS = "{http://www.w3.org/2000/svg}"
#: Graphviz's chatter in a layout failure's message, left out of the notes we print.
NOISE = re.compile(
    r'Fontconfig warning: "[^"]*", line \d+: [^"]*"[^"]*"\s*'
    r"|Warning: graph has \d+ nodes\.\.\.layout may take a long time\.\s*"
    r"|python: "
)
CLUSTER = re.compile(r"\bsubgraph cluster_\w+ \{")

START_MARK, END_MARK = marks("render")


# --- the graphs ----------------------------------------------------------------------------------
def contexts(process: Process) -> dict[str, tuple[str, int] | None]:
    """Each step's innermost parallel branch, as (split, branch index); None outside blocks."""
    blocks, problems = find_parallel_blocks(process)
    if problems:
        raise ValueError(f"generated process has malformed parallel blocks: {problems[0]}")
    best: dict[str, tuple[int, tuple[str, int]]] = {}
    for block in blocks:
        for i, branch in enumerate(block.branches):
            for node in branch:
                if node not in best or len(branch) < best[node][0]:
                    best[node] = (len(branch), (block.split, i))
    return {node: best[node][1] if node in best else None for node in process.graph}


def tangle(process: Process, rng: random.Random, extra: int) -> tuple[Process, int]:
    """``process`` with up to ``extra`` more flows between random task-like steps.

    Both ends of a new flow lie in the same innermost parallel branch (or both outside every
    parallel block), so the blocks stay well nested; a step that now has k ways out sends 1/k of
    its cases down each (rework marks and labels are kept), so the result stays valid.
    """
    context = contexts(process)
    tasks = [step.id for step in process.steps() if step.is_task_like]
    groups: dict[tuple[str, int] | None, list[str]] = {}
    for task in tasks:
        groups.setdefault(context[task], []).append(task)
    graph = process.graph.copy()
    sources: set[str] = set()
    added = tries = 0
    while added < extra and tries < 20 * extra:
        tries += 1
        tail = rng.choice(tasks)
        head = rng.choice(groups[context[tail]])
        if tail == head or graph.has_edge(tail, head):
            continue
        graph.add_edge(tail, head, flow=Flow())
        sources.add(tail)
        added += 1
    for node in sources:
        ways = list(graph.succ[node])
        for head in ways:
            old = graph.edges[node, head]["flow"]
            graph.edges[node, head]["flow"] = Flow(
                1 / len(ways), rework=old.rework, label=old.label
            )
    name = process.name.replace("Generated process", "Tangled process")
    return dataclasses.replace(process, graph=graph, name=name), added


@dataclass(frozen=True)
class Spec:
    kind: str  # "structured" or "tangled"
    size: int
    seed: int

    def build(self) -> Process:
        """Reproducible from (kind, size, seed) alone: one random stream for both stages."""
        rng = random.Random(self.seed)
        process = random_process(rng, self.size)
        if self.kind == "tangled":
            process, _ = tangle(process, rng, self.size // 2)
        return process

    def text(self) -> str:
        return f"{self.kind} size={self.size} seed={self.seed}"


def set_specs(low: int, high: int, count: int) -> list[Spec]:
    sizes = sorted({round(low * (high / low) ** (i / (count - 1))) for i in range(count)})
    return [Spec(kind, size, SET_SEED + size) for size in sizes for kind in KINDS]


def lanes_used(process: Process) -> set[str]:
    return {s.lane for s in process.steps() if s.lane and process.lane(s.lane) is not None}


# --- the runs ------------------------------------------------------------------------------------
@dataclass
class Ours:
    seconds: list[float] = field(default_factory=list)
    layout: str = ""
    notes: tuple[str, ...] = ()
    svg_bytes: int = 0
    clusters: int = 0
    missing_lanes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def check_svg(data: bytes, process: Process, result: Ours) -> None:
    """Parse as XML, and find a cluster (``<g id="clust..">``) for every lane with steps."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        result.error = f"SVG is not XML: {exc}"
        return
    titles = {
        g.findtext(f"{SVG_NS}title", "")
        for g in root.iter(f"{SVG_NS}g")
        if g.get("id", "").startswith("clust")
    }
    result.clusters = len(titles)
    # process_section names a lane's cluster cluster_<section key "p">_<lane id>
    result.missing_lanes = sorted(
        lane for lane in lanes_used(process) if f"cluster_p_{lane}" not in titles
    )


def run_ours(renderer: Renderer, diagram: Diagram, process: Process, repeats: int) -> Ours:
    result = Ours()
    rendered: Rendered | None = None
    while len(result.seconds) < repeats:
        gc.collect()
        start = time.perf_counter()
        try:
            rendered = renderer.render(diagram, "svg")
        except Exception as exc:  # a failure to report, whatever it is
            result.error = f"{type(exc).__name__}: {exc}"
            result.seconds.append(time.perf_counter() - start)
            return result
        result.seconds.append(time.perf_counter() - start)
        if len(result.seconds) == 1 and result.seconds[0] > SLOW_RUN_SECONDS:
            break
    assert rendered is not None
    result.layout = rendered.layout
    result.notes = rendered.notes
    result.svg_bytes = len(rendered.data)
    check_svg(rendered.data, process, result)
    return result


@dataclass
class DotRun:
    seconds: list[float] = field(default_factory=list)
    status: str = "ok"  # "ok", "timeout", "abort (SIGABRT)", "exit 1", "bad XML"
    detail: str = ""
    graphviz_errors: int = 0  # "Error: ..." lines on stderr of a run that still drew
    cap: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _stderr_lines(raw: bytes) -> list[str]:
    lines = raw.decode("utf-8", "replace").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("Fontconfig")]


def run_dot_once(dot: str, cap: float) -> tuple[float, str, str, int]:
    """(seconds, status, detail, Graphviz error lines) of one plain dot run, killed at ``cap``."""
    env = dict(os.environ, SERVER_NAME="leanlane")  # as the renderer runs its worker
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [*WORKER, "dot", "svg"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=cap,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, "timeout", f"killed after {cap:.0f} s", 0
    seconds = time.perf_counter() - start
    messages = _stderr_lines(done.stderr)
    detail = messages[-1].removeprefix("python: ")[:160] if messages else ""
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return seconds, f"abort ({name})" if name == "SIGABRT" else name, detail, 0
    if done.returncode != 0 or not done.stdout:
        return seconds, f"exit {done.returncode}", detail, 0
    try:
        ET.fromstring(done.stdout)
    except ET.ParseError as exc:
        return seconds, "bad XML", str(exc), 0
    errors = [line for line in messages if line.startswith("Error")]
    return seconds, "ok", errors[0] if errors else "", len(errors)


def without_clusters(dot: str) -> str:
    """The same DOT with every cluster a plain subgraph: no lane boxes, nothing else changed."""
    return CLUSTER.sub("{", dot)


def run_dot(diagram: Diagram, cap: float, repeats: int, clusters: bool = True) -> DotRun:
    """Plain dot, DOT text built inside the timer (as the renderer builds its own)."""
    result = DotRun(cap=cap)
    while len(result.seconds) < repeats:
        gc.collect()
        start = time.perf_counter()
        dot = layered_graph(diagram).source
        if not clusters:
            dot = without_clusters(dot)
        build_s = time.perf_counter() - start
        seconds, status, detail, errors = run_dot_once(dot, cap)
        result.seconds.append(build_s + seconds)
        result.status, result.detail, result.graphviz_errors = status, detail, errors
        if status != "ok" or seconds > SLOW_RUN_SECONDS:
            break
    return result


def med(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


# --- goal sizes ----------------------------------------------------------------------------------
@dataclass
class GoalResult:
    spec: Spec
    steps: int = 0
    flows: int = 0
    loops: int = 0
    lanes: int = 0
    map_s: float = 0.0
    ours: Ours = field(default_factory=Ours)
    dot: DotRun = field(default_factory=DotRun)
    layered: Ours = field(default_factory=Ours)
    unclustered: DotRun = field(default_factory=DotRun)


def bench_goal(spec: Spec, cap: float, log: Callable[[str], None]) -> GoalResult:
    process = spec.build()
    result = GoalResult(spec, len(process), process.graph.number_of_edges())
    result.lanes = len(lanes_used(process))
    gc.collect()
    start = time.perf_counter()
    diagram = process_map(process)
    result.map_s = time.perf_counter() - start
    result.loops = sum(edge.back for section in diagram.sections for edge in section.edges)
    log(
        f"  {spec.kind:>10} {result.steps:>5} steps: grid, plain dot (cap {cap:.0f} s), layered, "
        "dot without clusters"
    )
    grid = Renderer(cache=MemoryCache(0), layout="grid", time_limit=TIME_LIMIT)
    result.ours = run_ours(grid, diagram, process, REPEATS)
    result.dot = run_dot(diagram, cap, REPEATS)
    layered = Renderer(cache=MemoryCache(0), layout="layered", time_limit=TIME_LIMIT)
    result.layered = run_ours(layered, diagram, process, REPEATS)
    result.unclustered = run_dot(diagram, cap, REPEATS, clusters=False)
    return result


# --- the generated set ---------------------------------------------------------------------------
@dataclass
class SetItem:
    spec: Spec
    steps: int
    valid: bool
    ours: Ours
    dot: DotRun


def bench_set(specs: list[Spec], cap: float, log: Callable[[str], None]) -> list[SetItem]:
    renderer = Renderer(cache=MemoryCache(0), layout="grid", time_limit=TIME_LIMIT)
    items = []
    for i, spec in enumerate(specs):
        process = spec.build()
        valid = not check_process(process)
        diagram = process_map(process)
        ours = run_ours(renderer, diagram, process, 1)
        dot = run_dot(diagram, cap, 1)
        items.append(SetItem(spec, len(process), valid, ours, dot))
        if (i + 1) % 10 == 0 or i + 1 == len(specs):
            log(f"  generated set: {i + 1}/{len(specs)} graphs (last: {len(process):,} steps)")
    return items


# --- report --------------------------------------------------------------------------------------
def render_machine_info(graphviz_version: str, backend: str) -> dict[str, str]:
    return machine_info(
        f"pygraphviz {pygraphviz.__version__} (Graphviz {graphviz_version}), "
        f"graphviz (Python) {graphviz.__version__}, networkx {nx.__version__}; "
        f"renderer uses {backend}"
    )


def dot_time(run: DotRun) -> str:
    if run.status == "timeout":
        return f">{run.cap:.0f} s"
    return fmt_s(med(run.seconds))


def dot_outcome(run: DotRun) -> str:
    if run.ok:
        return f"ok, {run.graphviz_errors} Graphviz errors" if run.graphviz_errors else "ok"
    return run.status


def verdict(ok: bool | None) -> str:
    return "not run" if ok is None else ("PASS" if ok else "MISS")


def short(text: str, limit: int = 90) -> str:
    text = NOISE.sub("", text).removeprefix("drawn on the swimlane grid because ")
    text = " ".join(text.split()).replace("|", "/").replace("`", "'")
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Report:
    goal_results: list[GoalResult]
    items: list[SetItem]
    caps: tuple[float, float]
    startup: float
    machine: dict[str, str]
    when: str
    seconds: float

    # --- figures --------------------------------------------------------------------------------
    def our_failures(self) -> list[tuple[str, str]]:
        """(graph, what went wrong) for every render of ours that failed or lost a lane."""
        out = []
        for g in self.goal_results:
            for label, ours in (("grid", g.ours), ("layered", g.layered)):
                if ours.failed or ours.missing_lanes:
                    what = ours.error or f"lanes not shown: {', '.join(ours.missing_lanes)}"
                    out.append((f"goal {g.spec.text()} ({label})", what))
        for item in self.items:
            if item.ours.failed or item.ours.missing_lanes:
                what = item.ours.error or f"lanes not shown: {', '.join(item.ours.missing_lanes)}"
                out.append((f"set {item.spec.text()} ({item.steps} steps)", what))
        return out

    GOAL_HEAD = (
        "process",
        "steps",
        "flows",
        "loops",
        "map s",
        "runs",
        "grid s",
        "SVG KiB",
        "lane clusters",
        "plain dot s",
        "plain dot",
        "dot / grid",
    )

    def goal_rows(self) -> list[list[str]]:
        rows = []
        for g in self.goal_results:
            ours, dot = g.ours, g.dot
            if ours.failed:
                lanes = "-"
            else:
                lanes = f"{g.lanes - len(ours.missing_lanes)}/{g.lanes} lanes ({ours.clusters})"
            ratio = f"x{med(dot.seconds) / med(ours.seconds):.1f}" if dot.ok else "-"
            rows.append(
                [
                    g.spec.kind,
                    f"{g.steps:,}",
                    f"{g.flows:,}",
                    f"{g.loops:,}",
                    fmt_s(g.map_s),
                    f"{len(ours.seconds)}",
                    "FAILED" if ours.failed else fmt_s(med(ours.seconds)),
                    f"{ours.svg_bytes / 1024:,.0f}",
                    lanes,
                    dot_time(dot) + (f" ({len(dot.seconds)}x)" if dot.ok else ""),
                    dot_outcome(dot),
                    ratio,
                ]
            )
        return rows

    LAYERED_HEAD = (
        "process",
        "steps",
        "dot budget s",
        "layered s",
        "drawn with",
        "note",
        "dot w/o clusters s",
        "dot w/o clusters",
        "that / grid",
    )

    def layered_rows(self) -> list[list[str]]:
        rows = []
        for g in self.goal_results:
            lay, bare = g.layered, g.unclustered
            ratio = f"x{med(bare.seconds) / med(g.ours.seconds):.1f}" if bare.ok else "-"
            rows.append(
                [
                    g.spec.kind,
                    f"{g.steps:,}",
                    f"{min(layered_budget(g.steps), TIME_LIMIT):.2f}",
                    "FAILED" if lay.failed else fmt_s(med(lay.seconds)),
                    lay.layout or "-",
                    short(lay.error or (lay.notes[0] if lay.notes else ""), 70),
                    dot_time(bare) + (f" ({len(bare.seconds)}x)" if bare.ok else ""),
                    dot_outcome(bare),
                    ratio,
                ]
            )
        return rows

    SET_HEAD = ("renderer", "graphs", "failures", "time-outs", "total s", "median s", "max s")

    def set_rows(self) -> list[list[str]]:
        ours = [i.ours for i in self.items]
        dots = [i.dot for i in self.items]
        our_times = [o.seconds[0] for o in ours]
        dot_ok_times = [d.seconds[0] for d in dots if d.ok]
        worst = max(self.items, key=lambda i: i.ours.seconds[0])
        failed_dot = [d for d in dots if not d.ok]
        return [
            [
                "ours (grid)",
                str(len(ours)),
                str(sum(o.failed or bool(o.missing_lanes) for o in ours)),
                "0",
                fmt_s(sum(our_times)),
                fmt_s(med(our_times)),
                f"{fmt_s(max(our_times))} ({worst.spec.kind}, {worst.steps:,} steps)",
            ],
            [
                f"plain dot (cap {self.caps[1]:.0f} s)",
                str(len(dots)),
                str(len(failed_dot)),
                str(sum(d.status == "timeout" for d in dots)),
                fmt_s(sum(d.seconds[0] for d in dots)),
                f"{fmt_s(med(dot_ok_times))} (ok ones)",
                f"{fmt_s(max(dot_ok_times, default=math.nan))} (ok ones)",
            ],
        ]

    def set_summary(self) -> list[str]:
        """Lines on the set: sizes, validity, plain dot's failures by kind and the first ones."""
        lines = []
        sizes = sorted({i.spec.size for i in self.items})
        valid = Counter(i.spec.kind for i in self.items if i.valid)
        total = Counter(i.spec.kind for i in self.items)
        lines.append(
            f"{len(self.items)} graphs: sizes {', '.join(f'{s:,}' for s in sizes)} (requested "
            f"steps), each structured and tangled, seed {SET_SEED} + size; valid per "
            f"check_process: " + ", ".join(f"{valid[k]}/{total[k]} {k}" for k in KINDS) + "."
        )
        by_status = Counter(i.dot.status for i in self.items if not i.dot.ok)
        by_kind = Counter(i.spec.kind for i in self.items if not i.dot.ok)
        if by_status:
            reasons = Counter(
                (i.dot.status, short(i.dot.detail, 80)) for i in self.items if not i.dot.ok
            )
            lines.append(
                "plain dot failed on "
                + ", ".join(f"{by_kind[k]}/{total[k]} {k}" for k in KINDS)
                + ": "
                + "; ".join(
                    f"{n}x {status}: {detail}" for (status, detail), n in reasons.most_common()
                )
                + "."
            )
            first = min((i for i in self.items if not i.dot.ok), key=lambda i: i.steps)
            lines.append(
                f"smallest plain dot failure: {first.spec.text()} ({first.steps} steps), "
                f"{first.dot.status}."
            )
        else:
            lines.append("plain dot drew every graph of the set.")
        drew_with_errors = [i for i in self.items if i.dot.ok and i.dot.graphviz_errors]
        if drew_with_errors:
            lines.append(
                f"plain dot drew {len(drew_with_errors)} more but reported errors on stderr "
                f"(e.g. {short(drew_with_errors[0].dot.detail, 60)}), so edges may be missing or "
                "misdrawn in them."
            )
        return lines

    def goals(self) -> list[tuple[str, str, str]]:
        rows = []
        for size, limit in GOALS.items():
            mine = [g for g in self.goal_results if g.spec.size == size]
            name = f"{size:,} steps under {limit:g} s (grid, structured and tangled)"
            if not mine:
                rows.append((name, "-", verdict(None)))
                continue
            times = [med(g.ours.seconds) for g in mine if not g.ours.failed]
            failed = any(g.ours.failed for g in mine)
            measured = " / ".join(
                "FAILED" if g.ours.failed else f"{fmt_s(med(g.ours.seconds))} s" for g in mine
            )
            rows.append((name, measured, verdict(not failed and max(times) < limit)))
        checked = [g.ours for g in self.goal_results] + [i.ours for i in self.items]
        shown = [o for o in checked if not o.failed and not o.missing_lanes]
        rows.append(
            (
                "lanes shown: a cluster for every lane with steps, in every SVG of ours",
                f"{len(shown)}/{len(checked)} SVGs",
                verdict(len(shown) == len(checked)),
            )
        )
        failures = sum(i.ours.failed for i in self.items)
        rows.append(
            (
                f"no failures of ours on the generated set ({len(self.items)} graphs)",
                f"{failures} failures",
                verdict(failures == 0),
            )
        )
        return rows

    # --- output ---------------------------------------------------------------------------------
    def text(self) -> str:
        out = io.StringIO()
        out.write(f"Render benchmark, {self.when} ({self.seconds:.0f} s)\n")
        for key, value in self.machine.items():
            out.write(f"  {key:<9} {value}\n")
        out.write(f"  worker    start-up of a layout process (empty graph): {self.startup:.3f} s\n")
        out.write("\nGoal sizes: process_map ('map s', once), then Renderer(grid).render(svg), ")
        out.write("median of the runs;\nbaseline plain dot on layered_graph(diagram).source via ")
        out.write(f"the layout worker (cap {self.caps[0]:.0f} s).\n")
        out.write(plain_table(self.GOAL_HEAD, self.goal_rows()))
        out.write("\nInformative: Renderer(layout='layered') on the same diagrams, and plain dot ")
        out.write("on the same DOT\nwith its clusters made plain subgraphs (no lane boxes)\n")
        out.write(plain_table(self.LAYERED_HEAD, self.layered_rows()))
        out.write("\nGenerated set, one run each\n")
        out.write(plain_table(self.SET_HEAD, self.set_rows()))
        for line in self.set_summary():
            out.write(f"  {line}\n")
        failures = self.our_failures()
        if failures:
            out.write("\nFailures of ours (reproduce with the kind, size and seed)\n")
            for graph, what in failures:
                out.write(f"  {graph}: {what}\n")
        out.write("\nGoals\n")
        out.write(plain_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]))
        return out.getvalue()

    def markdown(self) -> str:
        failures = self.our_failures()
        lines = [
            START_MARK,
            "## Rendering: process maps to SVG",
            "",
            f"Measured {self.when} with `python bench/render.py` ({self.seconds:.0f} s). "
            "Processes from `workflow.generate.random_process`, structured, or tangled like a "
            "discovered process (about size/2 extra flows between random task-like steps, "
            "forward and backward, across lanes, each way out of such a step at 1/k). "
            f"Goal-size graphs use seed {SEED} + size. `process_map` runs outside the timer "
            "('map s'); the timed run is `Renderer(cache=MemoryCache(0)).render(diagram, "
            '"svg")`, the default grid layout, median of the runs. Every time includes '
            f"starting a layout process, {self.startup:.3f} s on an empty graph. "
            "'lane clusters': lanes with steps that have their cluster in the SVG, and "
            "(in brackets) the clusters in it.",
            "",
            *(f"- {key}: {value}" for key, value in self.machine.items()),
            "",
            "Baseline in the same run, on the same diagrams: plain `dot` on "
            "`layered_graph(diagram).source` (lane clusters; building the DOT is timed too), "
            "run by the renderer's worker `python -m workflow.layout_worker dot svg`, killed "
            f"after {self.caps[0]:.0f} s; a time-out or non-zero exit is a failure.",
            "",
            md_table(self.GOAL_HEAD, self.goal_rows()),
            "",
            'For information, on the same diagrams: `Renderer(layout="layered")` (`dot` '
            "within its budget of 0.3 s + 1.1 ms a step, the grid when `dot` fails or runs "
            "out; median of the runs, the note says why it fell back), and plain `dot` on the "
            "same DOT with every cluster turned into a plain subgraph (no lane boxes; same cap).",
            "",
            md_table(self.LAYERED_HEAD, self.layered_rows()),
            "",
            "Generated set, one run of each renderer per graph; plain dot killed after "
            f"{self.caps[1]:.0f} s. A failure of ours is an exception, an SVG that is not XML, "
            "or a lane with steps and no cluster.",
            "",
            md_table(self.SET_HEAD, self.set_rows()),
            "",
            *(f"- {line}" for line in self.set_summary()),
            *(["- failures of ours:"] + [f"  - {g}: {w}" for g, w in failures] if failures else []),
            "",
            md_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]),
            END_MARK,
        ]
        return "\n".join(lines) + "\n"


def warm_up() -> tuple[float, str]:
    """Start-up of a layout process (median of 3, empty graph), and the Graphviz version."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        done = subprocess.run(
            [*WORKER, "nop2", "svg"], input=b"digraph {}", capture_output=True, check=False
        )
        times.append(time.perf_counter() - start)
    found = re.search(rb"Generated by graphviz version (\S+)", done.stdout)
    small = process_map(random_process(random.Random(SEED), 20))
    Renderer(cache=MemoryCache(0)).render(small, "svg")
    run_dot_once(layered_graph(small).source, 30.0)
    return med(times), found.group(1).decode() if found else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="200 and 1,000 steps; 20 graphs up to 1,000 steps"
    )
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    goal_sizes = QUICK_GOAL_SIZES if args.quick else tuple(GOALS)
    caps = (DOT_CAP_QUICK, DOT_CAP_QUICK) if args.quick else (DOT_CAP_GOALS, DOT_CAP_SET)
    specs = set_specs(*(QUICK_SET_SIZES if args.quick else SET_SIZES))
    began = time.perf_counter()
    log("warming up ...")
    startup, graphviz_version = warm_up()
    log("goal sizes:")
    goal_results = [
        bench_goal(Spec(kind, size, SEED + size), caps[0], log)
        for size in goal_sizes
        for kind in KINDS
    ]
    log(f"generated set of {len(specs)} graphs (plain dot capped at {caps[1]:.0f} s) ...")
    items = bench_set(specs, caps[1], log)
    report = Report(
        goal_results,
        items,
        caps,
        startup,
        render_machine_info(graphviz_version, Renderer(cache=MemoryCache(0)).backend),
        dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        time.perf_counter() - began,
    )
    print(report.text())
    if not args.no_write:
        write_section("render", report.markdown(), after="engine")
        print(f"wrote the render section of {DOC.relative_to(ROOT)}")
    return 1 if report.our_failures() else 0


if __name__ == "__main__":
    sys.exit(main())
