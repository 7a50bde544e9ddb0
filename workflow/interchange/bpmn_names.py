"""The BPMN 2.0 words Leanlane reads and writes, and how they map to its own.

One table per question (which elements are flow nodes, which step kind a task type becomes,
which names mean the customer), so the importer, the exporter and the documentation
(``docs/BPMN.md``) agree.
"""

from __future__ import annotations

import hashlib
import re

from workflow.validate import ID_PATTERN
from workflow.vocabulary import StepKind

__all__ = [
    "BPMN",
    "BPMNDI",
    "CUSTOMER_WORDS",
    "DC",
    "DI",
    "EVENTS",
    "FLOW_NODES",
    "GATEWAYS",
    "LEANLANE",
    "SUBPROCESSES",
    "TASK_KINDS",
    "XSI",
    "is_customer_name",
    "leanlane_id",
    "local",
    "words_of",
]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: Leanlane's own attributes inside ``extensionElements``: a URN, so no server is implied.
LEANLANE = "urn:leanlane:bpmn:1"

#: Task types and the step kind each becomes. Automated work (service, script and business-rule
#: tasks) becomes ``system``; sending hands work over; receiving waits for someone else.
TASK_KINDS: dict[str, StepKind] = {
    "task": StepKind.TASK,
    "userTask": StepKind.TASK,
    "manualTask": StepKind.TASK,
    "serviceTask": StepKind.SYSTEM,
    "scriptTask": StepKind.SYSTEM,
    "businessRuleTask": StepKind.SYSTEM,
    "sendTask": StepKind.HANDOFF,
    "receiveTask": StepKind.WAIT,
}
EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "implicitThrowEvent",
    }
)
GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
SUBPROCESSES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
#: Everything BPMN calls a flow node in a process: what ``flow_nodes`` counts.
FLOW_NODES = frozenset(TASK_KINDS) | EVENTS | GATEWAYS | SUBPROCESSES | {"callActivity"}

#: Names of a pool or lane that mean the customer (whole words, any case, plural allowed).
CUSTOMER_WORDS = (
    "customer",
    "client",
    "consumer",
    "buyer",
    "shopper",
    "policyholder",
    "policy holder",
    "applicant",
    "claimant",
    "citizen",
    "resident",
    "taxpayer",
    "patient",
    "passenger",
    "guest",
    "tenant",
    "member",
    "subscriber",
    "caller",
    "requester",
    "requestor",
)
_CUSTOMER = re.compile(
    r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s*") for w in CUSTOMER_WORDS) + r")s?\b",
    re.IGNORECASE,
)

_WORDS = {
    "task": "Task",
    "userTask": "User task",
    "manualTask": "Manual task",
    "serviceTask": "Service task",
    "scriptTask": "Script task",
    "businessRuleTask": "Business rule task",
    "sendTask": "Send task",
    "receiveTask": "Receive task",
    "startEvent": "Start",
    "endEvent": "End",
    "intermediateCatchEvent": "Wait for event",
    "intermediateThrowEvent": "Signal event",
    "implicitThrowEvent": "Signal event",
    "boundaryEvent": "Boundary event",
    "exclusiveGateway": "Exclusive gateway",
    "parallelGateway": "Parallel gateway",
    "inclusiveGateway": "Inclusive gateway",
    "eventBasedGateway": "Event-based gateway",
    "complexGateway": "Complex gateway",
    "subProcess": "Sub-process",
    "adHocSubProcess": "Ad-hoc sub-process",
    "transaction": "Transaction",
    "callActivity": "Call activity",
}


def local(tag: object) -> str:
    """The local name of an element's tag (``{namespace}name`` -> ``name``)."""
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1]


def words_of(element_type: str) -> str:
    """Plain words for a BPMN element type, used as the name of an unnamed step."""
    return _WORDS.get(element_type, element_type)


def is_customer_name(name: str) -> bool:
    """Whether a pool or lane name means the customer.

    >>> is_customer_name("Policyholders"), is_customer_name("Claims team")
    (True, False)
    """
    return bool(_CUSTOMER.search(name))


def leanlane_id(raw: str, taken: set[str], fallback: str = "n") -> str:
    """A Leanlane id for a BPMN id, unique among ``taken`` (which it joins).

    BPMN ids are XML names: they may start with ``_``, hold any letter and be long; Leanlane ids
    are letters, digits, ``_``, ``-`` and ``.``, start with a letter or digit, and have at most
    100 characters. A valid id is kept as it is.

    >>> leanlane_id("_6-61", set())
    '6-61'
    >>> leanlane_id("Größe", set())
    'Gr_e'
    """
    candidate = re.sub(r"[^A-Za-z0-9_.\-]+", "_", raw).lstrip("_.-") or fallback
    if len(candidate) > 100:
        digest = hashlib.sha1(
            raw.encode("utf-8", "surrogatepass"), usedforsecurity=False
        ).hexdigest()[:10]
        candidate = f"{candidate[:89]}-{digest}"
    if not ID_PATTERN.match(candidate):
        candidate = f"{fallback}{candidate}"[:100]
    unique, n = candidate, 2
    while unique in taken:
        suffix = f"-{n}"
        unique = candidate[: 100 - len(suffix)] + suffix
        n += 1
    taken.add(unique)
    return unique
