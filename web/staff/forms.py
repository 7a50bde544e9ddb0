"""The flag form: a category and a severity are all it asks for; words are welcome."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length

from workflow.services.signals import MAX_TEXT
from workflow.services.words import CATEGORY_WORDS, SEVERITY_WORDS


def _too_long(what: str) -> str:
    return f"Keep the {what} to {MAX_TEXT:,} characters."


class FlagForm(FlaskForm):
    category = RadioField(
        "What is wrong?",
        choices=[SelectChoice(c.value, label) for c, label in CATEGORY_WORDS.items()],
        validators=[InputRequired("Choose what is wrong with this step.")],
        invalid_choice_message="Choose one of the listed problems.",
    )
    severity = RadioField(
        "How much does it hurt?",
        choices=[SelectChoice(str(n), f"{n} · {words}") for n, words in SEVERITY_WORDS.items()],
        default="3",
        validators=[InputRequired("Choose a severity from 1 to 5.")],
        invalid_choice_message="Choose a severity from 1 to 5.",
    )
    text = TextAreaField(
        "What happens?",
        validators=[Length(max=MAX_TEXT, message=_too_long("description"))],
    )
    idea = TextAreaField(
        "Your idea to fix it (optional)",
        validators=[Length(max=MAX_TEXT, message=_too_long("idea"))],
    )
    anonymous = BooleanField("Flag anonymously")


class MeTooForm(FlaskForm):
    """The "me too" button: ``agree`` is 1 to add the vote, 0 to take it back."""

    agree = HiddenField(default="1", validators=[AnyOf(("0", "1"))])
