"""Keeping the main paths of a log, so the discovered process stays readable.

``keep_main_variants(log, 0.8)`` keeps the most frequent variants (distinct activity sequences)
that together cover at least 80% of the cases, and drops the other cases whole. Filtering whole
cases, rather than rare edges, keeps every kept case a real path from its first to its last
activity, so the process built from the result has no step that cannot finish and its
probabilities are those of real cases. Variants with equal counts are taken in the order of
their activity sequence, so the result does not depend on the order of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workflow.interchange.eventlog import ACTIVITY, CASE, EventLog, EventLogError

__all__ = ["Kept", "keep_main_variants"]


@dataclass(frozen=True)
class Kept:
    """The filtered log and what the filter did, for the model's description."""

    log: EventLog
    variants: int
    variants_kept: int
    cases: int
    cases_kept: int

    @property
    def share(self) -> float:
        return self.cases_kept / self.cases if self.cases else 0.0


def keep_main_variants(log: EventLog, keep: float) -> Kept:
    """The cases of the most frequent variants covering at least ``keep`` (0 < keep <= 1) of
    the cases; always at least the most frequent variant."""
    if not 0 < keep <= 1:
        raise EventLogError(f"--keep must be above 0 and at most 1 (got {keep:g})")
    frame = log.frame
    per_case = (
        frame.lazy()
        .group_by(pl.col(CASE).to_physical().alias("code"), maintain_order=True)
        .agg(pl.col(ACTIVITY).cast(pl.String).alias("variant"))
    )
    variants = (
        per_case.group_by("variant")
        .agg(pl.len().alias("n"))
        .sort(["n", "variant"], descending=[True, False], maintain_order=True)
        .with_columns(pl.col("n").cum_sum().shift(1, fill_value=0).alias("before"))
        .collect()
    )
    cases = int(variants["n"].sum())
    needed = keep * cases
    chosen = variants.filter((pl.col("before") < needed - 1e-9) | (pl.int_range(pl.len()) == 0))
    kept_cases = (
        per_case.join(chosen.lazy().select("variant"), on="variant", how="semi")
        .select("code")
        .collect()
        .to_series()
    )
    kept = frame.filter(pl.col(CASE).to_physical().is_in(kept_cases.implode()))
    return Kept(
        log=EventLog(kept, log.source, log.columns),
        variants=variants.height,
        variants_kept=chosen.height,
        cases=cases,
        cases_kept=int(chosen["n"].sum()),
    )
