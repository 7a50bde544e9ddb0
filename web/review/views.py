"""Review routes. Reviewers (and admins) triage, decide and apply; owners read and comment.

Each POST validates its form, calls one service and commits once; a refusal re-renders the
page with the message next to the field at fault and nothing stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.wrappers import Response

from web.analyses import analyses, page_parts, review_freshness, simulation_runs
from web.database import db
from web.rendering import renderer, step_url
from web.review import bp
from web.review.diagrams import heatmap_svg, proposal_svgs
from web.review.forms import (
    ApplyForm,
    CommentForm,
    DecisionForm,
    FlagLinkForm,
    FlagStatusForm,
    SendForm,
)
from web.security import current_user, process_or_404, roles_required
from web.templating import rendered_part
from workflow.adapters import tables as t
from workflow.services import outbox, review_pages, reviews, words
from workflow.services.errors import Forbidden, InvalidInput, NotFound, ServiceError

VIEWERS = ("reviewer", "owner")
DECIDERS = ("reviewer",)


def _can_decide() -> bool:
    return current_user().role in reviews.DECIDERS


def _refuse(exc: ServiceError) -> None:
    """Turn refusals that are about access into the matching HTTP answer."""
    if isinstance(exc, Forbidden):
        abort(403)
    if isinstance(exc, NotFound):
        abort(404)


def _first_error(form) -> tuple[str, str]:
    for name, errors in form.errors.items():
        if errors:
            return name, errors[0]
    return "", "Check the form and try again."


# --- index and dashboard ------------------------------------------------------------------


@bp.get("/review")
@roles_required(*VIEWERS)
def index():
    user = current_user()
    summaries = review_pages.process_summaries(
        db(),
        user.organisation,
        analyses(),
        simulation_runs=simulation_runs(),
        freshness=review_freshness(),
    )
    queued = outbox.queued_count(db(), user.org_id) if _can_decide() else None
    return render_template("review/index.html", summaries=summaries, queued=queued, words=words)


@dataclass(frozen=True)
class FlagError:
    """A triage or link form that was refused, shown again on its flag."""

    flag_id: int
    field: str
    message: str
    status: str = ""
    reason: str = ""


def _dashboard_page(row: t.Process, *, code: int = 200, flag_error: FlagError | None = None):
    user = current_user()
    board = review_pages.dashboard(
        db(),
        user.organisation,
        row,
        analyses(),
        simulation_runs=simulation_runs(),
        freshness=review_freshness(),
    )
    flags = review_pages.flag_page(
        db(),
        row,
        user,
        show=request.args.get("flags", "open"),
        page=request.args.get("page", 1, type=int) or 1,
    )
    everything = request.args.get("hotspots") == "all"
    return (
        render_template(
            "review/dashboard.html",
            board=board,
            row=row,
            flags=flags,
            analysis_html=_analysis_html(row, board, everything) if board.measured else None,
            can_decide=_can_decide(),
            flag_error=flag_error,
            words=words,
            wants_reply=reviews.wants_reply,
        ),
        code,
    )


def _analysis_html(row: t.Process, board: review_pages.Dashboard, everything: bool) -> Markup:
    """The dashboard's measured part, kept while the analysis, the process's name and the
    decisions on its proposals stay the same: it is most of the page's work, and reviewers
    open the same dashboards again and again while signals stream in."""
    can_decide = _can_decide()
    decisions = tuple(sorted((key, review.status) for key, review in board.reviews.items()))
    key = (
        "dashboard",
        row.id,
        row.name,
        row.perspective,
        board.version.number,
        board.analysis_tag,
        decisions,
        everything,
        can_decide,
    )

    def draw() -> Markup:
        heatmap = page_parts().get(
            ("heatmap", row.id, board.version.number, board.analysis_tag),
            lambda: heatmap_svg(row.id, board.process, board.result),
        )
        return rendered_part(
            "review/_analysis.html",
            board=board,
            row=row,
            heatmap=heatmap,
            hotspots=board.hotspots if everything else board.hotspots[:10],
            all_hotspots=everything,
            can_decide=can_decide,
            words=words,
            metric_rows=review_pages.metric_rows,
        )

    return page_parts().get(key, draw)


@bp.get("/review/<int:process_id>")
@roles_required(*VIEWERS)
def dashboard(process_id: int):
    return _dashboard_page(process_or_404(process_id))


def _back_to_flags(row: t.Process, flag_id: int) -> str:
    return (
        url_for(
            "review.dashboard",
            process_id=row.id,
            flags=request.args.get("flags") or None,
            page=request.args.get("page") or None,
        )
        + f"#flag-{flag_id}"
    )


def _flag_or_404(row: t.Process, flag_id: int) -> t.Flag:
    try:
        return review_pages.find_flag(db(), row, flag_id)
    except NotFound:
        abort(404)


@bp.post("/review/<int:process_id>/flags/<int:flag_id>/status")
@roles_required(*DECIDERS)
def flag_status(process_id: int, flag_id: int):
    row = process_or_404(process_id)
    flag = _flag_or_404(row, flag_id)
    form = FlagStatusForm()
    if form.validate_on_submit():
        try:
            queued = reviews.set_flag_status(
                db(),
                current_user(),
                flag,
                form.status.data,
                form.reason.data or "",
                site_url=request.url_root,
            )
        except InvalidInput as exc:
            field, message = exc.field or "status", str(exc)
        except ServiceError as exc:
            _refuse(exc)
            raise
        else:
            db().commit()
            word = words.STATUS_WORDS[flag.status]
            note = " A reply to the customer is queued in the outbox." if queued else ""
            flash(f"The flag on “{flag.step_name or flag.step_id}” is {word}.{note}", "success")
            return redirect(_back_to_flags(row, flag.id))
    else:
        field, message = _first_error(form)
    db().rollback()
    error = FlagError(flag_id, field, message, form.status.data or "", form.reason.data or "")
    return _dashboard_page(row, code=422, flag_error=error)


@bp.post("/review/<int:process_id>/flags/<int:flag_id>/link")
@roles_required(*DECIDERS)
def flag_link(process_id: int, flag_id: int):
    row = process_or_404(process_id)
    flag = _flag_or_404(row, flag_id)
    form = FlagLinkForm()
    if not form.validate_on_submit():
        field, message = _first_error(form)
        return _dashboard_page(row, code=422, flag_error=FlagError(flag_id, field, message))
    user = current_user()
    try:
        review = reviews.review_for_link(
            db(),
            user.organisation,
            row,
            form.proposal.data or "",
            analyses(),
            version_number=form.version.data,
            simulation_runs=simulation_runs(),
        )
        reviews.link_flag(db(), user, flag, review)
    except reviews.StaleReview as exc:
        db().rollback()
        flash(str(exc), "error")
        return redirect(_back_to_flags(row, flag_id))
    except InvalidInput as exc:
        db().rollback()
        error = FlagError(flag_id, exc.field or "proposal", str(exc))
        return _dashboard_page(row, code=422, flag_error=error)
    except ServiceError as exc:
        _refuse(exc)
        raise
    db().commit()
    if review is None:
        flash("The flag is no longer linked to a proposal.", "success")
    else:
        flash(f"The flag is linked to “{review.title}”.", "success")
    return redirect(_back_to_flags(row, flag_id))


# --- proposals ----------------------------------------------------------------------------


def _proposal_page(
    row: t.Process,
    key: str,
    *,
    code: int = 200,
    version: int | None = None,
    comment_form: CommentForm | None = None,
    decision_form: DecisionForm | None = None,
    error: str = "",
):
    user = current_user()
    if version is None:
        version = request.args.get("version", type=int)
    try:
        view = review_pages.proposal_view(
            db(),
            user.organisation,
            row,
            key,
            analyses(),
            version_number=version
            if version is not None
            else request.args.get("version", type=int),
            simulation_runs=simulation_runs(),
        )
    except NotFound:
        abort(404)
    diff_svg = sides_svg = None
    if view.proposal is not None and view.process is not None:
        diff_svg, sides_svg = proposal_svgs(row.id, view.process, view.proposal)
    return (
        render_template(
            "review/proposal.html",
            row=row,
            view=view,
            diff_svg=diff_svg,
            sides_svg=sides_svg,
            comment_form=comment_form or CommentForm(formdata=None, version=view.version_number),
            decision_form=decision_form or DecisionForm(formdata=None, version=view.version_number),
            can_decide=_can_decide(),
            error=error,
            words=words,
        ),
        code,
    )


@bp.get("/review/<int:process_id>/proposals/<key>")
@roles_required(*VIEWERS)
def proposal(process_id: int, key: str):
    return _proposal_page(process_or_404(process_id), key)


def _proposal_url(row: t.Process, key: str, version: int | None) -> str:
    number = version if version is not None and version != row.current_version else None
    return url_for("review.proposal", process_id=row.id, key=key, version=number)


@bp.post("/review/<int:process_id>/proposals/<key>/comments")
@roles_required(*VIEWERS)
def comment(process_id: int, key: str):
    row = process_or_404(process_id)
    form = CommentForm()
    if form.validate_on_submit():
        user = current_user()
        try:
            reviews.add_comment(
                db(),
                user,
                user.organisation,
                row,
                key,
                form.text.data or "",
                analyses(),
                version_number=form.version.data,
                simulation_runs=simulation_runs(),
            )
        except InvalidInput as exc:
            form.text.errors.append(str(exc))
        except reviews.StaleReview as exc:
            db().rollback()
            return _proposal_page(row, key, code=409, comment_form=form, error=str(exc))
        except ServiceError as exc:
            _refuse(exc)
            raise
        else:
            db().commit()
            flash("Your comment is posted.", "success")
            return redirect(_proposal_url(row, key, form.version.data) + "#comments")
    db().rollback()
    return _proposal_page(row, key, code=422, version=form.version.data, comment_form=form)


@bp.post("/review/<int:process_id>/proposals/<key>/decision")
@roles_required(*DECIDERS)
def decision(process_id: int, key: str):
    row = process_or_404(process_id)
    form = DecisionForm()
    if form.validate_on_submit():
        user = current_user()
        try:
            review = reviews.decide(
                db(),
                user,
                user.organisation,
                row,
                key,
                form.decision.data,
                form.reason.data or "",
                analyses(),
                version_number=form.version.data,
                simulation_runs=simulation_runs(),
            )
        except InvalidInput as exc:
            target = form.reason if exc.field == "reason" else form.decision
            target.errors = [*target.errors, str(exc)]
        except reviews.StaleReview as exc:
            db().rollback()
            return _proposal_page(row, key, code=409, decision_form=form, error=str(exc))
        except ServiceError as exc:
            _refuse(exc)
            raise
        else:
            db().commit()
            word = words.REVIEW_STATUS_WORDS[review.status]
            flash(f"“{review.title}” is {word}.", "success")
            return redirect(_proposal_url(row, key, None))
    db().rollback()
    return _proposal_page(row, key, code=422, decision_form=form)


# --- applying -----------------------------------------------------------------------------


def _apply_page(row: t.Process, version: int, *, code: int = 200, error: str = "", problems=()):
    accepted = reviews.accepted_reviews(db(), row, version)
    linked = review_pages.linked_flags(db(), [r.id for r in accepted])
    return (
        render_template(
            "review/apply.html",
            row=row,
            version=version,
            accepted=accepted,
            linked=linked,
            replies=sum(1 for f in linked if reviews.wants_reply(f)),
            form=ApplyForm(formdata=None, version=version),
            error=error,
            problems=problems,
        ),
        code,
    )


@bp.get("/review/<int:process_id>/apply")
@roles_required(*DECIDERS)
def apply_confirm(process_id: int):
    row = process_or_404(process_id)
    version = request.args.get("version", type=int) or row.current_version
    return _apply_page(row, version)


@bp.post("/review/<int:process_id>/apply")
@roles_required(*DECIDERS)
def apply(process_id: int):
    row = process_or_404(process_id)
    form = ApplyForm()
    if not form.validate_on_submit():
        return _apply_page(row, row.current_version, code=422, error=_first_error(form)[1])
    user = current_user()
    try:
        result = reviews.apply_accepted(
            db(),
            user,
            user.organisation,
            row,
            analyses(),
            version_number=form.version.data,
            renderer=renderer(),
            step_url=step_url,
            site_url=request.url_root,
            simulation_runs=simulation_runs(),
        )
    except reviews.StaleReview as exc:
        db().rollback()
        return _apply_page(row, form.version.data, code=409, error=str(exc))
    except InvalidInput as exc:
        db().rollback()
        return _apply_page(row, form.version.data, code=422, error=str(exc), problems=exc.problems)
    except ServiceError as exc:
        _refuse(exc)
        raise
    db().commit()
    count = len(result.applied)
    parts = [
        f"Version {result.version.number} saved with {count} "
        f"proposal{'s' if count != 1 else ''} applied."
    ]
    if result.flags_addressed:
        parts.append(f"{result.flags_addressed} linked flag(s) marked addressed.")
    if result.replies_queued:
        parts.append(f"{result.replies_queued} reply(ies) to customers queued in the outbox.")
    flash(" ".join(parts), "success")
    return redirect(url_for("review.dashboard", process_id=row.id))


# --- outbox -------------------------------------------------------------------------------


def _smtp() -> outbox.SmtpSettings | None:
    return outbox.SmtpSettings.from_config(current_app.config)


@bp.get("/review/outbox")
@roles_required(*DECIDERS)
def outbox_list():
    user = current_user()
    found = outbox.outbox_page(db(), user.org_id, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "review/outbox.html",
        found=found,
        configured=_smtp() is not None,
        form=SendForm(formdata=None),
        max_attempts=outbox.MAX_ATTEMPTS,
    )


@bp.post("/review/outbox/send")
@roles_required(*DECIDERS)
def outbox_send() -> Response:
    form = SendForm()
    if not form.validate_on_submit():
        abort(400)
    settings = _smtp()
    if settings is None:
        flash(
            "No SMTP server is configured (LEANLANE_SMTP_HOST), so messages stay queued.",
            "warning",
        )
        return redirect(url_for("review.outbox_list"))
    user = current_user()
    report = outbox.send_queued(
        db(), outbox.smtp_sender(settings), org_id=user.org_id, actor_id=user.id
    )
    db().commit()
    if report.failed:
        flash(
            f"{report.sent} sent, {report.failed} failed and will be retried: "
            + "; ".join(report.errors[:3]),
            "error",
        )
    elif report.sent:
        flash(f"{report.sent} message(s) sent.", "success")
    else:
        flash("Nothing was waiting to be sent.", "info")
    return redirect(url_for("review.outbox_list"))
