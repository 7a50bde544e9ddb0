"""Metrics, scores and proposals of a process's current version, and the decisions on them.

Figures come from the analysis the review dashboard uses (cached per state of the
organisation's processes and signals), so the API and the pages always agree.
"""

from __future__ import annotations

from typing import Any

from flask import request

from web.analyses import analyses, simulation_runs
from web.api.auth import DECIDERS, READERS, api_user, roles
from web.api.blueprint import bp, fail
from web.api.schemas import (
    ApplyResultSchema,
    ApplySchema,
    DecisionResultSchema,
    DecisionSchema,
    MetricsSchema,
    ProposalListSchema,
    ScoreListSchema,
)
from web.database import db
from web.rendering import renderer, step_url
from web.security import process_or_404
from workflow.adapters import repository as repo
from workflow.adapters import tables as t
from workflow.analysis import ProcessAnalysis
from workflow.scoring import Score
from workflow.services import reviews
from workflow.services.errors import Forbidden, InvalidInput, NotFound
from workflow.services.review_analysis import OrgAnalysis, org_analysis

__all__ = ["measured"]


def _organisation_analysis() -> OrgAnalysis:
    user = api_user()
    return org_analysis(db(), user.organisation, analyses(), simulation_runs=simulation_runs())


def measured(row: t.Process) -> ProcessAnalysis:
    """The analysis of the current version, or a 422 saying why there is none."""
    parsed = repo.parse_document(repo.current_version(db(), row).document)
    if not parsed.valid:
        fail(
            422,
            "The current version has problems to fix before it can be measured: "
            + "; ".join(str(p) for p in parsed.problems[:10]),
            code="not_measurable",
        )
    found = _organisation_analysis()
    result = found.process(row.id)
    if result is None:
        reason = found.excluded.get(row.id, "it is not part of the organisation's analysis")
        fail(422, f"This process cannot be measured: {reason}", code="not_measurable")
    return result


@bp.route("/processes/<int:process_id>/metrics", methods=["GET"])
@roles(*READERS)
@bp.response(200, MetricsSchema)
def metrics(process_id: int):
    """Per-case figures (minutes) and yearly totals of the current version."""
    row = process_or_404(process_id)
    result = measured(row)
    return result.metrics.summary() | {
        "version": row.current_version,
        "visits": dict(result.metrics.visits),
        "simulation": result.simulation.summary() if result.simulation else None,
    }


def _score(score: Score) -> dict[str, Any]:
    return {
        "value": round(score.value, 2),
        "parts": [
            {"label": p.label, "points": round(p.points, 2), "detail": p.detail}
            for p in score.parts
        ],
    }


@bp.route("/processes/<int:process_id>/scores", methods=["GET"])
@roles(*READERS)
@bp.response(200, ScoreListSchema)
def scores(process_id: int):
    """Each step's effort, value, pain and priority with the parts they are made of, highest
    priority first (docs/SCORING.md)."""
    row = process_or_404(process_id)
    result = measured(row)
    items = [
        {
            "step": s.step,
            "name": s.name,
            "priority": _score(s.priority),
            "effort": _score(s.effort),
            "value": _score(s.value),
            "pain": _score(s.pain),
            "staff_signals": s.staff_signals,
            "customer_signals": s.customer_signals,
            "agreement": s.agreement,
            "reasons": s.reasons(),
        }
        for s in result.hotspots()
    ]
    return {"version": row.current_version, "items": items}


@bp.route("/processes/<int:process_id>/proposals", methods=["GET"])
@roles(*READERS)
@bp.response(200, ProposalListSchema)
def proposals(process_id: int):
    """The proposals for the current version, best first, with the team's decisions."""
    row = process_or_404(process_id)
    version = row.current_version
    parsed = repo.parse_document(repo.current_version(db(), row).document)
    found = _organisation_analysis() if parsed.valid else None
    if found is None or found.process(row.id) is None:
        reason = (
            "The current version has problems to fix first."
            if found is None
            else found.excluded.get(row.id, "It is not part of the organisation's analysis.")
        )
        return {"version": version, "measured": False, "unmeasured_reason": reason, "items": []}
    decisions = reviews.reviews_of(db(), row, version)
    items = []
    for proposal in found.proposals(row.id):
        review = decisions.get(proposal.id)
        items.append(
            proposal.to_dict()
            | {
                "version": version,
                "status": review.status if review else "open",
                "reason": review.reason if review else "",
            }
        )
    return {"version": version, "measured": True, "unmeasured_reason": "", "items": items}


