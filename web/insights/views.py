from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web.database import db
from web.insights import charts
from web.insights.forms import SCORE_WORDS, PulseForm
from web.security import current_user, process_or_404, roles_required
from workflow.services import insights, pulse, words
from workflow.services.errors import Forbidden, InvalidInput

bp = Blueprint("insights", __name__)


def _unit() -> insights.Unit:
    return "week" if request.args.get("by") == "week" else "month"


@bp.get("/signals")
@roles_required("reviewer", "owner")
def organisation():
    user = current_user()
    signals = insights.organisation_signals(db(), user.organisation, unit=_unit())
    return render_template(
        "insights/organisation.html",
        signals=signals,
        chart=charts.flag_chart(signals.timeline),
        min_answers=pulse.MIN_ANSWERS,
    )


@bp.get("/processes/<int:process_id>/signals")
@roles_required("reviewer", "owner")
def process(process_id: int):
    row = process_or_404(process_id)
    signals = insights.process_signals(db(), row, unit=_unit())
    return render_template(
        "insights/process.html",
        signals=signals,
        chart=charts.flag_chart(signals.timeline),
        category_words=words.CATEGORY_WORDS,
    )


@bp.route("/pulse", methods=["GET", "POST"], endpoint="pulse")
@roles_required("staff", "owner", "reviewer")
def pulse_page():
    user = current_user()
    form = PulseForm()
    if form.validate_on_submit():
        try:
            pulse.answer_pulse(db(), user, int(form.score.data))
        except InvalidInput as exc:
            form.score.errors = [*form.score.errors, str(exc)]
        except Forbidden as exc:
            flash(str(exc), "error")
            return redirect(url_for("insights.pulse"))
        else:
            db().commit()
            flash("Thank you. Your answer was saved without your name.", "success")
            return redirect(url_for("insights.pulse"))
    overview = pulse.overview(db(), user)
    return render_template(
        "insights/pulse.html",
        form=form,
        overview=overview,
        question=pulse.PULSE_QUESTION,
        score_words=SCORE_WORDS,
        min_answers=pulse.MIN_ANSWERS,
    ), (422 if form.errors else 200)
