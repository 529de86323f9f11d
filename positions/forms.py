"""Form shapes for the job profile editor and the skill-transfer table; the rules live in services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from accounts.forms import strip
from positions.models import DEFAULT_FIT_WEIGHTS, FIT_COMPONENTS
from positions.services import TRANSFER_SOURCES
from taxonomy.reference import ISCED_LEVELS, NACE_SECTIONS, SKILL_LEVEL_LABELS

MAX_SKILL_ROWS = 300
SKILL_BOX = {"list": "skill-options", "spellcheck": "false"}
SCORE_MESSAGE = "Enter a minimum score from 1 to 100."
LEVEL_CHOICES = [SelectChoice(level, f"{level}: {label}") for level, label in SKILL_LEVEL_LABELS.items()]
WEIGHT_CHOICES = [SelectChoice(weight, str(weight)) for weight in (1, 2, 3)]
EDUCATION_CHOICES = [SelectChoice("", "No minimum")] + [
    SelectChoice(str(level), f"ISCED {level}: {label}") for level, label in ISCED_LEVELS.items()
]
INDUSTRY_MODE_CHOICES = [
    SelectChoice("none", "No preference"),
    SelectChoice("bonus", "A bonus: experience in these industries adds to the fit"),
    SelectChoice("required", "Required: for shop-floor roles, candidates without it do not meet the requirement"),
]
COMPONENT_LABELS: dict[str, str] = {
    "required_skills": "Required skills",
    "desired_skills": "Desired skills",
    "people_skills": "People skills",
    "experience": "Experience",
    "education": "Education",
    "industry": "Industry",
}


class SkillRowForm(Form):
    """One required or desired skill: a vocabulary skill, a minimum level, a weight and a knock-out."""

    include = BooleanField("Include", default=True)
    skill = StringField("Skill", filters=[strip], validators=[Optional(), Length(max=300)])
    min_level = SelectField(
        "Minimum level",
        choices=LEVEL_CHOICES,
        coerce=int,
        default=3,
        invalid_value_message="Choose a minimum level from 1 to 5.",
        invalid_choice_message="Choose a minimum level from 1 to 5.",
    )
    weight = SelectField(
        "Weight",
        choices=WEIGHT_CHOICES,
        coerce=int,
        default=1,
        invalid_value_message="Choose a weight from 1 to 3.",
        invalid_choice_message="Choose a weight from 1 to 3.",
    )
    knockout = BooleanField("Knock-out")

    @property
    def in_use(self) -> bool:
        """Ticked and naming a skill: the row is part of the profile."""
        return bool(self.include.data and (self.skill.data or "").strip())


class PeopleRowForm(Form):
    """One of the agency's competencies: asked for or not, its minimum score (0-100), weight, knock-out."""

    competency = HiddenField()
    include = BooleanField("Ask for this people skill")
    min_score = IntegerField(
        "Minimum score (1 to 100)",
        default=60,
        validators=[Optional(), NumberRange(1, 100, SCORE_MESSAGE)],
        invalid_value_message=SCORE_MESSAGE,
    )
    weight = SelectField(
        "Weight",
        choices=WEIGHT_CHOICES,
        coerce=int,
        default=1,
        invalid_value_message="Choose a weight from 1 to 3.",
        invalid_choice_message="Choose a weight from 1 to 3.",
    )
    knockout = BooleanField("Knock-out")


def _years(label: str, *, required: bool, **kw: Any) -> DecimalField:
    first = InputRequired("Enter a number of years.") if required else Optional()
    return DecimalField(
        label,
        places=1,
        validators=[first, NumberRange(0, 60, "Enter a number of years from 0 to 60.")],
        invalid_value_message="Enter a number of years, such as 2 or 2.5.",
        **kw,
    )


