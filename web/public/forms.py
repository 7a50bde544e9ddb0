"""The customer feedback form. Its choices come from the journey, so it is built per request."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from workflow.services.feedback import CES_LABELS, MAX_TEXT, PublicJourney
from workflow.services.words import CUSTOMER_CATEGORIES

__all__ = ["NOT_SURE", "FeedbackForm", "feedback_form"]

#: The step choice for feedback about no one step.
NOT_SURE = "not_sure"


class FeedbackForm(FlaskForm):
    """Every answer is optional on its own; the service says which combination is missing.

    Radio groups skip WTForms' own choice check (which would call an unanswered group "Not a
    valid choice") and check their value here with a message in plain words.
    """

    step = RadioField("Where did it get hard?", validate_choice=False)
    category = RadioField("What was the trouble?", validate_choice=False)
    score = RadioField("How much do you agree?", validate_choice=False)
    text = TextAreaField(
        "What happened?",
        validators=[
            Length(max=MAX_TEXT, message=f"Please keep it to {MAX_TEXT:,} characters."),
        ],
    )
    email = EmailField(
        "Your e-mail address (optional)",
        validators=[Optional(), Length(max=254, message="This e-mail address is too long.")],
    )
    consent = BooleanField("Yes, e-mail me when something changes because of this.")
    #: Hidden from people by CSS; bots that fill every field give themselves away.
    website = StringField("Leave this field empty")

    def _check_choice(self, field: RadioField, message: str) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(message)

    def validate_step(self, field: RadioField) -> None:
        self._check_choice(field, 'Choose one of the steps listed, or "Somewhere else / not sure".')

    def validate_category(self, field: RadioField) -> None:
        self._check_choice(field, "Choose one of the kinds of trouble listed.")

    def validate_score(self, field: RadioField) -> None:
        self._check_choice(field, "Choose a number from 1 to 7.")

    @property
    def is_spam(self) -> bool:
        return bool((self.website.data or "").strip())

    @property
    def step_id(self) -> str | None:
        return None if self.step.data in (None, "", NOT_SURE) else self.step.data

    @property
    def score_value(self) -> int | None:
        return int(self.score.data) if self.score.data else None


def feedback_form(journey: PublicJourney) -> FeedbackForm:
    form = FeedbackForm()
    form.step.choices = [SelectChoice(step.id, step.words) for step in journey.steps] + [
        SelectChoice(NOT_SURE, "Somewhere else / not sure")
    ]
    form.category.choices = [
        SelectChoice(category.value, words) for category, words in CUSTOMER_CATEGORIES.items()
    ]
    form.score.choices = [
        SelectChoice(str(value), f"{value} – {label}") for value, label in CES_LABELS.items()
    ]
    return form
