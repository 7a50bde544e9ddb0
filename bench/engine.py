"""Engine benchmark: load + validate + metrics + scores + proposals on generated processes.

Each size is generated from a fixed seed and dumped to YAML outside the timer; the timed run
starts from the YAML text (``loads_model``, which parses and validates) and then runs
``analyze(model, simulation_runs=0)`` (metrics, scores, proposals). Load and analyze are timed
separately so the share of each is visible; the bare YAML parse (``yaml.compose`` with the
loader ``loads_model`` uses) is timed on its own too.

Because the machine is noisy, the same run also times a naive baseline on the same graphs: the
expected-visits flow equations solved with a dense ``numpy.linalg.solve`` on the full n x n
matrix, against the sparse solve in :func:`workflow.metrics.expected_visits`; the two must agree.

    python bench/engine.py             # 100, 1,000 and 10,000 steps; updates docs/BENCHMARKS.md
    python bench/engine.py --quick     # 100 and 1,000 steps only
    python bench/engine.py --no-write  # print only
    python bench/engine.py --profile 1000 --no-write  # plus cProfile top 15 of one run
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import math
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import scipy
import yaml
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

from workflow import yaml_format
from workflow.analysis import analyze
from workflow.generate import random_process
from workflow.metrics import expected_visits
from workflow.model import Process, ProcessModel
from workflow.vocabulary import StepKind
from workflow.yaml_format import dumps_model, loads_model

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
SEED = 20_260_101
AS_OF = dt.date(2026, 12, 31)  # fixed, so flag ages (and so scores) do not move with the calendar
REPEATS = 3
#: A size whose first run takes longer than this (seconds) is run once, not REPEATS times.
SLOW_RUN_SECONDS = 30.0
#: The dense baseline is skipped when its estimate exceeds either limit.
DENSE_MAX_SECONDS = 60.0
DENSE_MAX_BYTES = 2 * 1024**3
AGREE_TOLERANCE = 1e-6
#: The loader loads_model composes with (libyaml's when PyYAML has it, else pure Python).
PARSE_LOADER = getattr(yaml_format, "_LOADER", yaml.SafeLoader)

GOAL_1K_SECONDS = 0.5
GOAL_10K_SECONDS = 10.0

START_MARK, END_MARK = marks("engine")


# --- timing helpers ------------------------------------------------------------------------------
class GcClock:
    """Seconds spent in the cyclic garbage collector while installed (via ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def nlogn(n: int) -> float:
    return n * math.log(n)


# --- the naive baseline --------------------------------------------------------------------------
def dense_expected_visits(process: Process) -> dict[str, float]:
    """Expected visits the way a newcomer would write them: the full n x n matrix, dense solve."""
    graph = process.graph
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    system = np.eye(n)
    for u in nodes:
        for v, share in process.branch_shares(u):
            divisor = graph.in_degree(v) if process.step(v).kind is StepKind.PARALLEL_JOIN else 1
            system[index[v], index[u]] -= share / divisor
    rhs = np.zeros(n)
    rhs[index[process.start()]] = 1.0
    solution = np.linalg.solve(system, rhs)
    return {node: max(0.0, float(solution[i])) for node, i in index.items()}


def dense_bytes(n: int) -> int:
    """Peak memory of the dense solve: the matrix plus the copy LAPACK factorises."""
    return 2 * 8 * n * n


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# --- one size ------------------------------------------------------------------------------------
@dataclass
class SizeResult:
    size: int
    steps: int = 0
    flows: int = 0
    yaml_bytes: int = 0
    repeats: int = 0
    parse: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    analyze: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    gc: list[float] = field(default_factory=list)
    proposals: int = 0
    sparse: list[float] = field(default_factory=list)
    dense: list[float] = field(default_factory=list)
    dense_skipped: str = ""
    dense_estimate: float | None = None
    max_diff: float | None = None

    def agree(self) -> bool:
        return self.max_diff is not None and self.max_diff < AGREE_TOLERANCE

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else math.nan


def build(size: int) -> str:
    """The YAML text of the generated process; nothing else of it stays alive, so the heap the
    timed run (and its garbage collections) sees is the engine's own."""
    process = random_process(random.Random(SEED + size), size)
    return dumps_model(ProcessModel(f"bench-{size}", (process,)))


def run_engine(text: str) -> tuple[float, float, float, Any]:
    """Load and analyze timed apart, and the garbage collector's part of the two."""
    gc.collect()
    with GcClock() as load_gc:
        start = time.perf_counter()
        model = loads_model(text, source="<bench>")
        load_s = time.perf_counter() - start
    gc.collect()
    with GcClock() as analyze_gc:
        start = time.perf_counter()
        analysis = analyze(model, simulation_runs=0, as_of=AS_OF)
        analyze_s = time.perf_counter() - start
    return load_s, analyze_s, load_gc.seconds + analyze_gc.seconds, analysis


def bench_size(size: int, previous_dense: tuple[int, float] | None, log: Callable) -> SizeResult:
    result = SizeResult(size)
    text = build(size)
    result.yaml_bytes = len(text.encode("utf-8"))
    log(f"  {size:>6} steps: {result.yaml_bytes:,} bytes of YAML; timing load + analyze ...")

    repeats = REPEATS
    run = 0
    while run < repeats:
        load_s, analyze_s, gc_s, analysis = run_engine(text)
        result.gc.append(gc_s)
        result.load.append(load_s)
        result.analyze.append(analyze_s)
        result.total.append(load_s + analyze_s)
        result.proposals = len(analysis.proposals)
        del analysis
        if run == 0 and load_s + analyze_s > SLOW_RUN_SECONDS:
            repeats = 1
        run += 1
    result.repeats = repeats
    # The parse alone is a share of load: once is enough where load alone takes seconds.
    for _ in range(repeats if SizeResult.med(result.load) < 2.0 else 1):
        parse_s, _node = timed(lambda: yaml.compose(text, Loader=PARSE_LOADER))
        result.parse.append(parse_s)
        del _node

    log(f"  {size:>6} steps: baseline (dense) and sparse expected visits ...")
    process = loads_model(text, source="<bench>").processes[0]
    result.steps, result.flows = len(process), process.graph.number_of_edges()
    sparse_visits: dict[str, float] = {}
    for _ in range(REPEATS):
        sparse_s, sparse_visits = timed(lambda: expected_visits(process))
        result.sparse.append(sparse_s)

    n = len(process.graph)
    if previous_dense is not None:
        small_n, small_s = previous_dense
        result.dense_estimate = small_s * (n / small_n) ** 3
    available = available_bytes()
    if dense_bytes(n) > DENSE_MAX_BYTES:
        result.dense_skipped = f"needs ~{dense_bytes(n) / 1024**3:.1f} GiB (> 2 GiB)"
    elif available is not None and dense_bytes(n) > available // 2:
        result.dense_skipped = f"needs ~{dense_bytes(n) / 1024**3:.1f} GiB, half the free memory"
    elif result.dense_estimate is not None and result.dense_estimate > DENSE_MAX_SECONDS:
        result.dense_skipped = f"estimated {result.dense_estimate:.0f} s (> 60 s)"
    if not result.dense_skipped:
        dense_visits: dict[str, float] = {}
        for i in range(REPEATS):
            dense_s, dense_visits = timed(lambda: dense_expected_visits(process))
            result.dense.append(dense_s)
            if i == 0 and dense_s > 5.0:
                break
        result.max_diff = max(abs(dense_visits[k] - sparse_visits[k]) for k in sparse_visits)
    return result


# --- report --------------------------------------------------------------------------------------
def engine_machine_info() -> dict[str, str]:
    return machine_info(
        f"numpy {np.__version__}, scipy {scipy.__version__}, networkx {nx.__version__}, "
        f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__}; "
        f"YAML parse column uses {PARSE_LOADER.__name__})"
    )


