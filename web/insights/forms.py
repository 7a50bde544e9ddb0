from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from workflow.services.pulse import PULSE_QUESTION

SCORE_WORDS = {0: "not at all likely", 10: "extremely likely"}


class PulseForm(FlaskForm):
    score = RadioField(
        PULSE_QUESTION,
        choices=[SelectChoice(str(n), str(n)) for n in range(11)],
        validators=[
            InputRequired("Choose a score from 0 (not at all likely) to 10 (extremely likely).")
        ],
    )
