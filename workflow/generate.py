"""Synthetic processes: valid by construction, of any size, reproducible from a seed.

Property tests draw many small ones to try the engine's invariants on shapes nobody wrote by hand;
the benchmark draws large ones. Processes are built from nested blocks (a straight run of tasks,
an exclusive choice, a rework loop, a parallel block), so every generated process passes
validation, and attributes (lanes, times, value classes, protected steps, flags, data items) are
mixed so every rule has something to find.

Examples
--------
>>> import random
>>> p = random_process(random.Random(1), 40)
>>> from workflow.validate import check_process
>>> check_process(p)
[]
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from workflow.model import Flag, Flow, Lane, Process, Step
from workflow.vocabulary import (
    FlagCategory,
    FlagSource,
    LaneKind,
    Perspective,
    StepKind,
    ValueClass,
    Waste,
)

__all__ = ["random_process"]

_TASK_KINDS = (
    StepKind.TASK,
    StepKind.TASK,
    StepKind.TASK,
    StepKind.SYSTEM,
    StepKind.APPROVAL,
    StepKind.WAIT,
    StepKind.HANDOFF,
)
_DATA = tuple(f"item{i}" for i in range(40))


@dataclass
class _Builder:
    rng: random.Random
    lanes: list[Lane]
    budget: int
    max_depth: int
    steps: list[Step] = field(default_factory=list)
    flows: list[tuple[str, str, Flow]] = field(default_factory=list)
    counter: int = 0

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def task(self) -> str:
        rng = self.rng
        step_id = self.new_id("t")
        kind = rng.choice(_TASK_KINDS)
        value = rng.choice((ValueClass.VA, ValueClass.BVA, ValueClass.NVA, ValueClass.NVA, None))
        flags: tuple[Flag, ...] = ()
        if rng.random() < 0.15:
            flags = (
                Flag(
                    source=rng.choice(tuple(FlagSource)),
                    category=rng.choice(tuple(FlagCategory)),
                    severity=rng.randint(1, 5),
                    date=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300)),
                    me_too=rng.randint(0, 3),
                ),
            )
        data = rng.random() < 0.5
        self.steps.append(
            Step(
                step_id,
                f"Step {step_id}",
                kind,
                lane=rng.choice(self.lanes).id,
                touch_minutes=float(rng.randint(0, 60)),
                wait_minutes=float(rng.choice((0, 0, 30, 240, 1440))),
                value_class=value,
                customer_value=rng.randint(0, 5),
                business_value=rng.randint(0, 5),
                required_by="Regulation X" if rng.random() < 0.1 else "",
                pct_complete_accurate=rng.choice((100.0, 100.0, 90.0, 70.0)),
                waste=(rng.choice(tuple(Waste)),) if rng.random() < 0.3 else (),
                inputs=tuple(rng.sample(_DATA, 2)) if data else (),
                outputs=tuple(rng.sample(_DATA, 2)) if data else (),
                flags=flags,
            )
        )
        self.budget -= 1
        return step_id

    def gateway(self, kind: StepKind, prefix: str) -> str:
        step_id = self.new_id(prefix)
        touch = float(self.rng.randint(0, 10)) if kind is StepKind.DECISION else 0.0
        self.steps.append(Step(step_id, f"Gateway {step_id}", kind, touch_minutes=touch))
        self.budget -= 1
        return step_id

    def link(self, source: str, target: str, flow: Flow | None = None) -> None:
        self.flows.append((source, target, flow or Flow()))

    def sequence(self, depth: int, length: int) -> tuple[str, str]:
        """A run of ``length`` blocks; returns its entry and exit step."""
        entry, exit_ = self.block(depth)
        for _ in range(length - 1):
            if self.budget <= 0:
                break
            first, last = self.block(depth)
            self.link(exit_, first)
            exit_ = last
        return entry, exit_

    def block(self, depth: int) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        if depth >= self.max_depth or self.budget < 6 or roll < 0.55:
            step = self.task()
            return step, step
        if roll < 0.72:
            return self.choice(depth)
        if roll < 0.86:
            return self.loop(depth)
        return self.parallel(depth)

    def _branch_length(self) -> int:
        return self.rng.randint(1, 3)

    def choice(self, depth: int) -> tuple[str, str]:
        decision = self.gateway(StepKind.DECISION, "d")
        merge = self.task()
        branches = self.rng.randint(2, 3)
        weights = [self.rng.randint(1, 9) for _ in range(branches)]
        total = sum(weights)
        probabilities = [w / total for w in weights]
        probabilities[-1] = 1 - sum(probabilities[:-1])
        targets: set[str] = set()
        for probability in probabilities:
            entry, exit_ = self.sequence(depth + 1, self._branch_length())
            self.link(decision, entry, Flow(probability))
            self.link(exit_, merge)
            targets.add(entry)
        return decision, merge

    def loop(self, depth: int) -> tuple[str, str]:
        entry, exit_ = self.sequence(depth + 1, self._branch_length())
        check = self.gateway(StepKind.DECISION, "c")
        self.link(exit_, check)
        back = self.rng.choice((0.05, 0.1, 0.2, 0.3, 0.5))
        fix = self.task()
        self.link(check, fix, Flow(back))
        self.link(fix, entry, Flow(rework=True))
        after = self.task()
        self.link(check, after, Flow(1 - back))
        return entry, after

    def parallel(self, depth: int) -> tuple[str, str]:
        split = self.gateway(StepKind.PARALLEL_SPLIT, "ps")
        join = self.gateway(StepKind.PARALLEL_JOIN, "pj")
        for _ in range(self.rng.randint(2, 3)):
            entry, exit_ = self.sequence(depth + 1, self._branch_length())
            self.link(split, entry)
            self.link(exit_, join)
        return split, join


def random_process(
    rng: random.Random,
    size: int,
    *,
    lanes: int = 5,
    max_depth: int = 3,
    process_id: str = "generated",
) -> Process:
    """A valid process of about ``size`` steps (never fewer than three)."""
    lane_list = [
        Lane(f"lane{i}", f"Lane {i}", LaneKind.ROLE, cost_per_hour=float(30 + 10 * i))
        for i in range(max(1, lanes))
    ]
    if lanes > 1:
        lane_list[0] = Lane("customer", "Customer", LaneKind.CUSTOMER)
    builder = _Builder(rng, lane_list, max(1, size - 2), max_depth)
    start = Step("start", "Start", StepKind.START, lane=lane_list[-1].id)
    end = Step("end", "End", StepKind.END, lane=lane_list[-1].id)
    entry, exit_ = builder.sequence(0, max(1, size))
    return Process.build(
        process_id,
        [start, *builder.steps, end],
        [("start", entry, Flow()), *builder.flows, (exit_, "end", Flow())],
        name=f"Generated process of {size} steps",
        perspective=Perspective.EMPLOYEE_PROCESS,
        lanes=lane_list,
        volume=float(rng.choice((1_000, 10_000, 100_000))),
    )
