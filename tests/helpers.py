"""Small builders so tests describe processes in a line or two."""

from __future__ import annotations

import itertools
from typing import Any

from workflow.model import Flow, Lane, Process, Step
from workflow.vocabulary import LaneKind, StepKind

LANES = (
    Lane("customer", "Customer", LaneKind.CUSTOMER),
    Lane("clerk", "Clerk", cost_per_hour=40.0),
    Lane("boss", "Boss", cost_per_hour=80.0),
    Lane("system", "System", LaneKind.SYSTEM),
)


def step(step_id: str, kind: StepKind = StepKind.TASK, **attributes: Any) -> Step:
    attributes.setdefault("name", step_id.replace("_", " ").title())
    return Step(step_id, kind=kind, **attributes)


def flow(source: str, target: str, probability: float | None = None, rework: bool = False):
    return (source, target, Flow(probability, rework))


def process(steps, flows, *, volume: float = 1000.0, **kwargs: Any) -> Process:
    kwargs.setdefault("lanes", LANES)
    built = []
    for item in flows:
        if len(item) == 2:
            built.append((item[0], item[1], Flow()))
        elif isinstance(item[2], Flow):
            built.append(item)
        else:
            built.append(flow(*item))
    return Process.build(kwargs.pop("id", "p"), steps, built, volume=volume, **kwargs)


def line(*tasks: Step, lane: str = "clerk") -> Process:
    """start -> tasks... -> end."""
    steps = [step("start", StepKind.START, lane=lane), *tasks, step("end", StepKind.END, lane=lane)]
    ids = [s.id for s in steps]
    return process(steps, list(itertools.pairwise(ids)))


def mutate(data: bytes, edits) -> bytes:
    """``data`` with each (position, "delete" | "insert" | "replace", chunk) edit applied in
    turn, positions past the end meaning the end; for fuzzing readers with near-valid files."""
    changed = bytearray(data)
    for position, how, chunk in edits:
        at = min(position, len(changed))
        if how == "delete":
            del changed[at : at + len(chunk)]
        elif how == "insert":
            changed[at:at] = chunk
        else:
            changed[at : at + len(chunk)] = chunk
    return bytes(changed)
