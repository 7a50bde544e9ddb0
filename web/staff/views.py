from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from web.analyses import page_parts
from web.database import db
from web.security import current_user, login_required, process_or_404
from web.staff.forms import FlagForm, MeTooForm
from web.templating import rendered_part
from workflow.adapters import repository as repo
from workflow.services import signals, words
from workflow.services.errors import Forbidden, InvalidInput, NotFound
from workflow.vocabulary import Perspective

bp = Blueprint("staff", __name__)

PERSPECTIVE_WORDS = {
    Perspective.CUSTOMER_JOURNEY.value: "Customer journey",
    Perspective.EMPLOYEE_PROCESS.value: "Employee process",
}


@bp.context_processor
def _words() -> dict:
    return {
        "category_words": words.CATEGORY_WORDS,
        "category_meanings": words.CATEGORY_MEANINGS,
        "status_words": words.STATUS_WORDS,
        "severity_words": words.SEVERITY_WORDS,
        "kind_words": words.KIND_WORDS,
        "perspective_words": PERSPECTIVE_WORDS,
    }


def _page_arg() -> int:
    return request.args.get("page", 1, type=int) or 1


def _inline_svg(svg: str | None) -> str | None:
    """The ``<svg>`` element alone: the XML prolog and doctype have no place inside HTML."""
    if not svg:
        return None
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None


@bp.get("/processes/<int:process_id>")
@login_required
def process(process_id: int):
    """The process as everyone sees it: the map from the saved version, steps and flag counts."""
    row = process_or_404(process_id)
    role = current_user().role
    # All the content shows is fixed by the version, the signals revision and the role, so a
    # view of an unchanged process reads two rows and renders little.
    key = ("process page", row.id, row.current_version, row.signals_revision, role)
    main = page_parts().get(key, lambda: _process_main(row, role))
    return render_template("staff/process.html", row=row, main=main)


def _process_main(row, role: str) -> Markup:
    session = db()
    current = repo.current_version(session, row)
    parsed = repo.parse_document(current.document)
    return rendered_part(
        "staff/_process_main.html",
        row=row,
        current=current,
        process=parsed.process,
        steps=list(parsed.process.steps()),
        lanes=parsed.process.lane_map(),
        counts=signals.step_flag_counts(session, row.id),
        empty_counts=signals.FlagCounts(),
        svg=_inline_svg(current.map_svg),
        problems=[line for line in current.problems.splitlines() if line.strip()],
        role=role,
    )


def _current_process(row):
    """The engine process of the row's current version (parsed once per document text)."""
    return repo.parse_document(repo.current_version(db(), row).document).process


@bp.route("/processes/<int:process_id>/steps/<step_id>", methods=["GET", "POST"])
@login_required
def step(process_id: int, step_id: str):
    """A step in plain words, its flags with "me too", and the form to flag it."""
    row = process_or_404(process_id)
    process = _current_process(row)
    if step_id not in process:
        abort(404)
    found = process.step(step_id)
    session = db()
    user = current_user()
    form = FlagForm()
    if form.validate_on_submit():
        try:
            flag = signals.flag_step(
                session,
                user,
                row,
                found.id,
                category=form.category.data or "",
                severity=int(form.severity.data or 0),
                text=form.text.data or "",
                idea=form.idea.data or "",
                anonymous=bool(form.anonymous.data),
            )
        except NotFound:
            abort(404)
        except InvalidInput as exc:
            target = form._fields.get(exc.field, form.category)
            target.errors = [*target.errors, str(exc)]
        else:
            session.commit()
            return redirect(url_for("staff.flag", flag_id=flag.id, sent=1))
    flags = signals.flags_on_step(session, user, row, found.id, page=_page_arg())
    page = render_template(
        "staff/step.html",
        row=row,
        process=process,
        step=found,
        lane=process.lane(found.lane),
        before=[process.step(s) for s in process.graph.predecessors(found.id)],
        after=[process.step(s) for s in process.graph.successors(found.id)],
        flags=flags,
        form=form,
        me_too_form=MeTooForm(),
        open_count=flags.open,
        waste_categories=signals.WASTE_CATEGORIES,
    )
    return page, 422 if form.errors else 200


@bp.post("/processes/<int:process_id>/steps/<step_id>/flags/<int:flag_id>/me-too")
@login_required
def me_too(process_id: int, step_id: str, flag_id: int):
    """Add or take back a "me too" on someone else's flag, then go back to the step."""
    row = process_or_404(process_id)
    form = MeTooForm()
    if not form.validate_on_submit():
        abort(400)
    session = db()
    agree = form.agree.data == "1"
    back = url_for("staff.step", process_id=row.id, step_id=step_id, _anchor=f"flag-{flag_id}")
    try:
        signals.me_too(
            session, current_user(), flag_id, agree=agree, process_id=row.id, step_id=step_id
        )
    except NotFound:
        abort(404)
    except (Forbidden, InvalidInput) as exc:
        flash(str(exc), "error")
        return redirect(back)
    session.commit()
    flash(
        "Added your \u201cme too\u201d." if agree else "Took back your \u201cme too\u201d.",
        "success",
    )
    return redirect(back)


@bp.get("/my/flags")
@login_required
def my_flags():
    page = signals.my_flags(db(), current_user(), page=_page_arg())
    return render_template("staff/my_flags.html", page=page)


@bp.get("/my/flags/<int:flag_id>")
@login_required
def flag(flag_id: int):
    """One of the user's flags; also the confirmation shown right after flagging."""
    try:
        mine = signals.my_flag(db(), current_user(), flag_id)
    except NotFound:
        abort(404)
    return render_template("staff/flag.html", mine=mine, sent=request.args.get("sent") == "1")


@bp.route("/my/flags/<int:flag_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(flag_id: int):
    """Ask before removing one's own new flag, then remove it."""
    session = db()
    user = current_user()
    try:
        mine = signals.my_flag(session, user, flag_id)
    except NotFound:
        abort(404)
    if request.method == "POST":
        try:
            signals.withdraw_flag(session, user, flag_id)
        except NotFound:
            abort(404)
        except Forbidden as exc:
            flash(str(exc), "error")
            return redirect(url_for("staff.flag", flag_id=flag_id))
        session.commit()
        flash(f"Your flag on \u201c{mine.flag.step_name}\u201d is withdrawn.", "success")
        return redirect(url_for("staff.my_flags"))
    return render_template("staff/withdraw.html", mine=mine)
