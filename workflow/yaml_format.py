"""The human-editable YAML format (schema in ``docs/FORMAT.md``).

Loading is strict on purpose: unknown fields are rejected with a "did you mean" hint, every
problem carries the YAML line, and nothing but plain YAML is accepted (no custom tags, no
anchors or aliases, a size limit), so a shared file cannot execute code or blow up memory.
Saving writes only what differs from the defaults, in a stable order, so ``load(save(m)) == m``
and diffs between versions of a file stay small.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import fields as dataclass_fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from workflow.errors import ModelError, Problem
from workflow.model import CES_SCALE, CesAnswer, Flag, Flow, Lane, Link, Process, ProcessModel, Step
from workflow.performance import fewer_collections
from workflow.validate import check_model
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
    allowed,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
    "dumps_model",
    "load_model",
    "loads_draft",
    "loads_model",
    "model_to_data",
    "save_model",
]

FORMAT_VERSION = 1
MAX_FILE_BYTES = 10 * 1024 * 1024
#: libyaml's composer when PyYAML was built with it (about 10x faster), else the pure-Python one;
#: both only build nodes, which are then read by hand: no object is ever constructed from a tag.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TOP_FIELDS = ("leanlane", "name", "description", "processes")
_PROCESS_FIELDS = (
    "id",
    "name",
    "perspective",
    "description",
    "cases_per_year",
    "lanes",
    "steps",
    "flows",
)
_LANE_FIELDS = ("id", "name", "kind", "cost_per_hour", "description")
_STEP_FIELDS = (
    "id",
    "name",
    "kind",
    "lane",
    "layer",
    "touch_minutes",
    "wait_minutes",
    "cases_per_year",
    "value_class",
    "customer_value",
    "business_value",
    "required_by",
    "pct_complete_accurate",
    "waste",
    "systems",
    "inputs",
    "outputs",
    "customer_name",
    "channel",
    "description",
    "served_by",
    "flags",
    "ces",
    "merged_from",
    "rule",
)
_FLAG_FIELDS = (
    "id",
    "source",
    "category",
    "severity",
    "text",
    "idea",
    "date",
    "status",
    "me_too",
    "author",
    "anonymous",
)
_CES_FIELDS = ("score", "scale", "date")
_FLOW_FIELDS = ("from", "to", "probability", "rework", "label")


#: The only scalar types a Leanlane file may hold (PyYAML resolves plain scalars to these).
_PLAIN_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


class _Bad(Exception):
    """A value that cannot be read; the message says why."""


# --- YAML nodes to plain values, remembering lines -----------------------------------------------
class _Tree:
    """Plain Python values from a YAML node tree, with the line of every key and item."""

    def __init__(self) -> None:
        self.lines: dict[tuple[int, Any], int] = {}
        self.raw: dict[tuple[int, Any], str] = {}
        self._constructor = SafeConstructor()
        self._seen: set[int] = set()

    def convert(self, node: yaml.Node) -> Any:
        if id(node) in self._seen:
            raise _Bad("anchors and aliases (&name, *name) are not supported in Leanlane files")
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise _Bad(f"line {node.start_mark.line + 1}: unsupported tag {node.tag!r}")
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Bad(f"line {key_node.start_mark.line + 1}: keys must be plain words")
                key = key_node.value
                if key in result:
                    raise _Bad(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice")
                result[key] = self.convert(value_node)
                self.lines[(id(result), key)] = key_node.start_mark.line + 1
                if isinstance(value_node, yaml.ScalarNode):
                    self.raw[(id(result), key)] = value_node.value
            self.lines[(id(result), None)] = node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise _Bad(f"line {node.start_mark.line + 1}: unsupported tag {node.tag!r}")
            items: list[Any] = []
            for index, item_node in enumerate(node.value):
                items.append(self.convert(item_node))
                self.lines[(id(items), index)] = item_node.start_mark.line + 1
                if isinstance(item_node, yaml.ScalarNode):
                    self.raw[(id(items), index)] = item_node.value
            return items
        if node.tag not in _PLAIN_SCALAR_TAGS:
            raise _Bad(f"line {node.start_mark.line + 1}: unsupported tag {node.tag!r}")
        try:
            return self._constructor.construct_object(node)
        except ConstructorError as exc:
            raise _Bad(f"line {node.start_mark.line + 1}: {exc.problem}") from None
        except Exception:  # PyYAML raises KeyError, AttributeError... on odd explicit tags
            kind = node.tag.rsplit(":", 1)[-1]
            raise _Bad(
                f"line {node.start_mark.line + 1}: {node.value!r} cannot be read as a {kind}"
            ) from None


def _parse(text: str, source: str) -> tuple[Any, _Tree]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ModelError(
            [Problem("", f"file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit")],
            source,
        )
    tree = _Tree()
    try:
        node = yaml.compose(text, Loader=_LOADER)
        if node is None:
            raise _Bad("the file is empty")
        return tree.convert(node), tree
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        reason = exc.problem or str(exc)
        raise ModelError(
            [Problem("", f"not valid YAML: {reason}", mark.line + 1 if mark else None)], source
        ) from None
    except yaml.YAMLError as exc:
        raise ModelError([Problem("", f"not valid YAML: {exc}")], source) from None
    except RecursionError:
        raise ModelError([Problem("", "the YAML is nested too deeply")], source) from None
    except _Bad as exc:
        raise ModelError([Problem("", str(exc))], source) from None


# --- converters ----------------------------------------------------------------------------------
def _text(value: Any, raw: str | None) -> str:
    if isinstance(value, dict | list):
        raise _Bad("must be text")
    if value is None:
        return ""
    return raw if raw is not None else str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"must be a number (got {value!r})")
    try:
        number = float(value)
    except OverflowError:
        raise _Bad("is far too large") from None
    if math.isnan(number) or math.isinf(number):
        raise _Bad(f"must be a finite number (got {value!r})")
    return number


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _Bad(f"must be a whole number (got {value!r})")
    if abs(value) > 10**15:
        raise _Bad("is far too large")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false (got {value!r})")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _Bad(f"must be a date written YYYY-MM-DD (got {value!r})")


def _word(enum: type[StrEnum]) -> Callable[[Any], StrEnum]:
    def convert(value: Any) -> StrEnum:
        try:
            return enum(str(value))
        except ValueError:
            hint = difflib.get_close_matches(str(value), [m.value for m in enum], n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise _Bad(f"{value!r} is not one of: {allowed(enum)}{suggestion}") from None

    return convert


# --- reading -------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self.problems: list[Problem] = []
        self.locations: dict[str, int] = {}

    def line(self, container: Any, key: Any = None) -> int | None:
        return self.tree.lines.get((id(container), key)) or self.tree.lines.get(
            (id(container), None)
        )

    def problem(self, path: str, message: str, container: Any = None, key: Any = None) -> None:
        line = self.line(container, key) if container is not None else None
        self.problems.append(Problem(path, message, line))

    def mapping(self, value: Any, path: str, names: tuple[str, ...], parent: Any, key: Any) -> dict:
        if not isinstance(value, dict):
            self.problem(
                path, f"must be a mapping of fields (got {type(value).__name__})", parent, key
            )
            return {}
        for name in value:
            if name not in names:
                hint = difflib.get_close_matches(str(name), names, n=1)
                detail = f"did you mean {hint[0]!r}?" if hint else f"allowed: {', '.join(names)}"
                self.problem(
                    f"{path}.{name}",
                    f"unknown field ({detail})",
                    value,
                    name,
                )
        return value

    def sequence(self, data: dict, key: str, path: str) -> list:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{path}.{key}", "must be a list", data, key)
            return []
        return value

    def get(
        self,
        data: dict,
        key: str,
        path: str,
        convert: Callable[[Any], Any] | None = None,
        default: Any = None,
        *,
        required: bool = False,
    ) -> Any:
        if key not in data or data[key] is None:
            if required:
                self.problem(f"{path}.{key}", "is required", data)
            return default
        value = data[key]
        try:
            if convert is None:
                return _text(value, self.tree.raw.get((id(data), key)))
            return convert(value)
        except _Bad as exc:
            self.problem(f"{path}.{key}", str(exc), data, key)
            return default

    def words(
        self, data: dict, key: str, path: str, convert: Callable[[Any], Any] | None = None
    ) -> tuple:
        items = self.sequence(data, key, path)
        result = []
        for index, item in enumerate(items):
            try:
                if convert is None:
                    result.append(_text(item, self.tree.raw.get((id(items), index))))
                else:
                    result.append(convert(item))
            except _Bad as exc:
                self.problem(f"{path}.{key}[{index}]", str(exc), items, index)
        return tuple(result)

    # -- objects ---------------------------------------------------------------------------------
    def model(self, data: Any) -> ProcessModel:
        data = self.mapping(data, "", _TOP_FIELDS, None, None)
        version = data.get("leanlane")
        if version is None:
            self.problem("leanlane", f"is required: the format version, {FORMAT_VERSION}", data)
        elif isinstance(version, bool) or version != FORMAT_VERSION:
            self.problem(
                "leanlane",
                f"format version {version!r} is not supported (this Leanlane reads "
                f"{FORMAT_VERSION})",
                data,
                "leanlane",
            )
        name = self.get(data, "name", "", required=True, default="")
        description = self.get(data, "description", "", default="")
        processes: list[Process] = []
        links: list[Link] = []
        items = self.sequence(data, "processes", "")
        if not items and "processes" not in data:
            self.problem("processes", "is required: a list of processes", data)
        for index, item in enumerate(items):
            process = self.process(item, index, items, links)
            if process is not None:
                processes.append(process)
        return ProcessModel(
            name=name, processes=tuple(processes), links=tuple(links), description=description
        )

    def process(self, item: Any, index: int, parent: list, links: list[Link]) -> Process | None:
        raw_id = item.get("id") if isinstance(item, dict) else None
        path = f"processes[{raw_id if isinstance(raw_id, str) else index}]"
        data = self.mapping(item, path, _PROCESS_FIELDS, parent, index)
        if not data:
            return None
        self.locations[path] = self.line(data) or 0
        process_id = self.get(data, "id", path, required=True, default=f"#{index}")
        lanes = tuple(
            self.lane(lane, f"{path}.lanes[{i}]", lanes_list, i)
            for lanes_list in [self.sequence(data, "lanes", path)]
            for i, lane in enumerate(lanes_list)
        )
        steps: dict[str, Step] = {}
        for i, step_item in enumerate(steps_list := self.sequence(data, "steps", path)):
            step = self.step(step_item, path, steps_list, i, process_id, links)
            if step is None:
                continue
            if step.id in steps:
                self.problem(f"{path}.steps[{step.id}].id", "is used by two steps", step_item, "id")
                continue
            steps[step.id] = step
        if not steps and "steps" not in data:
            self.problem(f"{path}.steps", "is required: a list of steps", data)
        flows: list[tuple[str, str, Flow]] = []
        seen: set[tuple[str, str]] = set()
        for i, flow_item in enumerate(flows_list := self.sequence(data, "flows", path)):
            flow = self.flow(flow_item, path, flows_list, i, steps)
            if flow is None:
                continue
            key = (flow[0], flow[1])
            if key in seen:
                self.problem(f"{path}.flows[{key[0]} -> {key[1]}]", "appears twice", flows_list, i)
                continue
            seen.add(key)
            flows.append(flow)
        return Process.build(
            process_id,
            steps.values(),
            flows,
            name=self.get(data, "name", path, required=True, default=process_id),
            perspective=self.get(
                data, "perspective", path, _word(Perspective), Perspective.EMPLOYEE_PROCESS
            ),
            lanes=[lane for lane in lanes if lane is not None],
            volume=self.get(data, "cases_per_year", path, _number, 0.0),
            description=self.get(data, "description", path, default=""),
        )

    def lane(self, item: Any, fallback: str, parent: list, index: int) -> Lane | None:
        raw_id = item.get("id") if isinstance(item, dict) else None
        path = fallback.rsplit("[", 1)[0] + f"[{raw_id}]" if isinstance(raw_id, str) else fallback
        data = self.mapping(item, path, _LANE_FIELDS, parent, index)
        if not data:
            return None
        lane_id = self.get(data, "id", path, required=True, default="")
        return Lane(
            id=lane_id,
            name=self.get(data, "name", path, default=lane_id) or lane_id,
            kind=self.get(data, "kind", path, _word(LaneKind), LaneKind.ROLE),
            cost_per_hour=self.get(data, "cost_per_hour", path, _number, 0.0),
            description=self.get(data, "description", path, default=""),
        )

    def step(
        self, item: Any, base: str, parent: list, index: int, process_id: str, links: list[Link]
    ) -> Step | None:
        raw_id = item.get("id") if isinstance(item, dict) else None
        path = f"{base}.steps[{raw_id if isinstance(raw_id, str | int) else index}]"
        data = self.mapping(item, path, _STEP_FIELDS, parent, index)
        if not data:
            return None
        self.locations[path] = self.line(data) or 0
        step_id = self.get(data, "id", path, required=True, default="")
        if not step_id:
            return None
        for i, target in enumerate(self.words(data, "served_by", path)):
            if target.count("/") != 1:
                self.problem(
                    f"{path}.served_by[{i}]",
                    f"must be written process/step (got {target!r})",
                    data.get("served_by"),
                    i,
                )
                continue
            other_process, other_step = target.split("/")
            links.append(Link(process_id, step_id, other_process, other_step))
        volume = self.get(data, "cases_per_year", path, _number, None)
        return Step(
            id=step_id,
            name=self.get(data, "name", path, required=True, default=step_id),
            kind=self.get(data, "kind", path, _word(StepKind), StepKind.TASK),
            lane=self.get(data, "lane", path, default=None),
            layer=self.get(data, "layer", path, _word(Layer), None),
            touch_minutes=self.get(data, "touch_minutes", path, _number, 0.0),
            wait_minutes=self.get(data, "wait_minutes", path, _number, 0.0),
            volume=volume,
            value_class=self.get(data, "value_class", path, _word(ValueClass), None),
            customer_value=self.get(data, "customer_value", path, _whole, 0),
            business_value=self.get(data, "business_value", path, _whole, 0),
            required_by=self.get(data, "required_by", path, default=""),
            pct_complete_accurate=self.get(data, "pct_complete_accurate", path, _number, 100.0),
            waste=self.words(data, "waste", path, _word(Waste)),
            systems=self.words(data, "systems", path),
            inputs=self.words(data, "inputs", path),
            outputs=self.words(data, "outputs", path),
            customer_name=self.get(data, "customer_name", path, default=""),
            channel=self.get(data, "channel", path, default=""),
            description=self.get(data, "description", path, default=""),
            flags=tuple(
                flag
                for i, f in enumerate(self.sequence(data, "flags", path))
                if (flag := self.flag(f, f"{path}.flags[{i}]", data["flags"], i)) is not None
            ),
            ces=tuple(
                answer
                for i, a in enumerate(self.sequence(data, "ces", path))
                if (answer := self.ces(a, f"{path}.ces[{i}]", data["ces"], i)) is not None
            ),
            merged_from=self.words(data, "merged_from", path),
            rule=self.get(data, "rule", path, default=""),
        )

    def flag(self, item: Any, path: str, parent: list, index: int) -> Flag | None:
        data = self.mapping(item, path, _FLAG_FIELDS, parent, index)
        if not data:
            return None
        source = self.get(data, "source", path, _word(FlagSource), required=True)
        category = self.get(data, "category", path, _word(FlagCategory), required=True)
        severity = self.get(data, "severity", path, _whole, required=True)
        if source is None or category is None or severity is None:
            return None
        return Flag(
            source=source,
            category=category,
            severity=severity,
            text=self.get(data, "text", path, default=""),
            idea=self.get(data, "idea", path, default=""),
            date=self.get(data, "date", path, _date, None),
            status=self.get(data, "status", path, _word(FlagStatus), FlagStatus.NEW),
            me_too=self.get(data, "me_too", path, _whole, 0),
            author=self.get(data, "author", path, default=""),
            anonymous=self.get(data, "anonymous", path, _flag, False),
            id=self.get(data, "id", path, default=""),
        )

    def ces(self, item: Any, path: str, parent: list, index: int) -> CesAnswer | None:
        if not isinstance(item, dict):
            try:
                return CesAnswer(score=_whole(item))
            except _Bad as exc:
                self.problem(f"{path}.score", str(exc), parent, index)
                return None
        data = self.mapping(item, path, _CES_FIELDS, parent, index)
        score = self.get(data, "score", path, _whole, required=True)
        if score is None:
            return None
        return CesAnswer(
            score=score,
            scale=self.get(data, "scale", path, default=CES_SCALE) or CES_SCALE,
            date=self.get(data, "date", path, _date, None),
        )

    def flow(
        self, item: Any, base: str, parent: list, index: int, steps: Mapping[str, Step]
    ) -> tuple[str, str, Flow] | None:
        path = f"{base}.flows[{index}]"
        if isinstance(item, str):
            parts = [part.strip() for part in item.split("->")]
            if len(parts) != 2 or not all(parts):
                self.problem(
                    path, f"write a flow as 'source -> target' (got {item!r})", parent, index
                )
                return None
            source, target, flow = parts[0], parts[1], Flow()
        else:
            data = self.mapping(item, path, _FLOW_FIELDS, parent, index)
            if not data:
                return None
            source = self.get(data, "from", path, required=True)
            target = self.get(data, "to", path, required=True)
            if source is None or target is None:
                return None
            flow = Flow(
                probability=self.get(data, "probability", path, _number, None),
                rework=self.get(data, "rework", path, _flag, False),
                label=self.get(data, "label", path, default=""),
            )
        path = f"{base}.flows[{source} -> {target}]"
        self.locations[path] = self.line(parent, index) or 0
        ok = True
        for end, name in (("from", source), ("to", target)):
            if name not in steps:
                hint = difflib.get_close_matches(name, list(steps), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                self.problem(f"{path}.{end}", f"no step has id {name!r}{suggestion}", parent, index)
                ok = False
        return (source, target, flow) if ok else None


def _attach_lines(problems: list[Problem], locations: Mapping[str, int]) -> list[Problem]:
    placed = []
    for problem in problems:
        line = problem.line
        if line is None:
            path = problem.path
            while path and line is None:
                line = locations.get(path)
                cut = max(path.rfind("."), path.rfind("["))
                path = path[:cut] if cut > 0 else ""
        placed.append(Problem(problem.path, problem.message, line or None))
    return placed


def loads_model(text: str, source: str = "<text>") -> ProcessModel:
    """Read and validate a model; raise :class:`ModelError` naming every problem found."""
    with fewer_collections():
        return _read(text, source)


def loads_draft(text: str, source: str = "<text>") -> tuple[ProcessModel, list[Problem]]:
    """Read a model whose fields are valid but whose shape may not be finished yet.

    Raises :class:`ModelError` for field problems (a bad number, an unknown word); returns the
    shape problems (a step nobody reaches, probabilities that do not add up) beside the model,
    so an editor can keep a half-drawn process and say what is left to fix.
    """
    with fewer_collections():
        data, tree = _parse(text, source)
        reader = _Reader(tree)
        model = reader.model(data)
        if reader.problems:
            raise ModelError(reader.problems, source)
        return model, _attach_lines(check_model(model), reader.locations)


def _read(text: str, source: str) -> ProcessModel:
    data, tree = _parse(text, source)
    reader = _Reader(tree)
    model = reader.model(data)
    if reader.problems:
        raise ModelError(reader.problems, source)
    problems = check_model(model)
    if problems:
        raise ModelError(_attach_lines(problems, reader.locations), source)
    return model


def load_model(path: str | Path) -> ProcessModel:
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelError(
                [
                    Problem(
                        "", f"file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit"
                    )
                ],
                source,
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError([Problem("", "file not found")], source) from None
    except IsADirectoryError:
        raise ModelError([Problem("", "is a directory, not a file")], source) from None
    except UnicodeDecodeError:
        raise ModelError([Problem("", "is not UTF-8 text")], source) from None
    except OSError as exc:
        raise ModelError([Problem("", f"cannot be read: {exc.strerror}")], source) from None
    return loads_model(text, source)


# --- writing -------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _non_default(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclass_fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        if value != f.default:
            out[f.name] = _plain(value)
    return out


def _step_data(step: Step, served_by: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": step.id, "name": step.name}
    rest = _non_default(step, skip=("id", "name", "flags", "ces", "volume"))
    if step.volume is not None:
        rest["cases_per_year"] = _plain(step.volume)
    if served_by:
        rest["served_by"] = served_by
    if step.flags:
        rest["flags"] = [_non_default(flag) for flag in step.flags]
    if step.ces:
        rest["ces"] = [
            answer.score
            if answer.scale == CES_SCALE and answer.date is None
            else _non_default(answer) | {"score": answer.score}
            for answer in step.ces
        ]
    order = {name: i for i, name in enumerate(_STEP_FIELDS)}
    key_of = {"volume": "cases_per_year"}
    data.update(sorted(rest.items(), key=lambda kv: order.get(key_of.get(kv[0], kv[0]), 99)))
    return data


def _flow_data(source: str, target: str, flow: Flow) -> Any:
    if flow == Flow():
        return f"{source} -> {target}"
    data: dict[str, Any] = {"from": source, "to": target}
    data.update(_non_default(flow))
    return data


def model_to_data(model: ProcessModel) -> dict[str, Any]:
    """The model as plain data, in the shape the YAML file has."""
    processes = []
    for process in model.processes:
        served: dict[str, list[str]] = {}
        for link in model.links:
            if link.journey == process.id:
                served.setdefault(link.journey_step, []).append(f"{link.process}/{link.step}")
        data: dict[str, Any] = {
            "id": process.id,
            "name": process.name,
            "perspective": process.perspective.value,
        }
        if process.description:
            data["description"] = process.description
        if process.volume:
            data["cases_per_year"] = _plain(process.volume)
        data["lanes"] = [
            {"id": lane.id} | _non_default(lane, skip=("id",)) for lane in process.lanes
        ]
        data["steps"] = [_step_data(step, served.get(step.id, [])) for step in process.steps()]
        data["flows"] = [_flow_data(u, v, flow) for u, v, flow in process.flows()]
        processes.append(data)
    top: dict[str, Any] = {"leanlane": FORMAT_VERSION, "name": model.name}
    if model.description:
        top["description"] = model.description
    top["processes"] = processes
    return top


def dumps_model(model: ProcessModel) -> str:
    return yaml.safe_dump(
        model_to_data(model), sort_keys=False, allow_unicode=True, width=100, indent=2
    )


def save_model(model: ProcessModel, path: str | Path) -> None:
    Path(path).write_text(dumps_model(model), encoding="utf-8")
