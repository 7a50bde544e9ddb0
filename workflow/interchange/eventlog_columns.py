"""Which column of a log holds the case, the activity, the time, the resource and the role.

A user may name each column; the rest are found by name, first the pm4py / XES names
(``case:concept:name``, ``concept:name``, ``time:timestamp``, ``org:resource``, ``org:role``),
then common spreadsheet names. Names are compared ignoring case, spaces, ``_`` and ``-``, and a
column is never used for two purposes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from workflow.interchange.eventlog import (
    ACTIVITY,
    CASE,
    RESOURCE,
    ROLE,
    START,
    TIME,
    EventLogError,
)

__all__ = ["KNOWN_NAMES", "OPTION", "map_columns"]

#: Candidate names of each column, best first.
KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    CASE: (
        "case:concept:name",
        "case_id",
        "caseid",
        "case",
        "case_number",
        "trace_id",
        "process_instance",
        "instance_id",
        "ticket_id",
        "order_id",
    ),
    ACTIVITY: (
        "concept:name",
        "activity",
        "activity_name",
        "event_name",
        "task",
        "action",
        "step",
        "event",
    ),
    TIME: (
        "time:timestamp",
        "timestamp",
        "complete_timestamp",
        "end_timestamp",
        "completion_time",
        "end_time",
        "time",
        "datetime",
        "date",
    ),
    START: ("start_timestamp", "start_time", "starttime", "start"),
    RESOURCE: ("org:resource", "resource", "user", "performer", "employee", "agent"),
    ROLE: ("org:role", "role", "org:group", "group", "department", "team"),
}
#: The command-line option that names each column, for messages.
OPTION = {
    CASE: "--case",
    ACTIVITY: "--activity",
    TIME: "--timestamp",
    START: "--start-timestamp",
    RESOURCE: "--resource",
    ROLE: "--role",
}
REQUIRED = (CASE, ACTIVITY, TIME)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def _listing(header: Sequence[str]) -> str:
    names = ", ".join(repr(h) for h in header[:30])
    return names + (f" and {len(header) - 30} more" if len(header) > 30 else "")


def map_columns(
    header: Sequence[str], chosen: Mapping[str, str | None], source: str
) -> dict[str, int]:
    """The index in ``header`` of each column the log uses; optional ones only when present.

    ``chosen`` holds what the user named (``None`` = find it). Raises :class:`EventLogError`
    naming a missing column and listing the header.
    """
    found: dict[str, int] = {}
    used: set[int] = set()
    for purpose in KNOWN_NAMES:
        name = chosen.get(purpose)
        if name is None:
            continue
        if name not in header:
            close = [i for i, h in enumerate(header) if _key(h) == _key(name)]
            if not close:
                raise EventLogError(
                    f"{source}: there is no column {name!r} ({OPTION[purpose]}); the columns "
                    f"are {_listing(header)}"
                )
            found[purpose] = close[0]
        else:
            found[purpose] = header.index(name)
        used.add(found[purpose])
    keys = [_key(h) for h in header]
    for purpose, names in KNOWN_NAMES.items():
        if purpose in found:
            continue
        for name in names:
            matches = [i for i, k in enumerate(keys) if k == _key(name) and i not in used]
            if matches:
                found[purpose] = matches[0]
                used.add(matches[0])
                break
        if purpose not in found and purpose in REQUIRED:
            raise EventLogError(
                f"{source}: cannot tell which column holds the {purpose} "
                f"(name it with {OPTION[purpose]} COLUMN); the columns are {_listing(header)}"
            )
    return found
