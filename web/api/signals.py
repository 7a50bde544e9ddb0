"""Flags from staff and customers: list and read, flag a step, "me too", triage; and the
public feedback of customers on a journey, which needs no token (like the page it mirrors,
it is rate-limited and small)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, request, url_for
from sqlalchemy import func, select

from web.api.auth import ALL, DECIDERS, api_user, roles
from web.api.blueprint import bp, fail
from web.api.paging import page
from web.api.schemas import (
    FeedbackReceiptSchema,
    FeedbackSchema,
    FlagCreateSchema,
    FlagListArgsSchema,
    FlagPageSchema,
    FlagSchema,
    FlagStatusSchema,
    MeTooSchema,
    PublicJourneySchema,
)
from web.database import db
from web.extensions import limiter
from web.security import process_or_404
from workflow.adapters import tables as t
from workflow.services import feedback, reviews, signals
from workflow.services.errors import Forbidden, InvalidInput, NotFound
from workflow.services.words import CUSTOMER_CATEGORIES

#: A feedback body is a few kilobytes; anything much larger is not a person typing.
MAX_FEEDBACK_BYTES = 32 * 1024


@bp.before_request
def _small_feedback() -> None:
    if request.endpoint == "api.public_feedback":
        request.max_content_length = MAX_FEEDBACK_BYTES


def _views(rows: Sequence[tuple[t.Flag, str | None, str | None]]) -> list[dict[str, Any]]:
    """Flags as the caller may see them: an anonymous author's name only for admins and
    the author."""
    viewer = api_user()
    ids = [flag.id for flag, _name, _title in rows]
    votes: dict[int, int] = {}
    voted: set[int] = set()
    if ids:
        votes = dict(
            db()
            .execute(
                select(t.FlagVote.flag_id, func.count())
                .where(t.FlagVote.flag_id.in_(ids))
                .group_by(t.FlagVote.flag_id)
            )
            .all()
        )
        voted = set(
            db().scalars(
                select(t.FlagVote.flag_id).where(
                    t.FlagVote.flag_id.in_(ids), t.FlagVote.user_id == viewer.id
                )
            )
        )
    found = []
    for flag, name, title in rows:
        mine = flag.author_id is not None and flag.author_id == viewer.id
        shown = bool(name) and (not flag.anonymous or viewer.role == "admin" or mine)
        found.append(
            {
                "id": flag.id,
                "process_id": flag.process_id,
                "step_id": flag.step_id,
                "step_name": flag.step_name,
                "source": flag.source,
                "category": flag.category,
                "severity": flag.severity,
                "text": flag.text,
                "idea": flag.idea,
                "status": flag.status,
                "status_reason": flag.status_reason,
                "votes": votes.get(flag.id, 0),
                "author": name if shown else None,
                "mine": mine,
                "voted": flag.id in voted,
                "proposal": title,
                "reply_requested": reviews.wants_reply(flag),
                "created_at": flag.created_at,
                "updated_at": flag.updated_at,
            }
        )
    return found


def _query():
    return (
        select(t.Flag, t.User.name, t.ProposalReview.title)
        .outerjoin(t.User, t.User.id == t.Flag.author_id)
        .outerjoin(t.ProposalReview, t.ProposalReview.id == t.Flag.review_id)
        .where(t.Flag.org_id == api_user().org_id)
    )


def _flag_or_404(flag_id: int) -> dict[str, Any]:
    row = db().execute(_query().where(t.Flag.id == flag_id)).first()
    if row is None:
        fail(404, "There is no such flag.")
    return _views([tuple(row)])[0]


def _flag_row(flag_id: int) -> t.Flag:
    flag = db().scalar(
        select(t.Flag).where(t.Flag.id == flag_id, t.Flag.org_id == api_user().org_id)
    )
    if flag is None:
        fail(404, "There is no such flag.")
    return flag


@bp.route("/flags", methods=["GET"])
@roles(*ALL)
@bp.arguments(FlagListArgsSchema, location="query")
@bp.response(200, FlagPageSchema)
def flags_list(args: dict):
    """Flags of the organisation, newest first; filter by process, step, status and source."""
    query = _query()
    if args.get("process") is not None:
        query = query.where(t.Flag.process_id == args["process"])
    if args.get("step"):
        query = query.where(t.Flag.step_id == args["step"])
    if args.get("status"):
        query = query.where(t.Flag.status == args["status"])
    if args.get("source"):
        query = query.where(t.Flag.source == args["source"])
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        db()
        .execute(
            query.order_by(t.Flag.created_at.desc(), t.Flag.id.desc())
            .offset(args["offset"])
            .limit(args["limit"])
        )
        .all()
    )
    return page(_views([tuple(r) for r in rows]), total, args["limit"], args["offset"])


@bp.route("/flags/<int:flag_id>", methods=["GET"])
@roles(*ALL)
@bp.response(200, FlagSchema)
def flag(flag_id: int):
    """One flag."""
    return _flag_or_404(flag_id)


@bp.route("/processes/<int:process_id>/steps/<step_id>/flags", methods=["POST"])
@roles(*ALL)
@bp.arguments(FlagCreateSchema)
@bp.response(201, FlagSchema)
def flag_create(data: dict, process_id: int, step_id: str):
    """Flag a step of the current version as painful or pointless (a staff flag)."""
    row = process_or_404(process_id)
    try:
        created = signals.flag_step(db(), api_user(), row, step_id, **data)
    except NotFound as exc:
        fail(404, str(exc))
    except InvalidInput as exc:
        fail(422, str(exc), fields={exc.field or "body": str(exc)})
    db().commit()
    return _flag_or_404(created.id), 201, {"Location": url_for("api.flag", flag_id=created.id)}


def _me_too(flag_id: int, agree: bool) -> dict[str, Any]:
    try:
        agreed = signals.me_too(db(), api_user(), flag_id, agree=agree)
    except NotFound as exc:
        fail(404, str(exc))
    except Forbidden as exc:
        fail(403, str(exc), code="own_flag")
    except InvalidInput as exc:
        fail(409, str(exc), code="flag_closed")
    db().commit()
    return {"agreed": agreed, "votes": _flag_or_404(flag_id)["votes"]}


@bp.route("/flags/<int:flag_id>/me-too", methods=["POST"])
@roles(*ALL)
@bp.response(200, MeTooSchema)
@bp.alt_response(409, description="The flag is closed.")
def me_too(flag_id: int):
    """Say "me too" on someone else's open flag (once; saying it again changes nothing)."""
    return _me_too(flag_id, True)


