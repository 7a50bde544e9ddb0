"""The closed word lists of the domain.

They live in one place so that the YAML loader, validation, scoring, rules and (later) forms all
accept exactly the same words and can tell a user the allowed values when a file uses another one.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BRANCHING_KINDS",
    "STRUCTURAL_KINDS",
    "TASK_LIKE_KINDS",
    "FlagCategory",
    "FlagSource",
    "FlagStatus",
    "LaneKind",
    "Layer",
    "Perspective",
    "StepKind",
    "ValueClass",
    "Waste",
    "allowed",
]


class Perspective(StrEnum):
    CUSTOMER_JOURNEY = "customer_journey"
    EMPLOYEE_PROCESS = "employee_process"


class StepKind(StrEnum):
    START = "start"
    END = "end"
    TASK = "task"
    DECISION = "decision"
    PARALLEL_SPLIT = "parallel_split"
    PARALLEL_JOIN = "parallel_join"
    WAIT = "wait"
    APPROVAL = "approval"
    HANDOFF = "handoff"
    SYSTEM = "system"
    SUBPROCESS = "subprocess"


#: Kinds that do work on a case and may be removed, merged or moved by a proposal.
TASK_LIKE_KINDS = frozenset(
    {
        StepKind.TASK,
        StepKind.WAIT,
        StepKind.APPROVAL,
        StepKind.HANDOFF,
        StepKind.SYSTEM,
        StepKind.SUBPROCESS,
    }
)

#: Kinds that mark the shape of a process and do no work: events and parallel gateways. They
#: are never removed or merged, carry no scores, and handoffs are counted through them.
STRUCTURAL_KINDS = frozenset(
    {StepKind.START, StepKind.END, StepKind.PARALLEL_SPLIT, StepKind.PARALLEL_JOIN}
)

#: Kinds whose outgoing flows are an exclusive choice by nature.
BRANCHING_KINDS = frozenset({StepKind.DECISION, StepKind.APPROVAL})


class LaneKind(StrEnum):
    ROLE = "role"
    TEAM = "team"
    SYSTEM = "system"
    CUSTOMER = "customer"
    PARTNER = "partner"


class Layer(StrEnum):
    """Service-blueprint row of a step."""

    CUSTOMER_ACTION = "customer_action"
    FRONTSTAGE = "frontstage"
    BACKSTAGE = "backstage"
    SUPPORT = "support"


class ValueClass(StrEnum):
    VA = "VA"  # the customer would pay for it
    BVA = "BVA"  # the business needs it (control, regulation)
    NVA = "NVA"  # neither


class Waste(StrEnum):
    """The eight wastes, DOWNTIME."""

    DEFECTS = "defects"
    OVERPRODUCTION = "overproduction"
    WAITING = "waiting"
    NON_UTILISED_TALENT = "non_utilised_talent"
    TRANSPORTATION = "transportation"
    INVENTORY = "inventory"
    MOTION = "motion"
    EXTRA_PROCESSING = "extra_processing"


class FlagSource(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"


class FlagCategory(StrEnum):
    """A DOWNTIME waste or a friction type a customer or clerk would name."""

    DEFECTS = "defects"
    OVERPRODUCTION = "overproduction"
    WAITING = "waiting"
    NON_UTILISED_TALENT = "non_utilised_talent"
    TRANSPORTATION = "transportation"
    INVENTORY = "inventory"
    MOTION = "motion"
    EXTRA_PROCESSING = "extra_processing"
    ASKED_TWICE = "asked_twice"
    UNCLEAR = "unclear"
    POINTLESS = "pointless"
    TOO_MANY_APPROVALS = "too_many_approvals"
    CHASING_STATUS = "chasing_status"
    SYSTEM_TROUBLE = "system_trouble"


class FlagStatus(StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    ADDRESSED = "addressed"
    WONT_FIX = "wont_fix"


def allowed(enum: type[StrEnum]) -> str:
    """The allowed values of a word list, for error messages."""
    return ", ".join(member.value for member in enum)
