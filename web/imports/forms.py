"""The upload form and the event log's options form (columns, share of cases kept)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from workflow.services.imports import COLUMN_PURPOSES, KINDS, REQUIRED_PURPOSES

__all__ = ["CsvLogOptionsForm", "LogOptionsForm", "UploadForm", "column_form"]


class UploadForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file to import.")])
    kind = RadioField(
        "What is in the file",
        choices=[SelectChoice("auto", "Find out from the file (by its name and first lines)")]
        + [SelectChoice(value, label) for value, label in KINDS.items()],
        default="auto",
    )
    name = StringField(
        "Name of the new process",
        validators=[Optional(), Length(max=200, message="At most 200 characters.")],
    )
    perspective = SelectField(
        "Perspective of a step list",
        choices=[
            SelectChoice("", "As the list says (an employee process if it does not say)"),
            SelectChoice("employee_process", "Employee process"),
            SelectChoice("customer_journey", "Customer journey"),
        ],
        default="",
    )


class LogOptionsForm(FlaskForm):
    keep = IntegerField(
        "Keep the main paths covering this share of cases (%)",
        default=80,
        validators=[
            InputRequired("Give a share from 1 to 100."),
            NumberRange(1, 100, "Give a share from 1 to 100."),
        ],
    )
    name = StringField(
        "Name of the new process",
        validators=[Optional(), Length(max=200, message="At most 200 characters.")],
    )
    timestamp_format = StringField(
        "Timestamp format",
        validators=[Optional(), Length(max=100, message="At most 100 characters.")],
    )


class CsvLogOptionsForm(LogOptionsForm):
    """Adds one choice of column per purpose; built for a file's header by
    :func:`column_form`."""

    case = SelectField(COLUMN_PURPOSES["case"])
    activity = SelectField(COLUMN_PURPOSES["activity"])
    time = SelectField(COLUMN_PURPOSES["time"])
    start = SelectField(COLUMN_PURPOSES["start"])
    resource = SelectField(COLUMN_PURPOSES["resource"])
    role = SelectField(COLUMN_PURPOSES["role"])

    def columns(self) -> dict[str, str | None]:
        return {purpose: self[purpose].data or None for purpose in COLUMN_PURPOSES}


def column_form(header: Sequence[str], guesses: dict[str, str]) -> CsvLogOptionsForm:
    """The options form with the file's columns to choose from, the guesses preselected."""
    form = CsvLogOptionsForm()
    for purpose in COLUMN_PURPOSES:
        field = form[purpose]
        empty = "Choose a column" if purpose in REQUIRED_PURPOSES else "None"
        field.choices = [SelectChoice("", f"({empty})")] + [
            SelectChoice(name, name) for name in dict.fromkeys(header) if name
        ]
        if not form.is_submitted():
            field.data = guesses.get(purpose, "")
    return form


def log_options_form(header: Sequence[str] | None, guesses: dict[str, str]) -> LogOptionsForm:
    return LogOptionsForm() if header is None else column_form(header, guesses)
