"""Pages for customers, who have no account: feedback on a journey, what changed, the QR code.

Everything here is reached through a journey's random public token and shows only what
:mod:`workflow.services.feedback` lets out. Errors on these pages use the public layout too,
so a customer never lands on a staff page.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.database import db
from web.extensions import limiter
from web.public.forms import feedback_form
from workflow.services import feedback

bp = Blueprint("public", __name__)

#: A feedback form is a few kilobytes; anything much larger is not a person typing.
MAX_FEEDBACK_BYTES = 32 * 1024
_THANKS_KEY = "public_feedback_reply"

ERROR_WORDS = {
    400: (
        "Something went wrong with the form",
        "Please go back, reload the page and send it again.",
    ),
    404: (
        "We could not find this page",
        "The link may be mistyped or no longer in use. Please check it, or ask for a new one.",
    ),
    413: (
        "That was too much to send",
        f"Please keep what happened to {feedback.MAX_TEXT:,} characters and try again.",
    ),
    429: (
        "Thank you — that is a lot of messages",
        "You have sent several in a short time, so this one was not saved. The earlier ones "
        "reached us. Please wait a few minutes before sending another.",
    ),
}


def _feedback_limit() -> str:
    return current_app.config["FEEDBACK_RATE_LIMIT"]


@bp.url_value_preprocessor
def _small_bodies(_endpoint: str | None, _values: dict | None) -> None:
    """Limit what a customer may send before anything reads the body (the CSRF check does)."""
    if request.method == "POST":
        request.max_content_length = MAX_FEEDBACK_BYTES


def _journey_or_404(token: str):
    row = feedback.find_journey(db(), token)
    if row is None:
        abort(404)
    return row


def _public_or_404(token: str) -> feedback.PublicJourney:
    public = feedback.journey_at(db(), token)
    if public is None:
        abort(404)
    return public


@bp.route("/j/<token>", methods=["GET", "POST"])
@limiter.limit(_feedback_limit, methods=["POST"])
def journey(token: str):
    session_db = db()
    public = _public_or_404(token)
    form = feedback_form(public)
    if form.validate_on_submit():
        if form.is_spam:
            return redirect(url_for("public.thanks", token=token))
        try:
            feedback.submit_feedback(
                session_db,
                public.row,
                form.step_id,
                form.category.data or None,
                form.score_value,
                form.text.data or "",
                form.email.data or "",
                bool(form.consent.data),
                current=public.process,
            )
        except feedback.InvalidFeedback as refused:
            for name, message in refused.errors.items():
                target = getattr(form, name)
                target.errors = [*target.errors, message]
        else:
            session_db.commit()
            session[_THANKS_KEY] = bool(form.email.data and form.consent.data)
            return redirect(url_for("public.thanks", token=token))
    status = 422 if form.errors else 200
    response = current_app.make_response(
        (
            render_template(
                "public/journey.html", journey=public, form=form, max_text=feedback.MAX_TEXT
            ),
            status,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/j/<token>/thanks")
def thanks(token: str):
    public = _public_or_404(token)
    will_write = bool(session.pop(_THANKS_KEY, False))
    return render_template("public/thanks.html", journey=public, will_write=will_write)


@bp.get("/j/<token>/changes")
def changes(token: str):
    session_db = db()
    public = _public_or_404(token)
    page = request.args.get("page", 1, type=int) or 1
    found = feedback.published_changes(session_db, public.row, page)
    if page > found.pages:
        abort(404)
    return render_template("public/changes.html", journey=public, changes=found)


def _public_url(token: str) -> str:
    return url_for("public.journey", token=token, _external=True)


def _qr(token: str) -> segno.QRCode:
    return segno.make(_public_url(token), error="m", micro=False)


@bp.get("/j/<token>/qr.svg")
def qr(token: str):
    _journey_or_404(token)
    buffer = io.BytesIO()
    _qr(token).save(
        buffer, kind="svg", scale=8, border=4, title="QR code of the feedback page", nl=False
    )
    return _image(buffer.getvalue(), "image/svg+xml")


@bp.get("/j/<token>/qr.png")
def qr_png(token: str):
    _journey_or_404(token)
    buffer = io.BytesIO()
    _qr(token).save(buffer, kind="png", scale=12, border=4)
    return _image(buffer.getvalue(), "image/png")


def _image(data: bytes, mimetype: str):
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/j/<token>/poster")
def poster(token: str):
    public = _public_or_404(token)
    url = _public_url(token)
    parts = urlsplit(url)
    return render_template(
        "public/poster.html", journey=public, url=url, short_url=parts.netloc + parts.path
    )


def _back() -> str | None:
    """The page to go back to after an error on a feedback link, when there is one."""
    token = (request.view_args or {}).get("token")
    if token and feedback.find_journey(db(), token) is not None:
        return url_for("public.journey", token=token)
    return None


@bp.errorhandler(CSRFError)
def _expired_form(_error: CSRFError):
    return (
        render_template(
            "public/error.html",
            title="The page had been open a long time",
            message="For your safety we could not send it. Please reload the page and send it "
            "again; what you typed was not saved.",
            back=_back(),
        ),
        400,
    )


@bp.errorhandler(HTTPException)
def _public_error(error: HTTPException):
    code = error.code or 500
    title, message = ERROR_WORDS.get(
        code, ("Something went wrong", "Nothing was saved. Please try again in a moment.")
    )
    headers = {"Retry-After": "60"} if code == 429 else {}
    back = _back() if code != 404 else None
    return (
        render_template("public/error.html", title=title, message=message, back=back),
        code,
        headers,
    )
