"""Processes as networkx graphs.

A :class:`Process` wraps a :class:`networkx.DiGraph` whose nodes carry a frozen :class:`Step`
under the ``"step"`` attribute and whose edges carry a frozen :class:`Flow` under ``"flow"``.
Steps and flows are immutable values, so copying a process is a cheap graph copy and no engine
function can change a caller's process by accident: every transformation returns a new process.

A :class:`ProcessModel` is what one file holds: customer journeys, the employee processes behind
them, and the :class:`Link` records saying which employee steps serve which journey step.

Examples
--------
>>> p = Process.build(
...     "demo",
...     steps=[Step("s", "Start", StepKind.START), Step("t", "Work", touch_minutes=5),
...            Step("e", "Done", StepKind.END)],
...     flows=[("s", "t"), ("t", "e")],
... )
>>> [s.id for s in p.steps()]
['s', 't', 'e']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import networkx as nx

from workflow.vocabulary import (
    TASK_LIKE_KINDS,
    FlagCategory,
    FlagSource,
    FlagStatus,
    LaneKind,
    Layer,
    Perspective,
    StepKind,
    ValueClass,
    Waste,
)

__all__ = [
    "CES_SCALE",
    "CesAnswer",
    "Flag",
    "Flow",
    "Lane",
    "Link",
    "Process",
    "ProcessModel",
    "Step",
]

#: "The company made it easy for me to ..." answered on a 1-7 agree scale.
CES_SCALE = "ces_1_7"


@dataclass(frozen=True)
class Lane:
    """An actor: a role, a team, a system, a partner or the customer."""

    id: str
    name: str
    kind: LaneKind = LaneKind.ROLE
    cost_per_hour: float = 0.0
    description: str = ""

    @property
    def is_customer(self) -> bool:
        return self.kind is LaneKind.CUSTOMER


@dataclass(frozen=True)
class Flag:
    """A person's signal that a step is pointless or painful."""

    source: FlagSource
    category: FlagCategory
    severity: int
    text: str = ""
    idea: str = ""
    date: dt.date | None = None
    status: FlagStatus = FlagStatus.NEW
    me_too: int = 0
    author: str = ""
    anonymous: bool = False
    id: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in (FlagStatus.NEW, FlagStatus.UNDER_REVIEW)

    @property
    def people(self) -> int:
        """How many people raised it: the author plus everyone who said "me too"."""
        return 1 + self.me_too


@dataclass(frozen=True)
class CesAnswer:
    """One Customer Effort Score answer; the scale travels with every answer."""

    score: int
    scale: str = CES_SCALE
    date: dt.date | None = None


@dataclass(frozen=True)
class Step:
    """A node of a process. Times are minutes per visit; %C&A is a percentage."""

    id: str
    name: str
    kind: StepKind = StepKind.TASK
    lane: str | None = None
    layer: Layer | None = None
    touch_minutes: float = 0.0
    wait_minutes: float = 0.0
    volume: float | None = None
    value_class: ValueClass | None = None
    customer_value: int = 0
    business_value: int = 0
    required_by: str = ""
    pct_complete_accurate: float = 100.0
    waste: tuple[Waste, ...] = ()
    systems: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    customer_name: str = ""
    channel: str = ""
    description: str = ""
    flags: tuple[Flag, ...] = ()
    ces: tuple[CesAnswer, ...] = ()
    merged_from: tuple[str, ...] = ()
    rule: str = ""

    @property
    def protected(self) -> bool:
        """A rule or law requires the step: proposals may change it but never remove it."""
        return bool(self.required_by.strip())

    @property
    def is_task_like(self) -> bool:
        return self.kind in TASK_LIKE_KINDS

    @property
    def duration_minutes(self) -> float:
        return self.touch_minutes + self.wait_minutes

    def open_flags(self) -> list[Flag]:
        return [f for f in self.flags if f.is_open]


@dataclass(frozen=True)
class Flow:
    """An edge. ``probability`` is None where there is no choice (one way out, or a parallel
    split); on an exclusive choice every way out carries its share of cases."""

    probability: float | None = None
    rework: bool = False
    label: str = ""


@dataclass(frozen=True)
class Link:
    """Journey step ``journey_step`` of ``journey`` is served by ``step`` of ``process``."""

    journey: str
    journey_step: str
    process: str
    step: str


def _shares(kind: StepKind, out: Mapping[str, dict]) -> list[tuple[str, float]]:
    """Share of a step's tokens each way out carries, given the flows out of it."""
    if len(out) <= 1 or kind is StepKind.PARALLEL_SPLIT:
        return [(target, 1.0) for target in out]
    probabilities = [data["flow"].probability or 0.0 for data in out.values()]
    total = sum(probabilities)
    return [
        (target, p / total if total > 0 else 0.0)
        for target, p in zip(out, probabilities, strict=True)
    ]


