"""Leanlane's own attributes inside BPMN ``extensionElements``.

BPMN has no words for touch and wait time, value classes, wastes or flags, so an exported file
carries them in elements of the Leanlane namespace (:data:`~workflow.interchange.bpmn_names.
LEANLANE`), one per step, flow, lane and process. Modelling tools keep extension elements they
do not understand, so a process can go out to a modeller and come back without losing them.
Writing and reading live side by side here so that the two cannot drift apart; a value that
does not read back (a hand-edited file) is skipped with a warning, never trusted.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from workflow.interchange.bpmn_names import BPMN, LEANLANE, local
from workflow.model import CES_SCALE, CesAnswer, Flag, Flow, Lane, Step
from workflow.vocabulary import (
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
    "ProcessExtras",
    "Reading",
    "extension_of",
    "flow_element",
    "lane_element",
    "process_element",
    "read_flow",
    "read_lane",
    "read_process",
    "read_step",
    "step_element",
]

_DEFAULT_STEP = Step("x", "x")
_DEFAULT_FLAG = Flag(FlagSource.STAFF, FlagCategory.WAITING, 1)


def _q(name: str) -> str:
    """A Leanlane tag as a parsed document names it."""
    return f"{{{LEANLANE}}}{name}"


def _w(name: str) -> str:
    """A Leanlane tag as the exporter writes it (the prefix is declared on the root)."""
    return f"leanlane:{name}"


def _number(value: float) -> str:
    """A number written so that it reads back exactly (``5`` rather than ``5.0``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return repr(float(value))


def _read_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _read_int(text: str) -> int:
    return int(text)


def _read_bool(text: str) -> bool:
    if text not in ("true", "false", "1", "0"):
        raise ValueError("not true or false")
    return text in ("true", "1")


def _read_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _enum(kind: type[StrEnum]) -> Callable[[str], StrEnum]:
    return kind


#: Step fields written as attributes: (XML attribute, Step field, reader).
_STEP_ATTRIBUTES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("id", "id", str),
    ("kind", "kind", _enum(StepKind)),
    ("layer", "layer", _enum(Layer)),
    ("touchMinutes", "touch_minutes", _read_float),
    ("waitMinutes", "wait_minutes", _read_float),
    ("casesPerYear", "volume", _read_float),
    ("valueClass", "value_class", _enum(ValueClass)),
    ("customerValue", "customer_value", _read_int),
    ("businessValue", "business_value", _read_int),
    ("requiredBy", "required_by", str),
    ("pctCompleteAccurate", "pct_complete_accurate", _read_float),
    ("customerName", "customer_name", str),
    ("channel", "channel", str),
    ("rule", "rule", str),
)
#: Step fields holding lists of words or text: (child element, Step field, reader).
_STEP_LISTS: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("waste", "waste", _enum(Waste)),
    ("system", "systems", str),
    ("input", "inputs", str),
    ("output", "outputs", str),
    ("mergedFrom", "merged_from", str),
)
_FLAG_ATTRIBUTES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("id", "id", str),
    ("source", "source", _enum(FlagSource)),
    ("category", "category", _enum(FlagCategory)),
    ("severity", "severity", _read_int),
    ("text", "text", str),
    ("idea", "idea", str),
    ("date", "date", _read_date),
    ("status", "status", _enum(FlagStatus)),
    ("meToo", "me_too", _read_int),
    ("author", "author", str),
    ("anonymous", "anonymous", _read_bool),
)


def _text(value: Any) -> str:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return _number(value)
    return str(value)


@dataclass
class Reading:
    """Warnings collected while reading extension values of one file."""

    warnings: list[str] = field(default_factory=list)

    def value(
        self, element: ET.Element, attribute: str, reader: Callable[[str], Any], where: str
    ) -> Any:
        raw = element.get(attribute)
        if raw is None:
            return None
        try:
            return reader(raw)
        except (ValueError, TypeError):
            self.warnings.append(
                f"{where}: Leanlane attribute {attribute}={raw!r} cannot be read; ignored"
            )
            return None


def extension_of(element: ET.Element, name: str) -> ET.Element | None:
    """The Leanlane extension element ``name`` of a BPMN element, if it has one."""
    for container in element:
        if local(container.tag) == "extensionElements" and container.tag.startswith(f"{{{BPMN}}}"):
            found = container.find(_q(name))
            if found is not None:
                return found
    return None


def _changed_attributes(obj: Any, default: Any, table) -> dict[str, str]:
    result = {}
    for attribute, name, _ in table:
        value = getattr(obj, name)
        if name == "id" or value != getattr(default, name):
            if value is None:
                continue
            result[attribute] = _text(value)
    return result


