"""Plain-text rendering of an :class:`~workflow.analysis.Analysis` for the terminal."""

from __future__ import annotations

from workflow.analysis import Analysis, ProcessAnalysis
from workflow.proposals import Proposal

__all__ = ["format_minutes", "render_text"]


def format_minutes(minutes: float) -> str:
    """Minutes as days, hours and minutes (a day is 24 hours): ``format_minutes(1510)`` is
    ``'1d 1h 10m'``."""
    sign = "-" if minutes < 0 else ""
    total = round(abs(minutes))
    if total == 0 and abs(minutes) > 0:
        return f"{sign}{abs(minutes):.1f}m"
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if mins or not parts:
        parts.append(f"{mins}m")
    return sign + " ".join(parts)


def _process_block(item: ProcessAnalysis, top: int) -> list[str]:
    m = item.metrics
    p = item.process
    lines = [
        f"== {p.name} ({p.id}, {p.perspective.value.replace('_', ' ')})",
        f"   {m.cases_per_year:,.0f} cases a year, {m.step_count} steps",
    ]
    lead = f"   Lead time        {format_minutes(m.lead_minutes)} per case"
    if item.simulation:
        s = item.simulation
        lead += (
            f" (simulated {s.runs:,} cases: p50 {format_minutes(s.p50_lead_minutes)}, "
            f"p90 {format_minutes(s.p90_lead_minutes)})"
        )
    lines += [
        lead,
        f"   Touch time       {format_minutes(m.touch_minutes)} of work per case "
        f"({format_minutes(m.va_touch_minutes)} value-adding)",
        f"   PCE              {m.pce:.1%} (value-adding time / lead time)",
        f"   Flow efficiency  {m.flow_efficiency:.1%} (touch time / lead time)",
        f"   Handoffs         {m.handoffs:.2f} per case; customer touchpoints "
        f"{m.customer_touchpoints:.2f}",
        f"   Rolled %C&A      {m.rolled_pct_complete_accurate:.1f}%; rework "
        f"{m.rework_passes:.2f} passes per case ({format_minutes(m.rework_touch_minutes)} of work)",
        f"   Per year         {m.annual_hours:,.0f} staff hours, cost {m.annual_cost:,.0f}; "
        f"customers spend {m.annual_customer_hours:,.0f} hours",
    ]
    hotspots = item.hotspots(top)
    if hotspots:
        lines.append(f"   Top {len(hotspots)} steps by priority:")
        for i, s in enumerate(hotspots, start=1):
            lines.append(
                f"   {i:>2}. {s.name} [{s.step}]  priority {s.priority.value:.0f} "
                f"(effort {s.effort.value:.0f}, pain {s.pain.value:.0f}, value {s.value.value:.0f})"
            )
            for reason in s.reasons()[:4]:
                lines.append(f"       - {reason}")
    else:
        lines.append("   No working steps to score.")
    return lines


def _proposal_block(p: Proposal) -> list[str]:
    b, a = p.before, p.after
    lines = [
        f"{p.rank:>3}. [{p.category.value}] {p.title}",
        f"     id: {p.id}",
        f"     Why: {p.rationale}",
        f"     Saves: {p.hours_saved_per_year:,.0f} staff hours and {p.cost_saved_per_year:,.0f} "
        f"a year; lead time {format_minutes(b.lead_minutes)} -> "
        f"{format_minutes(a.lead_minutes)}; handoffs {b.handoffs:.2f} -> {a.handoffs:.2f}; "
        f"PCE {b.pce:.1%} -> {a.pce:.1%}",
    ]
    if p.lanes_affected:
        lines.append(f"     Lanes affected: {', '.join(p.lanes_affected)}")
    for item in p.evidence[:5]:
        lines.append(f"     Evidence: {item}")
    for item in p.risks:
        lines.append(f"     Risk: {item}")
    return lines


def render_text(analysis: Analysis, *, top: int = 5, proposals: int = 10) -> str:
    """The analysis as text: metrics and hotspots per process, then ranked proposals."""
    lines = [f"{analysis.model.name} - analysis as of {analysis.as_of.isoformat()}", ""]
    for item in analysis.processes:
        lines += _process_block(item, top)
        lines.append("")
    shown = analysis.proposals[:proposals] if proposals > 0 else analysis.proposals
    if shown:
        total = len(analysis.proposals)
        lines.append(f"== Proposals, best first ({len(shown)} of {total})")
        for proposal in shown:
            lines += _proposal_block(proposal)
            lines.append("")
        lines.append("Apply with: leanlane propose FILE --apply ID[,ID...]|all -o simplified.yaml")
    else:
        lines.append("== No proposals: no rule found anything to simplify.")
    return "\n".join(lines).rstrip() + "\n"
