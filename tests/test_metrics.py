import random
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import line, process, step
from workflow.generate import random_process
from workflow.metrics import compute_metrics, expected_visits
from workflow.simulate import SimulationTooLong, simulate
from workflow.structure import find_parallel_blocks
from workflow.vocabulary import StepKind, ValueClass
from workflow.yaml_format import load_model

S, E, D = StepKind.START, StepKind.END, StepKind.DECISION
SPLIT, JOIN = StepKind.PARALLEL_SPLIT, StepKind.PARALLEL_JOIN
MODELS = sorted((Path(__file__).parent.parent / "process_models").glob("*.yaml"))


def rework_loop(p_back: float):
    return process(
        [
            step("s", S),
            step("w", touch_minutes=10, wait_minutes=20, lane="clerk"),
            step("c", D, touch_minutes=2, lane="boss"),
            step("e", E),
        ],
        [("s", "w"), ("w", "c"), ("c", "w", p_back, True), ("c", "e", 1 - p_back)],
    )


@pytest.mark.parametrize("p_back", [0.0, 0.1, 0.5, 0.9])
def test_a_rework_loop_gives_exactly_one_over_one_minus_p_passes(p_back):
    visits = expected_visits(rework_loop(p_back))
    assert visits["w"] == pytest.approx(1 / (1 - p_back))
    assert visits["e"] == pytest.approx(1.0)


def test_overlapping_loops_match_the_flow_equations_solved_by_hand():
    # s -> a -> b -> c -> e ; b back to a (0.3) ; c back to a (0.2) ; c back to b (0.1)
    p = process(
        [step("s", S), step("a"), step("b", D), step("c", D), step("e", E)],
        [
            ("s", "a"),
            ("a", "b"),
            ("b", "a", 0.3, True),
            ("b", "c", 0.7),
            ("c", "a", 0.2, True),
            ("c", "b", 0.1, True),
            ("c", "e", 0.7),
        ],
    )
    # a = 1 + 0.3b + 0.2c ; b = a + 0.1c ; c = 0.7b
    matrix = np.array([[1, -0.3, -0.2], [-1, 1, -0.1], [0, -0.7, 1]])
    a, b, c = np.linalg.solve(matrix, [1, 0, 0])
    visits = expected_visits(p)
    assert (visits["a"], visits["b"], visits["c"]) == pytest.approx((a, b, c))


def test_first_pass_visits_leave_out_the_rework():
    p = rework_loop(0.25)
    metrics = compute_metrics(p)
    assert metrics.first_pass_visits["w"] == pytest.approx(1.0)
    assert metrics.rework_passes == pytest.approx(0.25 / 0.75)
    assert metrics.rework_touch_minutes == pytest.approx((1 / 0.75 - 1) * 12)


def parallel_block():
    return process(
        [
            step("s", S),
            step("split", SPLIT),
            step("a", touch_minutes=10, wait_minutes=50, lane="clerk", value_class=ValueClass.VA),
            step("b", touch_minutes=30, wait_minutes=0, lane="boss"),
            step("join", JOIN),
            step("z", touch_minutes=5, lane="clerk"),
            step("e", E),
        ],
        [
            ("s", "split"),
            ("split", "a"),
            ("split", "b"),
            ("a", "join"),
            ("b", "join"),
            ("join", "z"),
            ("z", "e"),
        ],
    )


def test_a_parallel_block_counts_its_longest_branch_in_lead_time():
    metrics = compute_metrics(parallel_block())
    assert metrics.lead_minutes == pytest.approx(60 + 5)
    assert metrics.touch_minutes == pytest.approx(45)  # all work done
    assert metrics.lead_touch_minutes == pytest.approx(15)  # work on the critical path
    assert metrics.visits["join"] == pytest.approx(1.0)


def test_pce_and_flow_efficiency_use_the_critical_path_and_stay_below_one():
    metrics = compute_metrics(parallel_block())
    assert metrics.pce == pytest.approx(10 / 65)
    assert metrics.flow_efficiency == pytest.approx(15 / 65)


def test_a_parallel_block_inside_a_loop_repeats_with_it():
    p = process(
        [
            step("s", S),
            step("split", SPLIT),
            step("a", touch_minutes=10),
            step("b", touch_minutes=20),
            step("join", JOIN),
            step("c", D),
            step("e", E),
        ],
        [
            ("s", "split"),
            ("split", "a"),
            ("split", "b"),
            ("a", "join"),
            ("b", "join"),
            ("join", "c"),
            ("c", "split", 0.5, True),
            ("c", "e", 0.5),
        ],
    )
    metrics = compute_metrics(p)
    assert metrics.visits["join"] == pytest.approx(2.0)
    assert metrics.lead_minutes == pytest.approx(2 * 20)


