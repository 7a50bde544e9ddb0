from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from workflow.services.accounts import ROLE_WORDS, ROLES


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, ROLE_WORDS[role]) for role in ROLES]


ROLE_HINT = (
    "Administrators manage users and see everything; process owners map processes; frontline "
    "staff flag steps; the improvement team reviews and decides."
)


class InviteForm(FlaskForm):
    email = EmailField(
        "E-mail",
        validators=[
            DataRequired("Enter the e-mail address of the person to invite."),
            Length(max=254, message="Use at most 254 characters."),
        ],
    )
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the person's name, as colleagues will see it."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    role = SelectField("Role", choices=_role_choices(), default="staff", validate_choice=False)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=_role_choices(), validate_choice=False)


class OrganisationForm(FlaskForm):
    name = StringField(
        "Organisation name",
        validators=[
            DataRequired("Give the organisation a name."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    pulse_enabled = BooleanField("Ask staff the monthly pulse question (eNPS)")
