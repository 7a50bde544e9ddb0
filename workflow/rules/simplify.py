"""Simplify: automate, turn rubber-stamp approvals into rules, inform before being asked,
and get input right where it is first captured.

These rules change how a step is done rather than whether it exists, so their after-figures rest
on stated assumptions (the constants below); every rationale says which one it used.
"""

from __future__ import annotations

from workflow.edits import InsertBefore, ScaleBranch, UpdateStep
from workflow.model import Step
from workflow.rules import Candidate, Category, RuleContext, rule
from workflow.vocabulary import BRANCHING_KINDS, FlagCategory, LaneKind, StepKind, ValueClass

__all__ = [
    "approval_to_rule",
    "automate_system_work",
    "fix_input_at_source",
    "proactive_status",
]

#: Share of manual time that remains once system work is automated (exceptions, monitoring).
AUTOMATION_REMAINING = 0.1
#: Staff hours a year below which automating a step is not worth an integration.
AUTOMATION_MIN_HOURS = 100.0
#: An approval that stops fewer cases than this is a rubber stamp.
APPROVAL_MAX_REJECT = 0.05
#: Share of status-chasing contacts that proactive updates prevent.
CHASING_PREVENTED = 0.8
#: Share of incomplete input that validation at the source prevents.
INPUT_FIXED = 0.75
#: A rework branch at least this likely is worth fixing at its source.
REWORK_MIN_SHARE = 0.1


@rule(
    "automate_system_work",
    Category.SIMPLIFY,
    "Automate high-volume manual work in a system (keying, look-ups, copying between systems).",
)
def automate_system_work(ctx: RuleContext) -> list[Candidate]:
    found = []
    for step in ctx.process.steps():
        if step.kind is not StepKind.SYSTEM or step.touch_minutes <= 0:
            continue
        lane = ctx.process.lane(step.lane)
        if lane is not None and lane.kind is LaneKind.SYSTEM:
            continue
        hours = ctx.annual_hours(step)
        if hours < AUTOMATION_MIN_HOURS:
            continue
        visits = ctx.visits(step.id)
        new_touch = step.touch_minutes * AUTOMATION_REMAINING
        saved = visits * (step.touch_minutes - new_touch + step.wait_minutes)
        systems = ", ".join(step.systems) or "the system"
        found.append(
            Candidate(
                rule="automate_system_work",
                targets=(step.id,),
                title=f"Automate '{step.name}'",
                rationale=(
                    f"'{step.name}' is manual work in {systems}: {hours:,.0f} staff hours a year. "
                    f"An integration or a bot can do it as the case arrives, leaving "
                    f"{AUTOMATION_REMAINING:.0%} of the time for exceptions and no queue."
                ),
                evidence=(
                    f"{hours:,.0f} staff hours a year ({visits:.2f} passes x "
                    f"{step.touch_minutes:g} min per case)",
                    f"step kind 'system' done by {lane.name if lane else 'a person'}",
                    *ctx.flag_evidence(step),
                ),
                edits=(
                    UpdateStep(
                        step.id,
                        (("touch_minutes", new_touch), ("wait_minutes", 0.0)),
                    ),
                ),
                risks=(
                    "needs an integration or robotic automation, and someone to maintain it",
                    "exceptions the automation cannot handle still need a person",
                ),
                estimate=saved,
            )
        )
    return found


def _pass_share(ctx: RuleContext, step_id: str) -> float:
    shares = ctx.process.branch_shares(step_id)
    if len(shares) == 1:
        nxt = shares[0][0]
        nxt_step = ctx.step(nxt)
        if nxt_step.kind is StepKind.DECISION and nxt_step.touch_minutes == 0:
            shares = ctx.process.branch_shares(nxt)  # "approved?" gateway after the approval
    return max(share for _, share in shares)