def test_handoffs_count_work_changing_lane_and_look_through_gateways():
    metrics = compute_metrics(parallel_block())
    # split fans out from nobody; a (clerk) -> join -> z (clerk): none; b (boss) -> z: one
    assert metrics.handoffs == pytest.approx(1.0)


def test_customer_touchpoints_count_customer_lane_work_only():
    p = line(step("a", lane="customer"), step("b", lane="customer"), lane="customer")
    assert compute_metrics(p).customer_touchpoints == pytest.approx(2.0)


def test_rolled_complete_and_accurate_is_the_product_along_a_line():
    p = line(step("a", pct_complete_accurate=80.0), step("b", pct_complete_accurate=50.0))
    assert compute_metrics(p).rolled_pct_complete_accurate == pytest.approx(40.0)


def test_annual_hours_and_cost_follow_volume_visits_and_lane_cost():
    p = rework_loop(0.5)  # w: 2 passes x 10 min (clerk 40/h); c: 2 x 2 min (boss 80/h)
    metrics = compute_metrics(p)
    assert metrics.annual_hours == pytest.approx(1000 * (20 + 4) / 60)
    assert metrics.annual_cost == pytest.approx(1000 * (20 / 60 * 40 + 4 / 60 * 80))


def test_a_measured_step_volume_replaces_the_derived_one():
    p = line(step("a", touch_minutes=60, lane="clerk", volume=10.0))
    assert compute_metrics(p).annual_hours == pytest.approx(10.0)


def assert_simulation_agrees(p, runs=20_000, seed=3):
    """Process figures within 2%; single steps, whose counts vary far more from case to case
    (a loop's passes are geometric), within 5% or 0.02 visits."""
    metrics = compute_metrics(p)
    sim = simulate(p, runs=runs, seed=seed)
    assert sim.mean_touch_minutes == pytest.approx(metrics.touch_minutes, rel=0.02)
    for node, visits in metrics.visits.items():
        assert sim.visits[node] == pytest.approx(visits, rel=0.05, abs=0.02), node
    return metrics, sim


@pytest.mark.parametrize("p_back", [0.1, 0.5])
def test_simulation_agrees_with_the_analytic_loop(p_back):
    metrics, sim = assert_simulation_agrees(rework_loop(p_back))
    assert sim.mean_lead_minutes == pytest.approx(metrics.lead_minutes, rel=0.02)
    assert sim.p50_lead_minutes <= sim.p90_lead_minutes


def test_simulation_agrees_on_parallel_blocks_with_fixed_branches():
    metrics, sim = assert_simulation_agrees(parallel_block(), runs=2000)
    assert sim.mean_lead_minutes == pytest.approx(metrics.lead_minutes, rel=0.02)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_simulation_cross_checks_every_shipped_process(path):
    for p in load_model(path).processes:
        metrics, sim = assert_simulation_agrees(p, runs=20_000)
        blocks = find_parallel_blocks(p)[0]
        if not blocks:
            assert sim.mean_lead_minutes == pytest.approx(metrics.lead_minutes, rel=0.02)
        else:
            # the mean of the slowest branch is at least the slowest mean branch
            assert sim.mean_lead_minutes >= metrics.lead_minutes * 0.98


@pytest.mark.parametrize("seed", range(5))
def test_simulation_agrees_on_generated_processes(seed):
    p = random_process(random.Random(seed), 40)
    assert_simulation_agrees(p, runs=20_000, seed=seed)


def test_the_same_seed_gives_the_same_simulation():
    p = rework_loop(0.3)
    assert simulate(p, 500, seed=9) == simulate(p, 500, seed=9)
    assert simulate(p, 500, seed=9) != simulate(p, 500, seed=10)


def test_a_case_that_never_ends_in_practice_is_stopped():
    with pytest.raises(SimulationTooLong):
        simulate(rework_loop(0.999999), runs=5, max_steps_per_case=1000)


def test_simulation_needs_at_least_one_run():
    with pytest.raises(ValueError, match="at least 1"):
        simulate(rework_loop(0.1), runs=0)