def size_text(n_bytes: int) -> str:
    return f"{n_bytes / 1024:,.0f} KiB" if n_bytes < 1024**2 else f"{n_bytes / 1024**2:,.0f} MiB"


def verdict(ok: bool | None) -> str:
    return "not run" if ok is None else ("PASS" if ok else "FAIL")


@dataclass
class Report:
    results: list[SizeResult]
    machine: dict[str, str]
    when: str
    seconds: float

    def by_size(self, size: int) -> SizeResult | None:
        return next((r for r in self.results if r.size == size), None)

    def goals(self) -> list[tuple[str, str, str]]:
        """(goal, measured, verdict)."""
        small, large = self.by_size(1_000), self.by_size(10_000)
        rows = []
        t1 = SizeResult.med(small.total) if small else None
        rows.append(
            (
                f"1,000 steps under {GOAL_1K_SECONDS} s",
                f"{fmt_s(t1)} s" if small else "-",
                verdict(None if t1 is None else t1 < GOAL_1K_SECONDS),
            )
        )
        t10 = SizeResult.med(large.total) if large else None
        rows.append(
            (
                f"10,000 steps under {GOAL_10K_SECONDS:.0f} s",
                f"{fmt_s(t10)} s" if large else "-",
                verdict(None if t10 is None else t10 < GOAL_10K_SECONDS),
            )
        )
        if small and large and t1 and t10:
            growth = t10 / t1
            bound = nlogn(large.steps) / nlogn(small.steps)
            rows.append(
                (
                    "growth 1,000 -> 10,000 no worse than n log n",
                    f"x{growth:.1f} (n log n: x{bound:.1f}, n: x{large.steps / small.steps:.1f})",
                    verdict(growth <= bound),
                )
            )
        else:
            rows.append(("growth 1,000 -> 10,000 no worse than n log n", "-", verdict(None)))
        return rows

    def engine_rows(self) -> list[list[str]]:
        rows = []
        for r in self.results:
            total = SizeResult.med(r.total)
            load = SizeResult.med(r.load)
            rows.append(
                [
                    f"{r.steps:,}",
                    f"{r.flows:,}",
                    f"{r.yaml_bytes:,}",
                    str(r.repeats),
                    fmt_s(SizeResult.med(r.parse)),
                    fmt_s(load),
                    fmt_s(SizeResult.med(r.analyze)),
                    fmt_s(total),
                    f"{100 * load / total:.0f}%",
                    f"{100 * SizeResult.med(r.gc) / total:.0f}%",
                    str(r.proposals),
                ]
            )
        return rows

    def baseline_rows(self) -> list[list[str]]:
        rows = []
        for r in self.results:
            sparse = SizeResult.med(r.sparse)
            if r.dense_skipped:
                estimate = f"~{r.dense_estimate:.0f} s est." if r.dense_estimate else "-"
                dense, speedup, diff = f"skipped: {r.dense_skipped}", estimate, "-"
            else:
                d = SizeResult.med(r.dense)
                dense = f"{fmt_s(d)} ({len(r.dense)}x)"
                speedup = f"x{d / sparse:.0f}"
                diff = f"{r.max_diff:.1e}" + (" ok" if r.agree() else " MISMATCH")
            rows.append(
                [
                    f"{r.steps:,}",
                    size_text(8 * r.steps * r.steps),
                    dense,
                    fmt_s(sparse),
                    speedup,
                    diff,
                ]
            )
        return rows

    ENGINE_HEAD = (
        "steps",
        "flows",
        "YAML bytes",
        "runs",
        "YAML parse s",
        "load s",
        "analyze s",
        "total s",
        "load share",
        "GC share",
        "proposals",
    )
    BASE_HEAD = (
        "steps",
        "dense matrix",
        "naive dense solve s",
        "sparse expected_visits s",
        "dense / sparse",
        "max abs diff",
    )

    def text(self) -> str:
        out = io.StringIO()
        out.write(f"Engine benchmark, {self.when} ({self.seconds:.0f} s)\n")
        for key, value in self.machine.items():
            out.write(f"  {key:<9} {value}\n")
        out.write("\nload + validate (loads_model) and metrics + scores + proposals (analyze);\n")
        out.write("median of the runs; 'total s' = load + analyze; 'GC share' = time in Python's\n")
        out.write("cyclic garbage collector during load + analyze (gc.callbacks).\n")
        out.write(plain_table(self.ENGINE_HEAD, self.engine_rows()))
        out.write("\nBaseline, same graphs: expected visits, naive dense np.linalg.solve vs ")
        out.write("workflow.metrics.expected_visits (sparse).\n")
        out.write(plain_table(self.BASE_HEAD, self.baseline_rows()))
        out.write("\nGoals\n")
        out.write(plain_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]))
        return out.getvalue()

    def markdown(self) -> str:
        lines = [
            START_MARK,
            "## Engine: load, validate, metrics, scores, proposals",
            "",
            f"Measured {self.when} with `python bench/engine.py` ({self.seconds:.0f} s). "
            "Processes from `workflow.generate.random_process` (seed "
            f"{SEED} + size), dumped to YAML outside the timer; the timed run is "
            "`loads_model(text)` (parse + validate) then `analyze(model, simulation_runs=0)` "
            "(metrics, scores, proposals with the default limit). Median of the runs; GC share is "
            "the time spent in Python's cyclic garbage collector during load + analyze.",
            "",
            *(f"- {key}: {value}" for key, value in self.machine.items()),
            "",
            md_table(self.ENGINE_HEAD, self.engine_rows()),
            "",
            "Baseline in the same run, on the same graphs: expected visits solved the naive way "
            "(full n x n matrix, `np.linalg.solve`) against `workflow.metrics.expected_visits` "
            "(sparse). A skipped dense run is estimated from the O(n^3) growth of the fastest "
            "dense run of the size below it.",
            "",
            md_table(self.BASE_HEAD, self.baseline_rows()),
            "",
            md_table(("goal", "measured", "verdict"), [list(g) for g in self.goals()]),
            END_MARK,
        ]
        return "\n".join(lines) + "\n"