@rule(
    "approval_to_rule",
    Category.SIMPLIFY,
    "Replace an approval that almost never rejects with a business rule; people see exceptions.",
)
def approval_to_rule(ctx: RuleContext) -> list[Candidate]:
    found = []
    for step in ctx.process.steps():
        if step.kind is not StepKind.APPROVAL or step.protected:
            continue
        visits = ctx.visits(step.id)
        if visits <= 0:
            continue
        passed = _pass_share(ctx, step.id)
        rejected = 1 - passed
        if rejected >= APPROVAL_MAX_REJECT:
            continue
        new_touch = step.touch_minutes * AUTOMATION_REMAINING
        saved = visits * (step.touch_minutes - new_touch + step.wait_minutes)
        flags = ctx.open_flags(step, FlagCategory.TOO_MANY_APPROVALS, FlagCategory.WAITING)
        evidence = [
            f"passes {passed:.1%} of cases" + (" (no reject path at all)" if rejected == 0 else ""),
            f"cases wait {step.wait_minutes:g} min for it; {step.touch_minutes:g} min of "
            "approver time each",
            *ctx.flag_evidence(step),
        ]
        found.append(
            Candidate(
                rule="approval_to_rule",
                targets=(step.id,),
                title=f"Turn '{step.name}' into a rule",
                rationale=(
                    f"'{step.name}' approves {passed:.1%} of cases: it is a rubber stamp that "
                    f"makes every case wait {step.wait_minutes:g} min. Write its criteria down as "
                    "a rule the system applies at once, and send only the exceptions to the "
                    f"approver ({AUTOMATION_REMAINING:.0%} of today's effort)."
                    + (f" {len(flags)} flag(s) complain about it." if flags else "")
                ),
                evidence=tuple(evidence),
                edits=(
                    UpdateStep(
                        step.id,
                        (
                            ("name", f"Approve by rule: {step.name}"),
                            ("kind", StepKind.SYSTEM),
                            ("touch_minutes", new_touch),
                            ("wait_minutes", 0.0),
                        ),
                    ),
                ),
                risks=(
                    f"loses a person's judgement on the {rejected:.1%} of cases it stops today: "
                    "audit a sample",
                    "the criteria must be written down and kept current",
                ),
                estimate=saved,
            )
        )
    return found


def _notify_lane(ctx: RuleContext, fallback: str | None) -> str | None:
    for lane in ctx.process.lanes:
        if lane.kind is LaneKind.SYSTEM:
            return lane.id
    return fallback


@rule(
    "proactive_status",
    Category.SIMPLIFY,
    "Tell people where their case is before they have to chase it.",
)
def proactive_status(ctx: RuleContext) -> list[Candidate]:
    graph = ctx.process.graph
    found = []
    for step in ctx.process.steps():
        chasing = ctx.open_flags(step, FlagCategory.CHASING_STATUS)
        if not chasing or not step.is_task_like:
            continue
        branch_from = ctx.only_predecessor(step.id)
        branching = (
            branch_from is not None
            and graph.out_degree(branch_from) > 1
            and ctx.step(branch_from).kind is not StepKind.PARALLEL_SPLIT
        )
        anchor = branch_from if branching else step.id
        anchor_step = ctx.step(anchor)
        if anchor_step.kind in (StepKind.START, StepKind.PARALLEL_JOIN):
            continue
        notify_id = f"notify_{step.id}"
        n = 2
        while notify_id in graph:
            notify_id, n = f"notify_{step.id}_{n}", n + 1
        notify = Step(
            notify_id,
            "Send proactive status update",
            StepKind.SYSTEM,
            lane=_notify_lane(ctx, anchor_step.lane),
            customer_name="We tell you where your case stands and what happens next",
            channel="email or SMS",
            value_class=ValueClass.VA,
            customer_value=3,
        )
        edits: list = [InsertBefore(notify, anchor)]
        saved = 0.0
        if branching:
            share = dict(ctx.process.branch_shares(branch_from))[step.id]
            if share >= 1:
                continue
            edits.append(ScaleBranch(branch_from, step.id, 1 - CHASING_PREVENTED))
            saved = ctx.visits(step.id) * CHASING_PREVENTED * step.duration_minutes
        people = sum(f.people for f in chasing)
        effect = (
            f"assuming updates prevent {CHASING_PREVENTED:.0%} of these contacts"
            if branching
            else "the chasing stops because nobody needs to ask"
        )
        found.append(
            Candidate(
                rule="proactive_status",
                targets=(anchor,) if not branching else (branch_from, step.id),
                title=f"Send status updates instead of waiting for '{step.name}'",
                rationale=(
                    f"{people} {'people' if people > 1 else 'person'} flagged '{step.name}' as "
                    f"chasing for status: failure demand. Send an update at each milestone "
                    f"before anyone has to ask; {effect}."
                ),
                evidence=tuple(ctx.flag_evidence(step)),
                edits=tuple(edits),
                risks=("updates must be accurate and timely, or they create more calls",),
                estimate=saved + 1.0,
            )
        )
    return found