def step_element(step: Step) -> ET.Element:
    """``<leanlane:step>`` with every attribute of ``step`` that differs from the default.

    The name and description travel as BPMN's own ``name`` and ``documentation``.
    """
    attributes = _changed_attributes(step, _DEFAULT_STEP, _STEP_ATTRIBUTES)
    element = ET.Element(_w("step"), attributes | {"kind": step.kind.value})
    for child, name, _ in _STEP_LISTS:
        for item in getattr(step, name):
            ET.SubElement(element, _w(child)).text = _text(item)
    for flag in step.flags:
        ET.SubElement(
            element,
            _w("flag"),
            _changed_attributes(flag, _DEFAULT_FLAG, _FLAG_ATTRIBUTES)
            | {
                "source": flag.source.value,
                "category": flag.category.value,
                "severity": _text(flag.severity),
            },
        )
    for answer in step.ces:
        attributes = {"score": _text(answer.score)}
        if answer.scale != CES_SCALE:
            attributes["scale"] = answer.scale
        if answer.date is not None:
            attributes["date"] = answer.date.isoformat()
        ET.SubElement(element, _w("ces"), attributes)
    return element


def read_step(element: ET.Element, reading: Reading, where: str) -> dict[str, Any]:
    """The Step fields an ``<leanlane:step>`` element holds (only those that read cleanly)."""
    values: dict[str, Any] = {}
    for attribute, name, reader in _STEP_ATTRIBUTES:
        value = reading.value(element, attribute, reader, where)
        if value is not None:
            values[name] = value
    lists: dict[str, list] = {name: [] for _, name, _ in _STEP_LISTS}
    flags: list[Flag] = []
    answers: list[CesAnswer] = []
    by_child = {child: (name, reader) for child, name, reader in _STEP_LISTS}
    for child in element:
        tag = local(child.tag)
        if tag in by_child:
            name, reader = by_child[tag]
            try:
                lists[name].append(reader(child.text or ""))
            except ValueError:
                reading.warnings.append(
                    f"{where}: Leanlane {tag} {child.text!r} is not a known value; ignored"
                )
        elif tag == "flag":
            flag = _read_flag(child, reading, where)
            if flag is not None:
                flags.append(flag)
        elif tag == "ces":
            score = reading.value(child, "score", _read_int, where)
            if score is not None:
                answers.append(
                    CesAnswer(
                        score,
                        child.get("scale") or CES_SCALE,
                        reading.value(child, "date", _read_date, where),
                    )
                )
    for name, items in lists.items():
        if items:
            values[name] = tuple(items)
    if flags:
        values["flags"] = tuple(flags)
    if answers:
        values["ces"] = tuple(answers)
    return values


def _read_flag(element: ET.Element, reading: Reading, where: str) -> Flag | None:
    values = {}
    for attribute, name, reader in _FLAG_ATTRIBUTES:
        value = reading.value(element, attribute, reader, where)
        if value is not None:
            values[name] = value
    if not {"source", "category", "severity"} <= values.keys():
        reading.warnings.append(
            f"{where}: a Leanlane flag lacks its source, category or severity; ignored"
        )
        return None
    known = {f.name for f in fields(Flag)}
    return Flag(**{k: v for k, v in values.items() if k in known})


def flow_element(flow: Flow) -> ET.Element:
    attributes = {}
    if flow.probability is not None:
        attributes["probability"] = _number(flow.probability)
    if flow.rework:
        attributes["rework"] = "true"
    return ET.Element(_w("flow"), attributes)


def read_flow(element: ET.Element, reading: Reading, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    probability = reading.value(element, "probability", _read_float, where)
    if probability is not None:
        values["probability"] = probability
    rework = reading.value(element, "rework", _read_bool, where)
    if rework is not None:
        values["rework"] = rework
    return values


def lane_element(lane: Lane) -> ET.Element:
    attributes = {"id": lane.id, "kind": lane.kind.value}
    if lane.cost_per_hour:
        attributes["costPerHour"] = _number(lane.cost_per_hour)
    return ET.Element(_w("lane"), attributes)


def read_lane(element: ET.Element, reading: Reading, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute, name, reader in (
        ("id", "id", str),
        ("kind", "kind", _enum(LaneKind)),
        ("costPerHour", "cost_per_hour", _read_float),
    ):
        value = reading.value(element, attribute, reader, where)
        if value is not None:
            values[name] = value
    return values


@dataclass(frozen=True)
class ProcessExtras:
    """What a ``<leanlane:process>`` element holds."""

    id: str | None = None
    perspective: Perspective | None = None
    volume: float | None = None


def process_element(process_id: str, perspective: Perspective, volume: float) -> ET.Element:
    attributes = {"id": process_id, "perspective": perspective.value}
    if volume:
        attributes["casesPerYear"] = _number(volume)
    return ET.Element(_w("process"), attributes)


def read_process(element: ET.Element, reading: Reading, where: str) -> ProcessExtras:
    return ProcessExtras(
        id=reading.value(element, "id", str, where),
        perspective=reading.value(element, "perspective", _enum(Perspective), where),
        volume=reading.value(element, "casesPerYear", _read_float, where),
    )
