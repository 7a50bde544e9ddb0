"""What an event log says about its process: the directly-follows graph and its times.

The figures are the ones pm4py 2.7 reports, computed the same way so the two agree to the
microsecond (checked on the corpus logs in the tests):

- ``dfg``: how often activity *b* directly follows activity *a* in the same case;
- ``performance_dfg_mean_s`` / ``..._median_s``: the time in seconds from *a*'s timestamp to
  *b*'s timestamp over those pairs (complete to complete, as pm4py does without a start column);
  like pm4py, the median is taken of float seconds (the two middle values converted exactly,
  then averaged), so a median halfway between two milliseconds rounds the same way;
- start and end activities: the first and last activity of each case;
- variants: the distinct activity sequences of the cases.

Beyond pm4py's, :class:`LogFacts` keeps what a Leanlane process needs: the mean service time of
each activity (complete minus start, where the log has start timestamps), the median time a case
waits before each activity, the most frequent lane (role, else resource) of each activity, and
the log's time span, and for each directly-follows pair the share of its occurrences where the
second activity had already happened earlier in the case (a return to earlier work: rework).
Everything is one pass of vectorised polars queries over the sorted log, grouped on integer
activity codes; only the small results carry names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workflow.interchange.eventlog import ACTIVITY, CASE, START, TIME, EventLog

__all__ = ["LogFacts", "discover", "facts_json"]

Pair = tuple[str, str]
MICRO = 1_000_000


@dataclass(frozen=True)
class LogFacts:
    """The discovered figures of one log (or of the cases a filter kept)."""

    source: str
    events: int
    cases: int
    activities: dict[str, int]
    start_activities: dict[str, int]
    end_activities: dict[str, int]
    dfg: dict[Pair, int]
    performance_mean_s: dict[Pair, float]
    performance_median_s: dict[Pair, float]
    variants: int
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    service_mean_s: dict[str, float] = field(default_factory=dict)
    wait_median_s: dict[str, float] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)
    repeat_share: dict[Pair, float] = field(default_factory=dict)

    @property
    def span_seconds(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds()


def _named(frame: pl.DataFrame, names: dict[int, str]) -> pl.DataFrame:
    """Activity codes (the categorical's physical ids) replaced by the activities' names; the
    heavy grouping runs on the integer codes, only the small results carry text."""
    mapping = pl.DataFrame(
        {"code": list(names), "text": list(names.values())},
        schema={"code": frame.schema["a"], "text": pl.String},
    )
    for column in ("a", "b"):
        if column in frame.columns:
            frame = (
                frame.join(mapping, left_on=column, right_on="code", how="left")
                .drop(column)
                .rename({"text": column})
            )
    return frame


def _counts(frame: pl.DataFrame, key: str = "a") -> dict[str, int]:
    return {name: int(n) for name, n in sorted(frame.select(key, "n").iter_rows())}


def _per_activity(frame: pl.DataFrame | None, minimum: float) -> dict[str, float]:
    if frame is None:
        return {}
    return {
        a: max(minimum, float(v)) for a, v in frame.select("a", "n").iter_rows() if v is not None
    }


def _pairs(frame: pl.DataFrame, column: str) -> dict[Pair, Any]:
    return {(a, b): v for a, b, v in sorted(frame.select("a", "b", column).iter_rows())}


def discover(log: EventLog, *, details: bool = True) -> LogFacts:
    """All figures of ``log``; ``details=False`` leaves out what only a process model needs
    (service and waiting times, lanes, the span), which is all ``discover --json`` prints."""
    frame = log.frame
    has_start = log.has_start and details
    lane = log.lane_column if details else None
    base = frame.lazy().select(
        pl.col(CASE).to_physical().alias("case"),
        pl.col(ACTIVITY).to_physical().alias("a"),
        pl.col(ACTIVITY).alias("name"),
        pl.col(TIME).dt.epoch("us").alias("t"),
        *([pl.col(START).dt.epoch("us").alias("s")] if has_start else []),
        *([pl.col(lane).alias("lane")] if lane else []),
    )
    same_case = pl.col("case") == pl.col("case").shift(-1)
    first_of_case = pl.col("case") != pl.col("case").shift(1).fill_null(-1)
    last_of_case = pl.col("case") != pl.col("case").shift(-1).fill_null(-1)
    follow_end = pl.col("s").shift(-1) if has_start else pl.col("t").shift(-1)
    repeated = (pl.col("a").cum_count().over("case", "a") > 1) if details else pl.lit(False)
    pairs = base.select(
        pl.col("a"),
        repeated.shift(-1).alias("again"),
        pl.col("a").shift(-1).alias("b"),
        (pl.col("t").shift(-1) - pl.col("t")).alias("d"),
        (follow_end - pl.col("t")).alias("w"),
        same_case.alias("same"),
    ).filter(pl.col("same"))
    queries = [
        pairs.group_by("a", "b").agg(
            pl.len().alias("n"),
            pl.col("d").cast(pl.Float64).sum().alias("sum"),
            pl.col("d").quantile(0.5, "lower").alias("low"),
            pl.col("d").quantile(0.5, "higher").alias("high"),
        ),
        base.group_by("a").agg(pl.len().alias("n"), pl.col("name").first().cast(pl.String)),
        base.filter(first_of_case).group_by("a").agg(pl.len().alias("n")),
        base.filter(last_of_case).group_by("a").agg(pl.len().alias("n")),
        base.group_by("case").agg(pl.col("a")).select(pl.col("a").n_unique().alias("n")),
        base.select(
            pl.col("case").n_unique().alias("n"),
            pl.col("t").min().alias("first"),
            pl.col("t").max().alias("last"),
        ),
    ]
    if details:
        queries.append(
            pairs.group_by("b").agg((pl.col("w").median() / MICRO).alias("n")).rename({"b": "a"})
        )
        queries.append(pairs.group_by("a", "b").agg(pl.col("again").mean().alias("n")))
    if has_start:
        queries.append(
            base.filter(pl.col("s").is_not_null())
            .group_by("a")
            .agg(((pl.col("t") - pl.col("s")).mean() / MICRO).alias("n"))
        )
    if lane:
        queries.append(
            base.filter(pl.col("lane").is_not_null())
            .group_by("a", "lane")
            .agg(pl.len().alias("n"))
            .sort(["a", "n", "lane"], descending=[False, True, False])
            .group_by("a", maintain_order=True)
            .first()
        )
    results = pl.collect_all(queries)
    dfg, activities, starts, ends, variants, totals = results[:6]
    rest = results[6:]
    wait = rest.pop(0) if details else None
    again = rest.pop(0) if details else None
    service = rest.pop(0) if has_start else None
    lanes = rest.pop(0) if lane else None
    cases, t_min, t_max = totals.row(0)
    names = dict(activities.select("a", "name").iter_rows())
    dfg, starts, ends = (_named(f, names) for f in (dfg, starts, ends))
    wait, service, lanes, again = (
        None if f is None else _named(f, names) for f in (wait, service, lanes, again)
    )
    activities = _named(activities.drop("name"), names)
    return LogFacts(
        source=log.source,
        events=frame.height,
        cases=int(cases),
        activities=_counts(activities),
        start_activities=_counts(starts),
        end_activities=_counts(ends),
        dfg={k: int(v) for k, v in _pairs(dfg, "n").items()},
        performance_mean_s={
            (a, b): total / n / MICRO for a, b, n, total in dfg.select("a", "b", "n", "sum").rows()
        },
        performance_median_s={
            (a, b): _median_seconds(low, high)
            for a, b, low, high in dfg.select("a", "b", "low", "high").rows()
        },
        variants=int(variants.item()) if frame.height else 0,
        first=_moment(t_min) if details else None,
        last=_moment(t_max) if details else None,
        service_mean_s=_per_activity(service, minimum=0.0),
        wait_median_s=_per_activity(wait, minimum=0.0),
        repeat_share=_pairs(again, "n") if again is not None else {},
        lanes={a: str(v) for a, v in lanes.select("a", "lane").iter_rows()}
        if lanes is not None
        else {},
    )


def _median_seconds(low: int, high: int) -> float:
    """The median of durations given in microseconds, as numpy takes it of float seconds: the
    middle value, or the mean of the two middle values. Python divides exactly here, where
    polars would multiply by the reciprocal and could land one unit in the last place off."""
    return (low / MICRO + high / MICRO) / 2


def _moment(micros: int | None) -> dt.datetime | None:
    if micros is None:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))


def _milliseconds(seconds: float) -> float:
    """Seconds rounded to the millisecond (Python's correctly rounded ``round``), as in pm4py's
    reference files."""
    return round(seconds, 3)


def facts_json(facts: LogFacts, tool: str = "leanlane") -> dict[str, Any]:
    """The unfiltered facts in the shape of pm4py's reference files (``expected/*.json``):
    counts as ``{activity: n}``, graphs as sorted ``[a, b, value]`` triples, seconds rounded to
    the millisecond."""

    def triples(values: dict[Pair, Any], rounded: bool = False) -> list[list[Any]]:
        return [[a, b, _milliseconds(v) if rounded else v] for (a, b), v in sorted(values.items())]

    return {
        "source": Path(facts.source).name,
        "tool": tool,
        "events": facts.events,
        "cases": facts.cases,
        "activities": facts.activities,
        "start_activities": facts.start_activities,
        "end_activities": facts.end_activities,
        "dfg": triples(facts.dfg),
        "performance_dfg_mean_s": triples(facts.performance_mean_s, rounded=True),
        "performance_dfg_median_s": triples(facts.performance_median_s, rounded=True),
        "variants": facts.variants,
    }
