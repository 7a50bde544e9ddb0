"""The ECRS rules: a registry of pure functions that find simplification opportunities.

Each rule takes a :class:`RuleContext` (one process with its metrics and scores, and the model
around it) and returns :class:`Candidate` values: which steps, why (evidence a person can check),
what could go wrong, and the edits that would make the change. Rules never change the process;
:mod:`workflow.proposals` applies the edits, measures before/after and ranks.

Rules run in ECRS order of preference: Eliminate, Combine, Rearrange, Simplify. Adding a rule is
writing one function in the right module and decorating it with :func:`rule`.

Examples
--------
>>> sorted(RULES)[:3]
['approval_to_rule', 'automate_system_work', 'collapse_pingpong']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from workflow.edits import Edit
from workflow.metrics import Metrics
from workflow.model import Flag, Process, ProcessModel, Step
from workflow.scoring import StepScore
from workflow.vocabulary import FlagCategory

__all__ = ["RULES", "Candidate", "Category", "Rule", "RuleContext", "rule", "rules_in_order"]


class Category(StrEnum):
    ELIMINATE = "Eliminate"
    COMBINE = "Combine"
    REARRANGE = "Rearrange"
    SIMPLIFY = "Simplify"


CATEGORY_ORDER = {c: i for i, c in enumerate(Category)}


@dataclass(frozen=True)
class Candidate:
    """An opportunity a rule found, before it is measured."""

    rule: str
    targets: tuple[str, ...]
    title: str
    rationale: str
    evidence: tuple[str, ...]
    edits: tuple[Edit, ...]
    risks: tuple[str, ...] = ()
    #: expected minutes saved per case, used to choose which candidates to measure first
    estimate: float = 0.0


@dataclass(frozen=True)
class RuleContext:
    model: ProcessModel
    process: Process
    metrics: Metrics
    scores: dict[str, StepScore]
    as_of: dt.date

    def step(self, step_id: str) -> Step:
        return self.process.step(step_id)

    def visits(self, step_id: str) -> float:
        return self.metrics.visits[step_id]

    def only_successor(self, step_id: str) -> str | None:
        succ = list(self.process.graph.succ[step_id])
        return succ[0] if len(succ) == 1 else None

    def only_predecessor(self, step_id: str) -> str | None:
        pred = list(self.process.graph.pred[step_id])
        return pred[0] if len(pred) == 1 else None

    def open_flags(self, step: Step, *categories: FlagCategory) -> list[Flag]:
        return [f for f in step.open_flags() if not categories or f.category in categories]

    def flag_evidence(self, step: Step) -> list[str]:
        lines = []
        for flag in step.open_flags():
            text = f': "{flag.text}"' if flag.text else ""
            lines.append(
                f"{flag.source.value} flag ({flag.category.value}, severity {flag.severity}/5"
                f"{', +' + str(flag.me_too) + ' me too' if flag.me_too else ''}){text}"
            )
        return lines

    def annual_hours(self, step: Step) -> float:
        volume = (
            step.volume if step.volume is not None else (self.process.volume * self.visits(step.id))
        )
        return volume * step.touch_minutes / 60


@dataclass(frozen=True)
class Rule:
    name: str
    category: Category
    summary: str
    find: Callable[[RuleContext], list[Candidate]]


RULES: dict[str, Rule] = {}


def rule(
    name: str, category: Category, summary: str
) -> Callable[[Callable[[RuleContext], list[Candidate]]], Callable[[RuleContext], list[Candidate]]]:
    """Register a rule function under ``name``."""

    def register(
        function: Callable[[RuleContext], list[Candidate]],
    ) -> Callable[[RuleContext], list[Candidate]]:
        if name in RULES:
            raise ValueError(f"rule {name!r} is registered twice")
        RULES[name] = Rule(name, category, summary, function)
        return function

    return register


def rules_in_order() -> list[Rule]:
    """Registered rules in ECRS order (stable within a category)."""
    return sorted(RULES.values(), key=lambda r: CATEGORY_ORDER[r.category])


# Importing the modules registers their rules.
from workflow.rules import combine, eliminate, rearrange, simplify  # noqa: E402, F401
