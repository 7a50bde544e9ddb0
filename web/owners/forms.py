"""Forms of the process editor. Each editing form carries the version it was rendered from,
so a save made on top of someone else's newer version is refused instead of overwriting it."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from workflow.model import Flow, Lane, Step
from workflow.services.editing import suggest_id
from workflow.vocabulary import LaneKind, Layer, Perspective, StepKind, ValueClass, Waste

KIND_WORDS = {
    StepKind.START: "Start",
    StepKind.END: "End",
    StepKind.TASK: "Task",
    StepKind.DECISION: "Decision",
    StepKind.PARALLEL_SPLIT: "Parallel split",
    StepKind.PARALLEL_JOIN: "Parallel join",
    StepKind.WAIT: "Wait",
    StepKind.APPROVAL: "Approval",
    StepKind.HANDOFF: "Handoff",
    StepKind.SYSTEM: "System step",
    StepKind.SUBPROCESS: "Subprocess",
}
LAYER_WORDS = {
    Layer.CUSTOMER_ACTION: "Customer action",
    Layer.FRONTSTAGE: "Frontstage",
    Layer.BACKSTAGE: "Backstage",
    Layer.SUPPORT: "Support",
}
VALUE_WORDS = {
    ValueClass.VA: "VA: the customer would pay for it",
    ValueClass.BVA: "BVA: the business needs it (control, regulation)",
    ValueClass.NVA: "NVA: neither",
}
WASTE_WORDS = {
    Waste.DEFECTS: "Defects",
    Waste.OVERPRODUCTION: "Overproduction",
    Waste.WAITING: "Waiting",
    Waste.NON_UTILISED_TALENT: "Non-utilised talent",
    Waste.TRANSPORTATION: "Transportation / handoffs",
    Waste.INVENTORY: "Inventory / queues",
    Waste.MOTION: "Motion",
    Waste.EXTRA_PROCESSING: "Extra-processing",
}
LANE_KIND_WORDS = {
    LaneKind.ROLE: "Role",
    LaneKind.TEAM: "Team",
    LaneKind.SYSTEM: "System",
    LaneKind.CUSTOMER: "Customer",
    LaneKind.PARTNER: "Partner",
}
PERSPECTIVE_WORDS = {
    Perspective.EMPLOYEE_PROCESS: "Employee process (how the work is done inside)",
    Perspective.CUSTOMER_JOURNEY: "Customer journey (what the customer goes through)",
}


def choices(words: dict[StrEnum, str], empty: str = "") -> list[SelectChoice]:
    """Select options from a word list; ``empty`` adds a first "none" option."""
    options = [SelectChoice("", empty)] if empty else []
    return options + [SelectChoice(member.value, label) for member, label in words.items()]


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes, usable without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionedForm(FlaskForm):
    """Every editing form names the version it was rendered from."""

    base_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])

    def rebase(self, number: int) -> None:
        """Point the form at another version (after a conflict, the current one)."""
        self.base_version.data = number
        self.base_version.raw_data = None


def _lines(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


class NewProcessForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Give the process a name."), Length(max=200)],
    )
    key = StringField(
        "Id",
        validators=[Optional(), Length(max=100, message="Use at most 100 characters.")],
    )
    perspective = RadioField(
        "Kind of process",
        choices=choices(PERSPECTIVE_WORDS),
        default=Perspective.EMPLOYEE_PROCESS.value,
        validators=[InputRequired("Choose the kind of process.")],
    )

    def chosen_key(self, taken: Iterable[str]) -> str:
        return (self.key.data or "").strip() or suggest_id(
            self.name.data or "", set(taken), "process"
        )


class PropertiesForm(VersionedForm):
    name = StringField(
        "Name", validators=[DataRequired("Give the process a name."), Length(max=200)]
    )
    perspective = SelectField(
        "Kind of process", choices=choices(PERSPECTIVE_WORDS), validators=[InputRequired()]
    )
    volume = FloatField(
        "Cases per year",
        validators=[Optional(), NumberRange(min=0, message="Must be 0 or more.")],
    )
    description = TextAreaField("Description", validators=[Length(max=5000)])


class StepForm(VersionedForm):
    name = StringField("Name", validators=[DataRequired("Give the step a name."), Length(max=200)])
    id = StringField(
        "Id",
        validators=[Optional(), Length(max=100, message="Use at most 100 characters.")],
    )
    place = SelectField("Place it", validate_choice=True, default="")
    kind = SelectField("Kind", choices=choices(KIND_WORDS), default=StepKind.TASK.value)
    lane = SelectField("Lane", default="")
    layer = SelectField("Blueprint layer", choices=choices(LAYER_WORDS, "Not set"), default="")
    touch_minutes = FloatField(
        "Touch time (minutes)",
        validators=[Optional(), NumberRange(min=0, message="Must be 0 or more.")],
    )
    wait_minutes = FloatField(
        "Wait time (minutes)",
        validators=[Optional(), NumberRange(min=0, message="Must be 0 or more.")],
    )
    volume = FloatField(
        "Cases per year",
        validators=[Optional(), NumberRange(min=0, message="Must be 0 or more.")],
    )
    value_class = SelectField("Value class", choices=choices(VALUE_WORDS, "Not set"), default="")
    customer_value = IntegerField(
        "Customer value (0-5)",
        validators=[Optional(), NumberRange(min=0, max=5, message="Use a whole number 0 to 5.")],
    )
    business_value = IntegerField(
        "Business value (0-5)",
        validators=[Optional(), NumberRange(min=0, max=5, message="Use a whole number 0 to 5.")],
    )
    required_by = StringField("Required by (rule or law)", validators=[Length(max=300)])
    pct_complete_accurate = FloatField(
        "%C&A (complete and accurate input)",
        validators=[
            Optional(),
            NumberRange(min=0.01, max=100, message="Use a percentage above 0, at most 100."),
        ],
    )
    waste = MultiCheckboxField("Waste", choices=choices(WASTE_WORDS))
    systems = TextAreaField("Systems used (one per line)", validators=[Length(max=3000)])
    inputs = TextAreaField("Inputs (one per line)", validators=[Length(max=3000)])
    outputs = TextAreaField("Outputs (one per line)", validators=[Length(max=3000)])
    customer_name = StringField("Name the customer sees", validators=[Length(max=200)])
    channel = StringField("Channel", validators=[Length(max=100)])
    description = TextAreaField("Description", validators=[Length(max=5000)])

    def fill(self, step: Step) -> None:
        """Show a step's current values."""
        self.name.data = step.name
        self.id.data = step.id
        self.kind.data = step.kind.value
        self.lane.data = step.lane or ""
        self.layer.data = step.layer.value if step.layer else ""
        self.touch_minutes.data = step.touch_minutes
        self.wait_minutes.data = step.wait_minutes
        self.volume.data = step.volume
        self.value_class.data = step.value_class.value if step.value_class else ""
        self.customer_value.data = step.customer_value
        self.business_value.data = step.business_value
        self.required_by.data = step.required_by
        self.pct_complete_accurate.data = step.pct_complete_accurate
        self.waste.data = [w.value for w in step.waste]
        self.systems.data = "\n".join(step.systems)
        self.inputs.data = "\n".join(step.inputs)
        self.outputs.data = "\n".join(step.outputs)
        self.customer_name.data = step.customer_name
        self.channel.data = step.channel
        self.description.data = step.description

    def step(self, taken: Iterable[str]) -> Step:
        """The step the form describes; a blank id is made from the name."""
        name = (self.name.data or "").strip()
        return Step(
            id=(self.id.data or "").strip() or suggest_id(name, set(taken)),
            name=name,
            kind=StepKind(self.kind.data or StepKind.TASK.value),
            lane=self.lane.data or None,
            layer=Layer(self.layer.data) if self.layer.data else None,
            touch_minutes=float(self.touch_minutes.data or 0.0),
            wait_minutes=float(self.wait_minutes.data or 0.0),
            volume=float(self.volume.data) if self.volume.data is not None else None,
            value_class=ValueClass(self.value_class.data) if self.value_class.data else None,
            customer_value=self.customer_value.data or 0,
            business_value=self.business_value.data or 0,
            required_by=(self.required_by.data or "").strip(),
            pct_complete_accurate=(
                float(self.pct_complete_accurate.data)
                if self.pct_complete_accurate.data is not None
                else 100.0
            ),
            waste=tuple(Waste(w) for w in self.waste.data or ()),
            systems=_lines(self.systems.data),
            inputs=_lines(self.inputs.data),
            outputs=_lines(self.outputs.data),
            customer_name=(self.customer_name.data or "").strip(),
            channel=(self.channel.data or "").strip(),
            description=(self.description.data or "").strip(),
        )


