"""The shapes the API reads and writes, as marshmallow schemas; the OpenAPI document is made
from them, so what is documented is what is checked.

A process document has the fields of a process in the YAML format (docs/FORMAT.md), as JSON:
flows are always objects (``{"from", "to", ...}``). Strings lose control characters on the
way in, as they do on the pages.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from workflow.services.reviews import MAX_REASON
from workflow.services.signals import MAX_TEXT
from workflow.vocabulary import (
    FlagCategory,
    FlagSource,
    FlagStatus,
    LaneKind,
    Layer,
    Perspective,
    StepKind,
    ValueClass,
    Waste,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
MAX_DOCUMENT_CHARS = 10 * 1024 * 1024
MAX_STEPS = 2000


def _words(enum) -> list[str]:
    return [member.value for member in enum]


class Text(fields.String):
    """A string without control characters (tab and newline are kept)."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return _CONTROL.sub("", text.replace("\r\n", "\n"))


class UtcDateTime(fields.DateTime):
    """A moment in RFC 3339 with its offset: the database keeps naive UTC."""

    def _serialize(self, value: Any, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _one_of(enum, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(_words(enum)), **kwargs)


def _short(limit: int = 200, **kwargs) -> Text:
    return Text(validate=validate.Length(max=limit), **kwargs)


# --- errors and paging ---------------------------------------------------------------------


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable reason."})
    message = fields.String(required=True, metadata={"description": "What to do about it."})
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Each field at fault and what is wrong with it."},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class PageArgsSchema(Schema):
    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "Items per page (1-100)."},
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=1_000_000_000),
        metadata={"description": "Items to skip."},
    )


class PageLinksSchema(Schema):
    self = fields.String(required=True)
    next = fields.String(allow_none=True, required=True)
    prev = fields.String(allow_none=True, required=True)


