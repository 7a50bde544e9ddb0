"""Engine invariants, tried on many generated processes."""

import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.analysis import analyze
from workflow.edits import RemoveStep, apply_edits
from workflow.generate import random_process
from workflow.metrics import compute_metrics
from workflow.model import ProcessModel
from workflow.proposals import apply_proposals, choose_compatible, conflicts
from workflow.rules import Category
from workflow.validate import check_process
from workflow.vocabulary import StepKind, ValueClass
from workflow.yaml_format import dumps_model, loads_model

TODAY = dt.date(2026, 11, 23)
processes = st.builds(
    lambda seed, size, lanes: random_process(random.Random(seed), size, lanes=lanes),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(3, 70),
    lanes=st.integers(1, 6),
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kept(step_id, proposed):
    """A step survives if it is still there or was merged into a step that records it."""
    return step_id in proposed or any(step_id in s.merged_from for s in proposed.steps())


@SETTINGS
@given(processes)
def test_generated_processes_are_valid(process):
    assert check_process(process) == []


@SETTINGS
@given(processes)
def test_metrics_stay_within_their_ranges(process):
    m = compute_metrics(process)
    assert all(v >= 0 for v in m.visits.values())
    assert sum(m.visits[e] for e in process.ends()) == pytest.approx(1.0)
    assert 0 <= m.pce <= m.flow_efficiency <= 1 + 1e-9
    assert m.lead_minutes >= m.lead_touch_minutes >= m.lead_va_touch_minutes >= 0
    assert m.touch_minutes >= m.lead_touch_minutes - 1e-6
    assert 0 < m.rolled_pct_complete_accurate <= 100
    assert all(m.first_pass_visits[n] <= v + 1e-9 for n, v in m.visits.items())


@SETTINGS
@given(processes)
def test_every_proposal_keeps_the_promises_of_the_engine(process):
    snapshot = process.fingerprint()
    analysis = analyze(ProcessModel("g", (process,)), as_of=TODAY, simulation_runs=0, limit=0)
    assert process.fingerprint() == snapshot, "the input process was changed"
    protected = [s.id for s in process.steps() if s.protected or s.value_class is ValueClass.VA]
    for proposal in analysis.proposals:
        proposed = proposal.proposed
        assert check_process(proposed) == [], proposal.id  # start reaches an end, shares sum to 1
        assert all(kept(s, proposed) for s in protected), proposal.id
        if proposal.category in (Category.ELIMINATE, Category.COMBINE):
            assert proposal.after.lead_minutes <= proposal.before.lead_minutes + 1e-6, proposal.id
        assert proposal.rationale and proposal.evidence


@SETTINGS
@given(processes)
def test_compatible_proposals_combine_into_a_valid_process(process):
    model = ProcessModel("g", (process,))
    analysis = analyze(model, as_of=TODAY, simulation_runs=0)
    chosen, skipped = choose_compatible(model, analysis.proposals)
    assert len(chosen) + len(skipped) == len(analysis.proposals)
    assert not conflicts(chosen)
    result = apply_proposals(process, chosen)
    assert check_process(result) == []
    assert all(
        kept(s.id, result) for s in process.steps() if s.protected or s.value_class is ValueClass.VA
    )


@SETTINGS
@given(processes, st.randoms(use_true_random=False))
def test_removing_any_removable_step_keeps_start_connected_to_an_end(process, rng):
    candidates = [
        s.id
        for s in process.steps()
        if s.kind not in (StepKind.START, StepKind.END)
        and not RemoveStep(s.id).problem(process.graph)
    ]
    if not candidates:
        return
    victim = rng.choice(candidates)
    result = apply_edits(process, [(RemoveStep(victim), "test")])
    assert check_process(result) == []
    assert compute_metrics(result).lead_minutes <= compute_metrics(process).lead_minutes + 1e-6


@SETTINGS
@given(processes)
def test_yaml_round_trip_of_generated_processes_is_lossless(process):
    again = loads_model(dumps_model(ProcessModel("g", (process,)))).processes[0]
    assert again.fingerprint() == process.fingerprint()