def _probability_field(label: str = "Probability (0 to 1)") -> FloatField:
    return FloatField(
        label,
        validators=[
            Optional(),
            NumberRange(min=0, max=1, message="Use a share from 0 to 1, such as 0.25."),
        ],
    )


class FlowForm(VersionedForm):
    source = SelectField("From", validators=[InputRequired("Choose where the flow starts.")])
    target = SelectField("To", validators=[InputRequired("Choose where the flow leads.")])
    probability = _probability_field()
    rework = BooleanField("Rework: a loop back to redo work")
    label = StringField("Label", validators=[Length(max=100)])

    def flow(self) -> Flow:
        return Flow(self.probability.data, bool(self.rework.data), (self.label.data or "").strip())


class ExitForm(Form):
    """One way out of a step, inside :class:`ExitsForm` (which carries the CSRF token)."""

    target = SelectField("Leads to", default="")
    probability = _probability_field()
    rework = BooleanField("Rework")
    caption = StringField("Label", validators=[Length(max=100)])
    remove = BooleanField("Remove this way out")


class ExitsForm(VersionedForm):
    exits = FieldList(FormField(ExitForm), min_entries=1, max_entries=50)

    def chosen(self) -> list[tuple[str, Flow]]:
        """The ways out to keep: entries with a target that are not marked for removal."""
        return [
            (
                entry.target.data,
                Flow(
                    entry.probability.data,
                    bool(entry.rework.data),
                    (entry.caption.data or "").strip(),
                ),
            )
            for entry in self.exits
            if entry.target.data and not entry.remove.data
        ]