class _PageSchema(Schema):
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    links = fields.Nested(PageLinksSchema, required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page schema whose ``items`` are ``item``s."""
    return type(name, (_PageSchema,), {"items": fields.List(fields.Nested(item), required=True)})


# --- process documents ---------------------------------------------------------------------


class LaneSchema(Schema):
    id = Text(required=True, validate=validate.Length(min=1, max=100))
    name = _short()
    kind = _one_of(LaneKind)
    cost_per_hour = fields.Float(validate=validate.Range(min=0, max=1e9))
    description = _short(5000)


class StepSchema(Schema):
    id = Text(required=True, validate=validate.Length(min=1, max=100))
    name = _short()
    kind = _one_of(StepKind)
    lane = Text(allow_none=True, validate=validate.Length(max=100))
    layer = _one_of(Layer, allow_none=True)
    touch_minutes = fields.Float(validate=validate.Range(min=0, max=1e7))
    wait_minutes = fields.Float(validate=validate.Range(min=0, max=1e7))
    cases_per_year = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1e10))
    value_class = _one_of(ValueClass, allow_none=True)
    customer_value = fields.Integer(validate=validate.Range(min=0, max=5))
    business_value = fields.Integer(validate=validate.Range(min=0, max=5))
    required_by = _short(500)
    pct_complete_accurate = fields.Float(validate=validate.Range(min=0, max=100))
    waste = fields.List(_one_of(Waste))
    systems = fields.List(_short())
    inputs = fields.List(_short())
    outputs = fields.List(_short())
    customer_name = _short()
    channel = _short()
    description = _short(5000)
    merged_from = fields.List(_short(100))
    rule = _short(100)


class FlowSchema(Schema):
    source = Text(required=True, data_key="from", validate=validate.Length(min=1, max=100))
    target = Text(required=True, data_key="to", validate=validate.Length(min=1, max=100))
    probability = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1))
    rework = fields.Boolean()
    label = _short()


class ProcessDocumentSchema(Schema):
    """One process: its lanes, steps and flows."""

    name = Text(required=True, validate=validate.Length(min=1, max=200))
    perspective = _one_of(Perspective, required=True)
    description = _short(5000)
    cases_per_year = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1e10))
    lanes = fields.List(fields.Nested(LaneSchema), validate=validate.Length(max=200))
    steps = fields.List(
        fields.Nested(StepSchema), required=True, validate=validate.Length(max=MAX_STEPS)
    )
    flows = fields.List(
        fields.Nested(FlowSchema), required=True, validate=validate.Length(max=MAX_STEPS * 4)
    )


class ProcessCreateSchema(ProcessDocumentSchema):
    """A new process: its id in the organisation, and optionally its steps from the start."""

    key = Text(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The process id (letters, digits, '.', '_' or '-')."},
    )
    steps = fields.List(fields.Nested(StepSchema), validate=validate.Length(max=MAX_STEPS))
    flows = fields.List(fields.Nested(FlowSchema), validate=validate.Length(max=MAX_STEPS * 4))


class ProcessUpdateSchema(Schema):
    """A whole new version, as a JSON ``process`` or as a ``yaml`` model file with one process."""

    base_version = fields.Integer(
        validate=validate.Range(min=0, max=1_000_000_000),
        metadata={
            "description": "The version the change starts from; required unless If-Match is sent."
        },
    )
    summary = _short(500, metadata={"description": "What changed, in words."})
    process = fields.Nested(ProcessDocumentSchema)
    yaml = Text(validate=validate.Length(min=1, max=MAX_DOCUMENT_CHARS))

    @validates_schema
    def _one_document(self, data: dict, **_kwargs) -> None:
        if ("process" in data) == ("yaml" in data):
            raise ValidationError("Send the new version as either process or yaml.", "process")


class ProcessLinksSchema(Schema):
    self = fields.String(required=True)
    versions = fields.String(required=True)
    steps = fields.String(required=True)
    flows = fields.String(required=True)
    render = fields.String(required=True)


class ProcessSummarySchema(Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    name = fields.String(required=True)
    perspective = fields.String(required=True)
    version = fields.Integer(required=True)
    updated_at = UtcDateTime(required=True)
    links = fields.Nested(ProcessLinksSchema, required=True)


class ProcessSchema(ProcessSummarySchema):
    valid = fields.Boolean(
        required=True, metadata={"description": "False while the version has problems to fix."}
    )
    problems = fields.List(fields.String(), required=True)
    feedback_url = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The public feedback page of a customer journey."},
    )
    document = fields.Nested(ProcessDocumentSchema, required=True)


ProcessPageSchema = page_of(ProcessSummarySchema, "ProcessPage")


class ProcessListArgsSchema(PageArgsSchema):
    perspective = _one_of(Perspective)


class VersionSummarySchema(Schema):
    number = fields.Integer(required=True)
    summary = fields.String(required=True)
    author = fields.String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    valid = fields.Boolean(required=True)
    current = fields.Boolean(required=True)


class VersionSchema(VersionSummarySchema):
    problems = fields.List(fields.String(), required=True)
    document = fields.Nested(ProcessDocumentSchema, required=True)


VersionPageSchema = page_of(VersionSummarySchema, "VersionPage")


class FlagCountsSchema(Schema):
    staff = fields.Integer(required=True)
    customer = fields.Integer(required=True)


class StepOutSchema(StepSchema):
    open_flags = fields.Nested(FlagCountsSchema, required=True)


class StepListSchema(Schema):
    version = fields.Integer(required=True)
    items = fields.List(fields.Nested(StepOutSchema), required=True)


class FlowListSchema(Schema):
    version = fields.Integer(required=True)
    items = fields.List(fields.Nested(FlowSchema), required=True)


# --- interchange ---------------------------------------------------------------------------


class ExportArgsSchema(Schema):
    format = fields.String(
        load_default="yaml", validate=validate.OneOf(["yaml", "bpmn"]), metadata={"example": "yaml"}
    )
    version = fields.Integer(
        validate=validate.Range(min=1, max=1_000_000_000),
        metadata={"description": "A version number; the current one when left out."},
    )


class ImportSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(["yaml", "bpmn"]))
    content = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={
            "description": "The file's text: a Leanlane YAML model or a BPMN 2.0 XML file, "
            "at most 10 MiB (413 beyond)."
        },
    )
    name = _short(metadata={"description": "Name for a BPMN model whose file names none."})


class ImportResultSchema(Schema):
    processes = fields.List(fields.Nested(ProcessSummarySchema), required=True)
    warnings = fields.List(fields.String(), required=True)


# --- flags ---------------------------------------------------------------------------------


class FlagSchema(Schema):
    id = fields.Integer(required=True)
    process_id = fields.Integer(required=True)
    step_id = fields.String(required=True)
    step_name = fields.String(required=True)
    source = fields.String(required=True, validate=validate.OneOf(_words(FlagSource)))
    category = fields.String(required=True)
    severity = fields.Integer(required=True)
    text = fields.String(required=True)
    idea = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(_words(FlagStatus)))
    status_reason = fields.String(required=True)
    votes = fields.Integer(required=True, metadata={"description": "“Me too” votes."})
    author = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The author's name when this caller may see it."},
    )
    mine = fields.Boolean(required=True)
    voted = fields.Boolean(required=True, metadata={"description": "The caller said “me too”."})
    proposal = fields.String(
        allow_none=True, required=True, metadata={"description": "Linked proposal's title."}
    )
    reply_requested = fields.Boolean(
        required=True, metadata={"description": "A customer asked to hear what changed."}
    )
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


FlagPageSchema = page_of(FlagSchema, "FlagPage")


class FlagListArgsSchema(PageArgsSchema):
    process = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "Process id."}
    )
    status = _one_of(FlagStatus)
    source = _one_of(FlagSource)
    step = _short(100, metadata={"description": "Step id (with process)."})


class FlagCreateSchema(Schema):
    category = _one_of(FlagCategory, required=True)
    severity = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    text = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    idea = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    anonymous = fields.Boolean(load_default=False)


class FlagStatusSchema(Schema):
    status = _one_of(FlagStatus, required=True)
    reason = Text(
        load_default="",
        validate=validate.Length(max=MAX_REASON),
        metadata={"description": "Required for addressed and won't fix: the flagger reads it."},
    )


class MeTooSchema(Schema):
    agreed = fields.Boolean(required=True)
    votes = fields.Integer(required=True)


class FeedbackSchema(Schema):
    step = Text(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "A customer-visible step id; null for 'not sure'."},
    )
    category = _one_of(FlagCategory, allow_none=True, load_default=None)
    score = fields.Integer(
        allow_none=True,
        load_default=None,
        metadata={"description": "Customer Effort Score, 1 (hard) to 7 (easy)."},
    )
    text = Text(load_default="", validate=validate.Length(max=20_000))
    # Not Text: an address with a control character is refused by the service with a message,
    # never quietly stored as another address.
    email = fields.String(load_default="", validate=validate.Length(max=1000))
    consent = fields.Boolean(load_default=False)


class FeedbackReceiptSchema(Schema):
    flag = fields.Boolean(required=True, metadata={"description": "A flag was recorded."})
    effort_score = fields.Boolean(required=True, metadata={"description": "A CES was recorded."})
    will_reply = fields.Boolean(required=True)


class PublicStepSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class PublicJourneySchema(Schema):
    organisation = fields.String(required=True)
    name = fields.String(required=True)
    steps = fields.List(fields.Nested(PublicStepSchema), required=True)
    categories = fields.List(fields.String(), required=True)


# --- review --------------------------------------------------------------------------------


class MetricsSchema(Schema):
    version = fields.Integer(required=True)
    cases_per_year = fields.Float(required=True)
    step_count = fields.Integer(required=True)
    touch_minutes = fields.Float(required=True)
    va_touch_minutes = fields.Float(required=True)
    wait_minutes = fields.Float(required=True)
    lead_minutes = fields.Float(required=True)
    lead_touch_minutes = fields.Float(required=True)
    lead_va_touch_minutes = fields.Float(required=True)
    lead_wait_minutes = fields.Float(required=True)
    pce = fields.Float(required=True)
    flow_efficiency = fields.Float(required=True)
    handoffs = fields.Float(required=True)
    customer_touchpoints = fields.Float(required=True)
    rolled_pct_complete_accurate = fields.Float(required=True)
    rework_passes = fields.Float(required=True)
    rework_touch_minutes = fields.Float(required=True)
    annual_hours = fields.Float(required=True)
    annual_customer_hours = fields.Float(required=True)
    annual_cost = fields.Float(required=True)
    visits = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    simulation = fields.Dict(
        allow_none=True, required=True, metadata={"description": "Simulated p50/p90 lead time."}
    )


class PartSchema(Schema):
    label = fields.String(required=True)
    points = fields.Float(required=True)
    detail = fields.String(required=True)


class ScoreSchema(Schema):
    value = fields.Float(required=True)
    parts = fields.List(fields.Nested(PartSchema), required=True)


class StepScoreSchema(Schema):
    step = fields.String(required=True)
    name = fields.String(required=True)
    priority = fields.Nested(ScoreSchema, required=True)
    effort = fields.Nested(ScoreSchema, required=True)
    value = fields.Nested(ScoreSchema, required=True)
    pain = fields.Nested(ScoreSchema, required=True)
    staff_signals = fields.Integer(required=True)
    customer_signals = fields.Integer(required=True)
    agreement = fields.Boolean(required=True)
    reasons = fields.List(fields.String(), required=True)


class ScoreListSchema(Schema):
    version = fields.Integer(required=True)
    items = fields.List(fields.Nested(StepScoreSchema), required=True)


class ProposalSchema(Schema):
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["open", "accepted", "rejected", "applied"])
    )
    reason = fields.String(required=True)
    rank = fields.Integer(required=True)
    rule = fields.String(required=True)
    category = fields.String(required=True)
    title = fields.String(required=True)
    rationale = fields.String(required=True)
    targets = fields.List(fields.String(), required=True)
    evidence = fields.List(fields.String(), required=True)
    risks = fields.List(fields.String(), required=True)
    lanes_affected = fields.List(fields.String(), required=True)
    savings = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    before = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    after = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)


class ProposalListSchema(Schema):
    version = fields.Integer(required=True)
    measured = fields.Boolean(
        required=True, metadata={"description": "False when this version cannot be measured."}
    )
    unmeasured_reason = fields.String(required=True)
    items = fields.List(fields.Nested(ProposalSchema), required=True)


class DecisionSchema(Schema):
    version = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=1_000_000_000),
        metadata={"description": "The version the proposal was measured on (the current one)."},
    )
    reason = Text(load_default="", validate=validate.Length(max=MAX_REASON))


class DecisionResultSchema(Schema):
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    reason = fields.String(required=True)


class ApplySchema(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000_000))


class ApplyResultSchema(Schema):
    version = fields.Integer(required=True, metadata={"description": "The new version."})
    applied = fields.List(fields.String(), required=True)
    flags_addressed = fields.Integer(required=True)
    replies_queued = fields.Integer(required=True)


class RenderArgsSchema(Schema):
    view = fields.String(
        load_default="map", validate=validate.OneOf(["map", "heatmap", "blueprint"])
    )
    format = fields.String(load_default="svg", validate=validate.OneOf(["svg", "png"]))