def _decide(process_id: int, key: str, decision: str, data: dict) -> dict[str, Any]:
    row = process_or_404(process_id)
    user = api_user()
    try:
        review = reviews.decide(
            db(),
            user,
            user.organisation,
            row,
            key,
            decision,
            data["reason"],
            analyses(),
            version_number=data["version"],
            simulation_runs=simulation_runs(),
        )
    except reviews.StaleReview as exc:
        fail(409, str(exc), code="stale_version", fields={"version": str(exc)})
    except NotFound as exc:
        fail(404, str(exc))
    except Forbidden as exc:
        fail(403, str(exc))
    except InvalidInput as exc:
        if exc.field == "reason":
            fail(422, str(exc), fields={"reason": str(exc)})
        fail(409, str(exc), code="already_decided")
    db().commit()
    return {
        "id": review.proposal_key,
        "version": review.version_number,
        "status": review.status,
        "reason": review.reason,
    }


_DECISION_RESPONSES = {
    409: "The proposal is already in that state, or a newer version exists.",
}


@bp.route("/processes/<int:process_id>/proposals/<key>/accept", methods=["POST"])
@roles(*DECIDERS)
@bp.arguments(DecisionSchema)
@bp.response(200, DecisionResultSchema)
@bp.alt_response(409, description=_DECISION_RESPONSES[409])
def proposal_accept(data: dict, process_id: int, key: str):
    """Accept a proposal of the current version; its new linked flags go under review."""
    return _decide(process_id, key, "accept", data)


@bp.route("/processes/<int:process_id>/proposals/<key>/reject", methods=["POST"])
@roles(*DECIDERS)
@bp.arguments(DecisionSchema)
@bp.response(200, DecisionResultSchema)
@bp.alt_response(409, description=_DECISION_RESPONSES[409])
def proposal_reject(data: dict, process_id: int, key: str):
    """Reject a proposal, saying why (the reason is required)."""
    return _decide(process_id, key, "reject", data)


@bp.route("/processes/<int:process_id>/proposals/<key>/reopen", methods=["POST"])
@roles(*DECIDERS)
@bp.arguments(DecisionSchema)
@bp.response(200, DecisionResultSchema)
@bp.alt_response(409, description=_DECISION_RESPONSES[409])
def proposal_reopen(data: dict, process_id: int, key: str):
    """Take back an accept or reject decision."""
    return _decide(process_id, key, "reopen", data)


@bp.route("/processes/<int:process_id>/proposals/apply", methods=["POST"])
@roles(*DECIDERS)
@bp.arguments(ApplySchema)
@bp.response(200, ApplyResultSchema)
@bp.alt_response(409, description="A newer version exists than the one reviewed.")
def proposals_apply(data: dict, process_id: int):
    """Apply the accepted proposals of the current version into a new version; their linked
    flags become addressed and customers who asked are told."""
    row = process_or_404(process_id)
    user = api_user()
    try:
        result = reviews.apply_accepted(
            db(),
            user,
            user.organisation,
            row,
            analyses(),
            version_number=data["version"],
            renderer=renderer(),
            step_url=step_url,
            site_url=request.url_root,
            simulation_runs=simulation_runs(),
        )
    except reviews.StaleReview as exc:
        fail(409, str(exc), code="stale_version", fields={"version": str(exc)})
    except Forbidden as exc:
        fail(403, str(exc))
    except InvalidInput as exc:
        detail = " ".join([str(exc), *exc.problems[:20]])
        fail(422, str(exc), code="not_applicable", fields={exc.field or "version": detail})
    db().commit()
    return {
        "version": result.version.number,
        "applied": [r.proposal_key for r in result.applied],
        "flags_addressed": result.flags_addressed,
        "replies_queued": result.replies_queued,
    }