class LaneForm(VersionedForm):
    name = StringField("Name", validators=[DataRequired("Give the lane a name."), Length(max=200)])
    id = StringField(
        "Id",
        validators=[Optional(), Length(max=100, message="Use at most 100 characters.")],
    )
    kind = SelectField("Kind", choices=choices(LANE_KIND_WORDS), default=LaneKind.ROLE.value)
    cost_per_hour = FloatField(
        "Cost per hour",
        validators=[Optional(), NumberRange(min=0, message="Must be 0 or more.")],
    )
    description = TextAreaField("Description", validators=[Length(max=2000)])

    def fill(self, lane: Lane) -> None:
        self.name.data = lane.name
        self.id.data = lane.id
        self.kind.data = lane.kind.value
        self.cost_per_hour.data = lane.cost_per_hour
        self.description.data = lane.description

    def lane(self, taken: Iterable[str]) -> Lane:
        name = (self.name.data or "").strip()
        return Lane(
            id=(self.id.data or "").strip() or suggest_id(name, set(taken), "lane"),
            name=name,
            kind=LaneKind(self.kind.data or LaneKind.ROLE.value),
            cost_per_hour=float(self.cost_per_hour.data or 0.0),
            description=(self.description.data or "").strip(),
        )


class DeleteLaneForm(VersionedForm):
    move_to = SelectField("Move its steps to", default="")


class ConfirmForm(VersionedForm):
    """A confirmation button for a change to the process (delete a step, restore)."""


class MoveForm(VersionedForm):
    direction = SelectField(
        "Direction",
        choices=[SelectChoice("up", "Up"), SelectChoice("down", "Down")],
        validators=[InputRequired()],
    )


class LinksForm(FlaskForm):
    served = MultiCheckboxField("Served by these employee steps")


class MemberForm(FlaskForm):
    user = SelectField("Person", validators=[InputRequired("Choose a person to add.")])


class DeleteProcessForm(FlaskForm):
    confirm = BooleanField(
        "I understand that this process and its history are deleted for good",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class ImportForm(FlaskForm):
    file = FileField("YAML model file", validators=[FileRequired("Choose a .yaml file to import.")])
