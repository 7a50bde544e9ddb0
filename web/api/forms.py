"""Forms of the account page's API tokens (the page lives with the account, in web.auth)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, Optional

from workflow.services.api_tokens import MAX_NAME


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Name the token after what will use it."),
            Length(max=MAX_NAME, message=f"Keep the name to {MAX_NAME} characters."),
        ],
    )
    expires = DateField(
        "Expires on (optional)",
        validators=[Optional()],
        format="%Y-%m-%d",
    )


class RevokeTokenForm(FlaskForm):
    token = IntegerField(validators=[DataRequired()])
    confirm = HiddenField(default="yes")