def profile(size: int) -> str:
    text = build(size)
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    model = loads_model(text, source="<bench>")
    analyze(model, simulation_runs=0, as_of=AS_OF)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 steps only")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="STEPS",
        help="also print cProfile's top 15 (by own time) of one load + analyze run",
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    sizes = QUICK_SIZES if args.quick else SIZES
    began = time.perf_counter()
    results: list[SizeResult] = []
    previous_dense: tuple[int, float] | None = None
    for size in sizes:
        result = bench_size(size, previous_dense, log)
        results.append(result)
        if result.dense:
            # The fastest run: the least disturbed by other load, so the fairest to extrapolate.
            previous_dense = (result.steps, min(result.dense))
    report = Report(
        results,
        engine_machine_info(),
        dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        time.perf_counter() - began,
    )
    print(report.text())
    if args.profile:
        log(f"profiling one run of {args.profile} steps ...")
        print(f"cProfile, one load + analyze of {args.profile} steps, top 15 by own time")
        print(profile(args.profile))
    if not args.no_write:
        write_section("engine", report.markdown())
        print(f"wrote the engine section of {DOC.relative_to(ROOT)}")
    return 0 if all(r.agree() for r in results if not r.dense_skipped) else 1


if __name__ == "__main__":
    sys.exit(main())