@bp.route("/flags/<int:flag_id>/me-too", methods=["DELETE"])
@roles(*ALL)
@bp.response(200, MeTooSchema)
def me_too_withdraw(flag_id: int):
    """Take back your "me too"."""
    return _me_too(flag_id, False)


@bp.route("/flags/<int:flag_id>/status", methods=["POST"])
@roles(*DECIDERS)
@bp.arguments(FlagStatusSchema)
@bp.response(200, FlagSchema)
def flag_status(data: dict, flag_id: int):
    """Triage a flag; addressed and won't fix need a reason, which the flagger reads."""
    found = _flag_row(flag_id)
    try:
        reviews.set_flag_status(
            db(), api_user(), found, data["status"], data["reason"], site_url=request.url_root
        )
    except Forbidden as exc:
        fail(403, str(exc))
    except InvalidInput as exc:
        fail(422, str(exc), fields={exc.field or "status": str(exc)})
    db().commit()
    return _flag_or_404(flag_id)


# --- public feedback ---------------------------------------------------------------------


def _journey_or_404(token: str) -> feedback.PublicJourney:
    public = feedback.journey_at(db(), token)
    if public is None:
        fail(404, "There is no journey behind this link.")
    return public


def _feedback_limit() -> str:
    return current_app.config["FEEDBACK_RATE_LIMIT"]


@bp.route("/public/journeys/<token>", methods=["GET"])
@bp.doc(security=[])
@bp.response(200, PublicJourneySchema)
def public_journey(token: str):
    """What a customer may give feedback on: the journey's customer-visible steps and the
    kinds of trouble they can name. No token needed."""
    public = _journey_or_404(token)
    return {
        "organisation": public.organisation,
        "name": public.name,
        "steps": [{"id": s.id, "name": s.words} for s in public.steps],
        "categories": [category.value for category in CUSTOMER_CATEGORIES],
    }


@bp.route("/public/journeys/<token>/feedback", methods=["POST"])
@limiter.limit(_feedback_limit, methods=["POST"])
@bp.doc(security=[])
@bp.arguments(FeedbackSchema)
@bp.response(201, FeedbackReceiptSchema)
@bp.alt_response(429, description="Too many feedbacks from this address; wait a minute.")
def public_feedback(data: dict, token: str):
    """A customer's feedback on a journey: the step, the kind of trouble, how easy it was
    (CES 1-7), what happened and, with consent, an e-mail address to hear what changed.
    No token needed; rate-limited per address."""
    journey = _journey_or_404(token)
    try:
        receipt = feedback.submit_feedback(
            db(),
            journey.row,
            data["step"],
            data["category"],
            data["score"],
            data["text"],
            data["email"],
            data["consent"],
            current=journey.process,
        )
    except feedback.InvalidFeedback as exc:
        fail(422, str(exc), fields=exc.errors)
    db().commit()
    return {
        "flag": receipt.flag is not None,
        "effort_score": receipt.answer is not None,
        "will_reply": bool(receipt.flag is not None and receipt.flag.contact_consent),
    }
