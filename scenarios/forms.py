"""Form shapes for competencies, scenarios and keys; the rules live in services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from accounts.forms import strip
from scenarios.models import (
    FORMAT_LABELS,
    OPTION_LABELS,
    ROLES,
    SITUATION_TYPES,
    Competency,
    Instruction,
    KeyType,
    ResponseFormat,
    Status,
)

CODE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", message="Use letters, digits, dots, dashes or underscores.")
RULE_CHOICES = [
    SelectChoice("", "The default for the format"),
    SelectChoice("rate_std", "rate_std (rate, default)"),
    SelectChoice("rate_abs_distance", "rate_abs_distance (rate)"),
    SelectChoice("rate_sq_distance", "rate_sq_distance (rate)"),
    SelectChoice("most_least", "most_least (most/least, default)"),
    SelectChoice("most_least_keydiff", "most_least_keydiff (most/least)"),
    SelectChoice("rank_rho", "rank_rho (rank, default)"),
    SelectChoice("rank_abs", "rank_abs (rank)"),
    SelectChoice("single_best", "single_best (single best, default)"),
    SelectChoice("single_best_partial", "single_best_partial (single best)"),
]


class CompetencyForm(FlaskForm):
    code = StringField(
        "Code",
        filters=[strip],
        validators=[
            DataRequired("Enter a code."),
            Regexp(r"^[a-z][a-z0-9_]{1,39}$", message="Use lower-case letters, digits and _."),
        ],
        description="Used in scenario files, e.g. client_focus. It cannot change later.",
    )
    name = StringField("Name", filters=[strip], validators=[DataRequired("Enter a name."), Length(max=80)])
    definition = TextAreaField(
        "Definition", filters=[strip], validators=[DataRequired("Enter a definition."), Length(max=2000)]
    )
    indicators = TextAreaField(
        "Behavioural indicators",
        filters=[strip],
        validators=[Optional(), Length(max=5000)],
        description="One per line: what effective and ineffective behaviour looks like.",
    )


class ScenarioForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(k, v) for k, v in ROLES.items()])
    role_context = StringField(
        "Role context",
        filters=[strip],
        validators=[DataRequired("Describe the role in a line."), Length(max=300)],
        description="For example: accounts payable clerk; weekly payment runs; supplier master data.",
    )
    situation_type = SelectField(
        "Situation type", choices=[SelectChoice(k, f"{k} {v}") for k, v in SITUATION_TYPES.items()]
    )
    stem = TextAreaField(
        "Situation (the stem)",
        validators=[DataRequired("Write the situation."), Length(max=5000)],
        description="60 to 150 words, second person, one dilemma, every fact needed. Markdown for emphasis; no HTML.",
    )
    instruction = SelectField(
        "Instruction",
        choices=[
            SelectChoice(Instruction.SHOULD_DO.value, "Should do: how effective is each response (selection)"),
            SelectChoice(Instruction.WOULD_DO.value, "Would do: what would you do (development only)"),
        ],
    )
    response_format = SelectField(
        "Response format", choices=[SelectChoice(f.value, FORMAT_LABELS[f]) for f in ResponseFormat]
    )
    scoring_rule = SelectField("Scoring rule", choices=RULE_CHOICES)
    item_weight = DecimalField(
        "Item weight",
        default=1,
        places=2,
        validators=[InputRequired("Enter the item weight."), NumberRange(0.01, 10, "Between 0.01 and 10.")],
        description="How much the item counts in the overall score. 1 is usual.",
    )
    key_type = SelectField("Key type", choices=[SelectChoice(k.value, k.label) for k in KeyType])
    provenance_author = StringField(
        "Author", filters=[strip], validators=[DataRequired("Name the author."), Length(max=120)]
    )
    provenance_source = StringField(
        "Source incident",
        filters=[strip],
        validators=[DataRequired("Say what kind of incident it draws on."), Length(max=300)],
        description="The anonymised incident, or the kind of incident, the scenario comes from.",
    )
    provenance_date = DateField(
        "Date written",
        validators=[InputRequired("Enter the date (YYYY-MM-DD).")],
        invalid_value_message="Enter the date as YYYY-MM-DD.",
    )

    def option_fields(self) -> list[tuple[str, Any, Any]]:
        return [(label, self[f"option_{label}"], self[f"rationale_{label}"]) for label in OPTION_LABELS]

    def weight_fields(self) -> list[tuple[Competency, Any]]:
        return [(c, self[f"weight_{c.code}"]) for c in self.competencies]

    competencies: list[Competency] = []


def scenario_form_class(competencies: list[Competency], with_code: bool) -> type[ScenarioForm]:
    """The scenario form for an agency: one weight field per competency, five option slots."""
    attrs: dict[str, Any] = {"competencies": competencies}
    if with_code:
        attrs["code"] = StringField(
            "Scenario id",
            filters=[strip],
            validators=[DataRequired("Give the scenario an id, e.g. SJT-040."), CODE],
        )
    for index, label in enumerate(OPTION_LABELS):
        required = index < 3
        attrs[f"option_{label}"] = TextAreaField(
            f"Option {label}",
            filters=[strip],
            validators=[DataRequired("Options A to C are required.") if required else Optional(), Length(max=600)],
        )
        attrs[f"rationale_{label}"] = TextAreaField(
            f"Why option {label} is more or less effective",
            filters=[strip],
            validators=[Optional(), Length(max=600)],
            render_kw={"rows": 2},
        )
    for competency in competencies:
        attrs[f"weight_{competency.code}"] = DecimalField(
            competency.name,
            places=2,
            validators=[Optional(), NumberRange(0, 1, "Between 0 and 1.")],
        )
    return type("AgencyScenarioForm", (ScenarioForm,), attrs)


class KeyForm(FlaskForm):
    key_type = SelectField("Key type", choices=[SelectChoice(k.value, k.label) for k in KeyType])
    ratings = TextAreaField(
        "Experts' ratings",
        validators=[DataRequired("Enter at least one expert's ratings."), Length(max=20000)],
        description=(
            "One line per expert: a name, then a rating from 1 to 6 for each option in order (A, B, C...), "
            "separated by commas. For example, for four options: Expert 1, 6, 3, 1, 2"
        ),
    )


class PublishForm(FlaskForm):
    status = SelectField(
        "Publish as",
        choices=[SelectChoice(Status.OPERATIONAL.value, "Operational"), SelectChoice(Status.PILOT.value, "Pilot")],
    )


class StatusForm(FlaskForm):
    status = SelectField(
        "Status",
        choices=[
            SelectChoice(s.value, s.value.capitalize()) for s in (Status.PILOT, Status.OPERATIONAL, Status.RETIRED)
        ],
    )


class ActionForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""


class ImportForm(FlaskForm):
    file = FileField("Scenario file (JSON or YAML)", validators=[FileRequired("Choose a file to import.")])