@dataclass(frozen=True)
class Process:
    """One journey or employee process; the graph is owned by this object and never shared."""

    id: str
    name: str
    graph: nx.DiGraph = field(compare=False, repr=False)
    perspective: Perspective = Perspective.EMPLOYEE_PROCESS
    lanes: tuple[Lane, ...] = ()
    volume: float = 0.0
    description: str = ""

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        id: str,
        steps: Iterable[Step],
        flows: Iterable[tuple[str, str] | tuple[str, str, Flow]],
        *,
        name: str = "",
        perspective: Perspective = Perspective.EMPLOYEE_PROCESS,
        lanes: Sequence[Lane] = (),
        volume: float = 0.0,
        description: str = "",
    ) -> Process:
        """Build a process from steps and ``(source, target[, Flow])`` tuples."""
        graph = nx.DiGraph()
        for step in steps:
            graph.add_node(step.id, step=step)
        for item in flows:
            source, target = item[0], item[1]
            flow = item[2] if len(item) > 2 else Flow()
            graph.add_edge(source, target, flow=flow)
        return cls(
            id=id,
            name=name or id,
            graph=graph,
            perspective=perspective,
            lanes=tuple(lanes),
            volume=volume,
            description=description,
        )

    def with_graph(self, graph: nx.DiGraph) -> Process:
        """A process like this one around another graph."""
        return replace(self, graph=graph)

    # --- reading ------------------------------------------------------------------------------
    def step(self, step_id: str) -> Step:
        return self.graph.nodes[step_id]["step"]

    def steps(self) -> Iterator[Step]:
        for _, data in self.graph.nodes(data="step"):
            yield data

    def flow(self, source: str, target: str) -> Flow:
        return self.graph.edges[source, target]["flow"]

    def flows(self) -> Iterator[tuple[str, str, Flow]]:
        yield from self.graph.edges(data="flow")

    def __contains__(self, step_id: object) -> bool:
        return step_id in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    @property
    def is_journey(self) -> bool:
        return self.perspective is Perspective.CUSTOMER_JOURNEY

    def lane(self, lane_id: str | None) -> Lane | None:
        if lane_id is None:
            return None
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        return None

    def lane_map(self) -> dict[str, Lane]:
        return {lane.id: lane for lane in self.lanes}

    def start(self) -> str:
        """The id of the start step (validation guarantees exactly one)."""
        for step in self.steps():
            if step.kind is StepKind.START:
                return step.id
        raise LookupError(f"process {self.id!r} has no start step")

    def ends(self) -> list[str]:
        return [s.id for s in self.steps() if s.kind is StepKind.END]

    def branch_shares(self, step_id: str) -> list[tuple[str, float]]:
        """Each way out of a step with the share of the step's tokens it carries.

        A parallel split sends a token down every branch (share 1 each); an exclusive choice
        splits by probability, normalised so small rounding in a file cannot leak cases.
        """
        return _shares(self.step(step_id).kind, self.graph.succ[step_id])

    def share_table(self) -> dict[str, list[tuple[str, float]]]:
        """:meth:`branch_shares` of every step at once (one pass, for whole-process figures)."""
        nodes = self.graph.nodes
        return {
            node: _shares(nodes[node]["step"].kind, out) for node, out in self.graph.adjacency()
        }

    def is_customer_step(self, step: Step) -> bool:
        lane = self.lane(step.lane)
        return bool(lane and lane.is_customer)

    def fingerprint(self) -> tuple:
        """A hashable snapshot of everything the process holds, to prove it was not changed."""
        nodes = tuple(sorted((n, repr(d["step"])) for n, d in self.graph.nodes(data=True)))
        edges = tuple(sorted((u, v, repr(d["flow"])) for u, v, d in self.graph.edges(data=True)))
        return (repr(self), nodes, edges)


@dataclass(frozen=True)
class ProcessModel:
    """What one file holds: processes of both perspectives and the links between them."""

    name: str
    processes: tuple[Process, ...]
    links: tuple[Link, ...] = ()
    description: str = ""

    def process(self, process_id: str) -> Process:
        for process in self.processes:
            if process.id == process_id:
                return process
        raise KeyError(process_id)

    def replace_process(self, new: Process) -> ProcessModel:
        return replace(
            self,
            processes=tuple(new if p.id == new.id else p for p in self.processes),
        )

    def served_by(self, journey: str, journey_step: str) -> list[Link]:
        return [
            link
            for link in self.links
            if link.journey == journey and link.journey_step == journey_step
        ]

    def serves(self, process: str, step: str) -> list[Link]:
        return [link for link in self.links if link.process == process and link.step == step]
