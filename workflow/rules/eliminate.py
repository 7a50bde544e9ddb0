"""Eliminate: steps that add nothing for the customer or the business."""

from __future__ import annotations

from workflow.edits import RemoveStep
from workflow.model import Step
from workflow.rules import Candidate, Category, RuleContext, rule
from workflow.vocabulary import FlagCategory, ValueClass

__all__ = ["eliminate_nva"]


def _answers_a_defect(ctx: RuleContext, step: Step) -> bool:
    """Failure work (fixing a returned case, answering a chase) goes away when its cause does;
    removing the step alone would leave the cause and nobody handling it."""
    if any(flow.rework for _, _, flow in ctx.process.graph.out_edges(step.id, data="flow")):
        return True
    return bool(ctx.open_flags(step, FlagCategory.CHASING_STATUS))


@rule(
    "eliminate_nva",
    Category.ELIMINATE,
    "Remove a non-value-adding step no rule requires; its predecessors pass straight on.",
)
def eliminate_nva(ctx: RuleContext) -> list[Candidate]:
    found = []
    for step in ctx.process.steps():
        if step.value_class is not ValueClass.NVA or not step.is_task_like:
            continue
        if _answers_a_defect(ctx, step):
            continue
        visits = ctx.visits(step.id)
        edit = RemoveStep(step.id)
        if visits <= 0 or edit.problem(ctx.process.graph):
            continue
        minutes = visits * step.duration_minutes
        hours = ctx.annual_hours(step)
        evidence = ["value class NVA; no rule requires it (required_by is empty)"]
        if step.waste:
            evidence.append("waste seen: " + ", ".join(w.value for w in step.waste))
        evidence.append(
            f"{visits:.2f} passes per case, {minutes:.0f} min per case, {hours:,.0f} staff hours "
            "a year"
        )
        evidence += ctx.flag_evidence(step)
        risks = ["someone may rely on it informally: ask the people who do it before removing"]
        if step.outputs:
            risks.append(
                "it records " + ", ".join(step.outputs) + ": make sure nothing downstream reads it"
            )
        found.append(
            Candidate(
                rule="eliminate_nva",
                targets=(step.id,),
                title=f"Eliminate '{step.name}'",
                rationale=(
                    f"'{step.name}' adds no value for the customer or the business and no rule "
                    f"requires it, yet it takes {minutes:.0f} min of each case's time and "
                    f"{hours:,.0f} staff hours a year. Remove it and pass cases straight on."
                ),
                evidence=tuple(evidence),
                edits=(edit,),
                risks=tuple(risks),
                estimate=minutes,
            )
        )
    return found
