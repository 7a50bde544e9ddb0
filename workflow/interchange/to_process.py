"""Turning discovered log facts into a Leanlane process a person can read and analyse.

The mapping (documented for users in docs/DISCOVERY.md):

- one ``start`` and one ``end`` step; one task per activity, named like the activity;
- where an activity (or the start) is followed by more than one activity, or ends some cases and
  not others, a ``decision`` step "After <activity>" follows it, with one flow per way out whose
  probability is the share of directly-follows counts (rounded to 4 places, never 0, summing
  to exactly 1);
- a flow from *a* to *b* is marked ``rework`` when, in at least half of the times *b* directly
  followed *a*, the case had already done *b* before: the case went back to earlier work. A
  repeated activity (*a* followed by *a*) is always rework;
- lanes: the most frequent role of each activity, or its most frequent resource when the log
  has no roles;
- touch minutes: the mean service time (complete minus start) where the log has start times,
  else 0; wait minutes: the median time from the previous event of the case to the activity's
  start (or, without start times, to its completion, which then includes the work itself);
- cases per year: all cases of the log (not only the kept ones) over its time span, a span of
  less than a day counting as one day.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from workflow.interchange.discovery import LogFacts
from workflow.model import Flow, Lane, Process, ProcessModel, Step
from workflow.validate import MAX_CASES, MAX_MINUTES, validate_process
from workflow.vocabulary import LaneKind, Perspective, StepKind

__all__ = ["facts_to_model", "facts_to_process", "slug"]

START_ID = "start"
END_ID = "end"
SECONDS_PER_YEAR = 365.2425 * 86_400
PROBABILITY_DIGITS = 4
#: A flow is rework when at least this share of its cases had done the target activity before.
REWORK_SHARE = 0.5


def slug(text: str, fallback: str = "step") -> str:
    """A Leanlane id from free text: accents dropped, then letters, digits, ``_``, ``-``, ``.``;
    at most 90 long."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^A-Za-z0-9_.\-]+", "-", plain.strip().lower()).strip("-_.")[:90]
    return value.strip("-_.") or fallback


class _Ids:
    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.used = set(reserved)

    def take(self, text: str, fallback: str) -> str:
        base = slug(text, fallback)
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            candidate = f"{base}-{n}"
        self.used.add(candidate)
        return candidate


def _probabilities(counts: list[int]) -> list[float]:
    """Shares of ``counts``, rounded, none 0, adding up to exactly 1 (the largest absorbs it)."""
    total = sum(counts)
    unit = 10.0**-PROBABILITY_DIGITS
    shares = [max(unit, round(c / total, PROBABILITY_DIGITS)) for c in counts]
    largest = max(range(len(shares)), key=lambda i: shares[i])
    shares[largest] = round(1 - (sum(shares) - shares[largest]), PROBABILITY_DIGITS)
    return shares


def _minutes(seconds: float | None) -> float:
    if seconds is None:
        return 0.0
    return min(MAX_MINUTES, round(max(0.0, seconds) / 60, 2))


def facts_to_process(
    facts: LogFacts,
    *,
    process_id: str,
    name: str,
    cases_per_year: float,
    description: str = "",
    has_start_times: bool = False,
) -> Process:
    """A valid process from the facts of a (filtered) log; raises ModelError if it is not."""
    ids = _Ids([START_ID, END_ID])
    activity_ids = {activity: ids.take(activity, "activity") for activity in facts.activities}
    lane_ids: dict[str, str] = {}
    lane_names = _Ids()
    for value in sorted(set(facts.lanes.values())):
        lane_ids[value] = lane_names.take(value, "lane")
    lanes = tuple(Lane(lane_id, value, LaneKind.ROLE) for value, lane_id in lane_ids.items())

    successors: dict[str, list[tuple[str, int]]] = {
        START_ID: [(activity_ids[a], n) for a, n in facts.start_activities.items()]
    }
    for (a, b), n in facts.dfg.items():
        successors.setdefault(activity_ids[a], []).append((activity_ids[b], n))
    for a, n in facts.end_activities.items():
        successors.setdefault(activity_ids[a], []).append((END_ID, n))
    back = {
        (activity_ids[a], activity_ids[b])
        for (a, b), share in facts.repeat_share.items()
        if share >= REWORK_SHARE
    }

    steps = [
        Step(START_ID, "Case starts", StepKind.START),
        Step(END_ID, "Case ends", StepKind.END),
    ]
    for activity, step_id in activity_ids.items():
        lane_value = facts.lanes.get(activity)
        steps.append(
            Step(
                step_id,
                activity,
                lane=lane_ids.get(lane_value) if lane_value is not None else None,
                touch_minutes=_minutes(facts.service_mean_s.get(activity))
                if has_start_times
                else 0.0,
                wait_minutes=_minutes(facts.wait_median_s.get(activity)),
                description=f"{facts.activities[activity]:,} events in the log",
            )
        )
    names = {step.id: step for step in steps}
    flows: list[tuple[str, str, Flow]] = []
    for source, ways in successors.items():
        ways = sorted(ways, key=lambda item: (-item[1], item[0]))
        if len(ways) == 1 and ways[0][0] != source:
            target = ways[0][0]
            flows.append((source, target, Flow(rework=(source, target) in back)))
            continue
        label = names[source].name
        decision = ids.take(f"after-{source}", "decision")
        steps.append(
            Step(
                decision,
                "Which first step?" if source == START_ID else f"After {label}",
                StepKind.DECISION,
                lane=names[source].lane,
            )
        )
        flows.append((source, decision, Flow()))
        shares = _probabilities([n for _, n in ways])
        for (target, _n), share in zip(ways, shares, strict=True):
            flows.append(
                (decision, target, Flow(probability=share, rework=(source, target) in back))
            )
    process = Process.build(
        process_id,
        steps,
        flows,
        name=name,
        perspective=Perspective.EMPLOYEE_PROCESS,
        lanes=lanes,
        volume=min(MAX_CASES, round(cases_per_year, 2)),
        description=description,
    )
    return validate_process(process, facts.source)


def cases_per_year(facts: LogFacts) -> float:
    """All cases of the log over its time span in years (at least a day)."""
    span = max(facts.span_seconds, 86_400.0)
    return facts.cases * SECONDS_PER_YEAR / span


def facts_to_model(
    facts: LogFacts,
    whole: LogFacts,
    *,
    name: str,
    summary: str,
    has_start_times: bool,
) -> ProcessModel:
    """The model file for the kept cases' ``facts``; ``whole`` (all cases) sets the volume."""
    process = facts_to_process(
        facts,
        process_id=slug(name, "discovered"),
        name=name,
        cases_per_year=cases_per_year(whole),
        description=summary,
        has_start_times=has_start_times,
    )
    return ProcessModel(name, (process,), description=summary)