class ProfileForm(FlaskForm):
    """The job profile, in the order the client signs it off."""

    client = SelectField("Client", choices=[], validators=[DataRequired("Choose the client.")])
    title = StringField(
        "Job title", filters=[strip], validators=[DataRequired("Enter the job title."), Length(max=160)]
    )
    occupation_uri = HiddenField(filters=[strip])
    responsibilities = TextAreaField(
        "Responsibilities",
        filters=[strip],
        validators=[Optional(), Length(max=5000)],
        description="One per line, most important first. They come first in the profile the client signs off.",
    )
    required = FieldList(FormField(SkillRowForm), max_entries=MAX_SKILL_ROWS)
    desired = FieldList(FormField(SkillRowForm), max_entries=MAX_SKILL_ROWS)
    skill_search = StringField("Words to search for", filters=[strip], validators=[Optional(), Length(max=200)])
    people = FieldList(FormField(PeopleRowForm), max_entries=100)
    education_min_level = SelectField(
        "Minimum education level (ISCED 2011)",
        choices=EDUCATION_CHOICES,
        invalid_choice_message="Choose a level from the list, or “No minimum”.",
    )
    education_substitution_years = _years(
        "Years of relevant experience that stand in for one missing level",
        required=False,
        description=(
            "Years above the minimum experience. Typically 2. Leave empty if experience cannot stand in for education."
        ),
    )
    education_knockout = BooleanField("Knock-out: candidates below the minimum do not meet the requirement")
    experience_min_years = _years("Minimum years of relevant experience", required=True, default=0)
    experience_cap_years = _years(
        "Count experience up to (years)",
        required=False,
        description="Years beyond this add nothing, so long careers are not favoured for their length alone.",
    )
    experience_knockout = BooleanField("Knock-out: candidates below the minimum do not meet the requirement")
    industry_mode = RadioField(
        "How industry experience counts",
        choices=INDUSTRY_MODE_CHOICES,
        default="none",
        invalid_choice_message="Choose how industry experience counts.",
    )
    industry_codes = SelectMultipleField(
        "Industries (NACE sections)",
        choices=[SelectChoice(code, f"{code}: {label}") for code, label in NACE_SECTIONS.items()],
        invalid_choice_message="Unknown industry section: %(value)s.",
    )

    weight_errors: list[str] = []

    def weight_fields(self) -> list[tuple[str, Any]]:
        return [(name, self[f"weight_{name}"]) for name in FIT_COMPONENTS]

    def validate(self, extra_validators: Any = None) -> bool:
        self.weight_errors = []
        valid = super().validate(extra_validators)
        for entry in self.people:
            row = entry.form
            if row.include.data and row.min_score.data is None and not row.min_score.errors:
                row.min_score.errors = [*row.min_score.errors, SCORE_MESSAGE]
                valid = False
        values = [field.data for _, field in self.weight_fields()]
        if all(isinstance(value, int) for value in values) and sum(values) != 100:
            self.weight_errors.append(f"The weights add up to {sum(values)}%. They must add up to 100%.")
            valid = False
        return valid


for _name in FIT_COMPONENTS:
    setattr(
        ProfileForm,
        f"weight_{_name}",
        IntegerField(
            f"{COMPONENT_LABELS[_name]} (%)",
            default=round(DEFAULT_FIT_WEIGHTS[_name] * 100),
            validators=[
                InputRequired("Enter a percentage from 0 to 100."),
                NumberRange(0, 100, "Enter a percentage from 0 to 100."),
            ],
        ),
    )


class TransferForm(FlaskForm):
    """A directed row of the transfer table."""

    from_skill = StringField(
        "Skill the candidate holds",
        filters=[strip],
        render_kw=SKILL_BOX,
        validators=[DataRequired("Choose the skill the candidate holds."), Length(max=300)],
    )
    to_skill = StringField(
        "Skill it counts toward",
        filters=[strip],
        render_kw=SKILL_BOX,
        validators=[DataRequired("Choose the skill it counts toward."), Length(max=300)],
    )
    credit = DecimalField(
        "Credit (above 0, at most 1)",
        places=2,
        validators=[
            InputRequired("Enter a credit above 0 and at most 1."),
            NumberRange(0, 1, "Enter a credit above 0 and at most 1."),
        ],
        invalid_value_message="Enter a credit such as 0.6.",
        description="How much of the required skill a candidate with the first skill shows. 1 is full credit.",
    )
    rationale = TextAreaField(
        "Rationale",
        filters=[strip],
        validators=[DataRequired("Say why the one skill counts toward the other."), Length(max=2000)],
        description="Reports quote it word for word, so write it for the client to read.",
    )
    source = SelectField("Source", choices=[SelectChoice(k, v) for k, v in TRANSFER_SOURCES.items()], default="expert")
    reviewer = StringField(
        "Reviewed by", filters=[strip], validators=[DataRequired("Name the reviewer."), Length(max=120)]
    )
    reviewed_on = DateField(
        "Reviewed on",
        validators=[InputRequired("Enter the date (YYYY-MM-DD).")],
        invalid_value_message="Enter the date as YYYY-MM-DD.",
    )
    skill_search = StringField("Words to search for", filters=[strip], validators=[Optional(), Length(max=200)])


class ActionForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""
