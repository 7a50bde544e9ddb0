"""Options of the editor's select fields, built from the process being edited."""

from __future__ import annotations

from wtforms import SelectChoice

from workflow import model as engine
from workflow.vocabulary import StepKind

__all__ = [
    "default_place",
    "lane_choices",
    "place_choices",
    "place_value",
    "step_choices",
]

UNCONNECTED = ""


def place_value(source: str, target: str) -> str:
    """A flow as one option value (``>`` never appears in an id)."""
    return f"{source}>{target}"


def lane_choices(process: engine.Process, empty: str = "No lane") -> list[SelectChoice]:
    return [SelectChoice("", empty)] + [
        SelectChoice(lane.id, f"{lane.name} ({lane.id})") for lane in process.lanes
    ]


def step_choices(process: engine.Process, empty: str = "") -> list[SelectChoice]:
    options = [SelectChoice("", empty)] if empty else []
    return options + [SelectChoice(s.id, f"{s.name} ({s.id})") for s in process.steps()]


def place_choices(process: engine.Process) -> list[SelectChoice]:
    """Every flow a new step can be put on, plus "not connected yet"."""
    options = [
        SelectChoice(
            place_value(source, target),
            f"After “{process.step(source).name}”, before “{process.step(target).name}”",
        )
        for source, target, _ in process.flows()
    ]
    return [*options, SelectChoice(UNCONNECTED, "Not connected yet (saved as a draft)")]


def default_place(process: engine.Process) -> str:
    """Just before the (last) end step, so a new step extends the process by default."""
    chosen = UNCONNECTED
    for source, target, _ in process.flows():
        if process.step(target).kind is StepKind.END:
            chosen = place_value(source, target)
    return chosen


def parse_place(value: str | None) -> tuple[str, str] | None:
    if not value or ">" not in value:
        return None
    source, target = value.split(">", 1)
    return source, target