def _rework_branches(ctx: RuleContext) -> list[tuple[str, str, str]]:
    """(check, first step of its rework branch, loop entry) for every rework loop."""
    graph = ctx.process.graph
    result = []
    for source, entry, flow in ctx.process.flows():
        if not flow.rework:
            continue
        node, first = source, entry
        while True:
            step = ctx.step(node)
            if step.kind in BRANCHING_KINDS and graph.out_degree(node) > 1:
                result.append((node, first, entry))
                break
            pred = ctx.only_predecessor(node)
            if pred is None or graph.out_degree(pred) == 0:
                break
            if graph.out_degree(pred) > 1:
                if ctx.step(pred).kind in (StepKind.PARALLEL_SPLIT,):
                    break
                result.append((pred, node, entry))
                break
            node, first = pred, node
    return result


def _straight_run(ctx: RuleContext, entry: str, stop: str) -> list[str]:
    """Steps from ``entry`` towards ``stop`` while there is only one way on (an estimate's base)."""
    run: list[str] = []
    node: str | None = entry
    while node is not None and node != stop and node not in run:
        run.append(node)
        node = ctx.only_successor(node)
    return run


@rule(
    "fix_input_at_source",
    Category.SIMPLIFY,
    "Stop incomplete input where it enters (mandatory fields, checklists, pre-filled data).",
)
def fix_input_at_source(ctx: RuleContext) -> list[Candidate]:
    found = []
    seen: set[tuple[str, str]] = set()
    for check, first, entry in _rework_branches(ctx):
        if (check, first) in seen:
            continue
        seen.add((check, first))
        share = dict(ctx.process.branch_shares(check)).get(first, 0.0)
        check_step = ctx.step(check)
        if share < REWORK_MIN_SHARE and check_step.pct_complete_accurate >= 90:
            continue
        if share <= 0 or share >= 1:
            continue
        loop = [*_straight_run(ctx, entry, check), check, first]
        loop_minutes = sum(ctx.step(n).duration_minutes for n in dict.fromkeys(loop))
        visits = ctx.visits(check)
        saved = visits * share * INPUT_FIXED * loop_minutes
        pct = check_step.pct_complete_accurate
        new_pct = 100 - (100 - pct) * (1 - INPUT_FIXED)
        entry_step = ctx.step(entry)
        found.append(
            Candidate(
                rule="fix_input_at_source",
                targets=(check,),
                title=f"Get input right first time: fewer returns at '{check_step.name}'",
                rationale=(
                    f"'{check_step.name}' sends {share:.0%} of cases back to "
                    f"'{entry_step.name}' because the input is incomplete"
                    + (f" (only {pct:.0f}% arrives complete and accurate)" if pct < 100 else "")
                    + ". Validate it where it is first given (mandatory fields, a checklist, "
                    f"pre-filled data), assuming that prevents {INPUT_FIXED:.0%} of the returns."
                ),
                evidence=(
                    f"{share:.0%} of passes through '{check_step.name}' go round the loop again",
                    f"{ctx.metrics.rework_passes:.2f} rework passes per case in this process",
                    *ctx.flag_evidence(check_step),
                    *ctx.flag_evidence(entry_step),
                ),
                edits=(
                    ScaleBranch(check, first, 1 - INPUT_FIXED),
                    UpdateStep(check, (("pct_complete_accurate", new_pct),)),
                ),
                risks=("stricter input takes a little more effort from whoever gives it",),
                estimate=saved,
            )
        )
    return found
