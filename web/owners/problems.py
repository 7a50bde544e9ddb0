"""Shape problems of a draft version, told as what to fix and where to fix it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from workflow import model as engine
from workflow.errors import Problem

__all__ = ["Fix", "fixes"]

_STEP = re.compile(r"\.steps\[(?P<step>[^\]]+)\]")
_FLOW = re.compile(r"\.flows\[(?P<source>.+?) -> (?P<target>.+?)\]")

#: (words in the engine's message, what the owner should do, which page fixes it)
_ADVICE = (
    ("cannot be reached", "Add a flow into it from an earlier step, or delete it.", "in"),
    ("no incoming flow", "Add a flow into it from an earlier step, or delete it.", "in"),
    ("cannot reach an end", "Give it a way out that leads towards an end step.", "out"),
    ("no outgoing flow", "Give it a way out (only end steps may finish a case).", "out"),
    ("add up to", "Edit its ways out so their probabilities add up to 1.", "out"),
    ("needs a probability", "Give each way out a probability; together they make 1.", "out"),
    ("leave the probability out", "Clear the probability of that way out.", "out"),
    ("parallel split needs", "Add a second branch out of the split.", "out"),
    ("parallel join needs", "Bring a second branch into the join.", "in"),
    ("kind 'start'", "Keep exactly one step of kind Start: change the kind of the others.", ""),
    ("kind 'end'", "Add a step of kind End, or change a last step's kind to End.", ""),
    ("flow to itself", "Remove that flow; model a repeat with a decision and rework.", "out"),
    ("start step cannot have incoming", "Remove the flows into the start step.", ""),
    ("end step cannot have outgoing", "Remove the flows out of the end step.", "out"),
)


@dataclass(frozen=True)
class Fix:
    """One problem: what is wrong, what to do, and the step whose page fixes it."""

    message: str
    advice: str
    step_id: str | None
    step_name: str | None
    direction: str


def _step_of(problem: Problem) -> str | None:
    flow = _FLOW.search(problem.path)
    if flow:
        return flow.group("source")
    found = _STEP.search(problem.path)
    return found.group("step") if found else None


def fixes(process: engine.Process, problems: Iterable[Problem]) -> list[Fix]:
    found = []
    for problem in problems:
        step_id = _step_of(problem)
        if step_id is not None and step_id not in process:
            step_id = None
        advice, direction = "Correct it in the step or flow it names.", ""
        for words, text, where in _ADVICE:
            if words in problem.message:
                advice, direction = text, where
                break
        found.append(
            Fix(
                message=problem.message,
                advice=advice,
                step_id=step_id,
                step_name=process.step(step_id).name if step_id else None,
                direction=direction,
            )
        )
    return found
