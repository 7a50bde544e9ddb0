"""Forms of the review pages. Each validates shape only; the services judge the rest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from workflow.services.reviews import MAX_COMMENT, MAX_REASON
from workflow.services.words import STATUS_WORDS


def _version() -> IntegerField:
    """The version the page showed, so a decision never lands on a newer one unseen."""
    return IntegerField(
        "Version", widget=HiddenInput(), validators=[InputRequired("Reload the page.")]
    )


class FlagStatusForm(FlaskForm):
    status = SelectField(
        "Status",
        choices=[SelectChoice(s.value, label.capitalize()) for s, label in STATUS_WORDS.items()],
        validators=[DataRequired("Choose a status.")],
    )
    reason = TextAreaField(
        "Reason (shown to whoever flagged it)",
        validators=[Optional(), Length(max=MAX_REASON, message="Keep it shorter.")],
    )


class FlagLinkForm(FlaskForm):
    """The proposal is checked against the version's proposals by the service."""

    proposal = StringField("Proposal", validators=[Optional(), Length(max=300)])
    version = _version()


class CommentForm(FlaskForm):
    text = TextAreaField(
        "Your comment",
        validators=[
            DataRequired("Write a comment first."),
            Length(max=MAX_COMMENT, message=f"Keep comments under {MAX_COMMENT} characters."),
        ],
    )
    version = _version()


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("accept", "Accept"),
            SelectChoice("reject", "Reject"),
            SelectChoice("reopen", "Reopen (undecided again)"),
        ],
        validators=[DataRequired("Choose accept, reject or reopen.")],
    )
    reason = TextAreaField(
        "Reason (required to reject)",
        validators=[Optional(), Length(max=MAX_REASON, message="Keep it shorter.")],
    )
    version = _version()


class ApplyForm(FlaskForm):
    version = _version()


class SendForm(FlaskForm):
    """A bare button form: only its CSRF token matters."""
