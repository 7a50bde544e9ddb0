"""Process versions as JSON documents and back, through the YAML format (docs/FORMAT.md).

The JSON document of a process is its entry of a YAML model file, with flows always written as
objects; reading one goes through the same reader as an uploaded file, so the API accepts
exactly what the file format accepts and reports problems the same way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from web.api.blueprint import fail
from web.api.schemas import StepSchema
from workflow import model as engine
from workflow.errors import ModelError, Problem
from workflow.yaml_format import FORMAT_VERSION, loads_model

__all__ = ["document_data", "from_document", "from_yaml", "problem_fields"]

#: The fields of a step in the API's document (signals and links have endpoints of their own).
_STEP_OUT = frozenset(StepSchema().fields)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _flow_out(flow: Any) -> dict[str, Any]:
    if isinstance(flow, str):
        source, _, target = flow.partition("->")
        return {"source": source.strip(), "target": target.strip()}
    data = {k: v for k, v in flow.items() if k not in ("from", "to")}
    return {"source": flow["from"], "target": flow["to"], **data}


def document_data(document: str) -> dict[str, Any]:
    """A stored version's process as the API's JSON document."""
    # _LOADER is yaml.CSafeLoader or yaml.SafeLoader: no object is ever constructed.
    process = yaml.load(document, Loader=_LOADER)["processes"][0]  # nosec B506
    data: dict[str, Any] = {
        "name": process.get("name") or process["id"],
        "perspective": process["perspective"],
    }
    for name in ("description", "cases_per_year"):
        if name in process:
            data[name] = process[name]
    data["lanes"] = list(process.get("lanes") or [])
    data["steps"] = [
        {k: v for k, v in step.items() if k in _STEP_OUT} for step in process.get("steps") or []
    ]
    data["flows"] = [_flow_out(flow) for flow in process.get("flows") or []]
    return data


_PROCESS_PART = re.compile(r"^processes\[[^\]]*\]\.?")


def _api_path(path: str, prefix: str) -> str:
    path = _PROCESS_PART.sub("", path).replace("[", ".").replace("]", "")
    return f"{prefix}.{path}" if path else prefix


def problem_fields(problems: list[Problem], prefix: str) -> dict[str, str]:
    """Problems of a model as the error's ``fields``, keyed by where they are in the request."""
    found: dict[str, str] = {}
    for problem in problems:
        key = _api_path(problem.path, prefix)
        text = f"line {problem.line}: {problem.message}" if problem.line else problem.message
        found[key] = f"{found[key]} {text}" if key in found else text
    return found


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def from_document(document: dict[str, Any], key: str) -> engine.Process:
    """The engine process of a JSON document (validated like a model file), or a 422."""
    process: dict[str, Any] = {
        "id": key,
        "name": document["name"],
        "perspective": document["perspective"],
    }
    for name in ("description", "cases_per_year"):
        if document.get(name) is not None:
            process[name] = document[name]
    process["lanes"] = _clean(list(document.get("lanes") or []))
    process["steps"] = _clean(list(document.get("steps") or []))
    process["flows"] = [
        {"from": f["source"], "to": f["target"]}
        | _clean({k: v for k, v in f.items() if k not in ("source", "target")})
        for f in document.get("flows") or []
    ]
    text = yaml.safe_dump(
        {"leanlane": FORMAT_VERSION, "name": document["name"], "processes": [process]},
        sort_keys=False,
        allow_unicode=True,
    )
    try:
        return loads_model(text, "").processes[0]
    except ModelError as exc:
        fail(
            422,
            "The process is not valid: " + str(exc),
            code="invalid_process",
            fields=problem_fields(exc.problems, "process"),
        )


def from_yaml(text: str) -> engine.Process:
    """The one process of a YAML model file, or a 422."""
    try:
        model = loads_model(text, "")
    except ModelError as exc:
        fail(
            422,
            "The YAML is not a valid Leanlane model: " + str(exc),
            code="invalid_process",
            fields={"yaml": " ".join(str(p) for p in exc.problems[:20])},
        )
    if len(model.processes) != 1:
        fail(
            422,
            "A new version holds one process; this file has "
            f"{len(model.processes)}. Import several processes with POST /processes/import.",
            code="invalid_process",
            fields={"yaml": "Give exactly one process."},
        )
    return model.processes[0]
