"""Form shapes for candidates and their profiles; the rules live in candidates/services.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from accounts.forms import strip
from candidates.models import SKILL_EVIDENCE
from taxonomy import reference


class CandidateForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[DataRequired("Enter the name."), Length(max=120)])
    email = EmailField(
        "Email address", filters=[strip], validators=[DataRequired("Enter the email address."), Length(max=254)]
    )
    headline = StringField(
        "Headline",
        filters=[strip],
        validators=[Optional(), Length(max=200)],
        description="One line about the person, e.g. “Accounts payable clerk, six years in shared services”.",
    )


class SkillForm(FlaskForm):
    given_name = StringField(
        "Skill",
        filters=[strip],
        validators=[DataRequired("Enter the skill."), Length(max=200)],
        description="In the candidate's own words. Rapport then suggests matching skills from ESCO for you to confirm.",
    )
    level = RadioField(
        "Level",
        coerce=int,
        choices=[SelectChoice(n, f"{n}: {label}") for n, label in reference.SKILL_LEVEL_LABELS.items()],
        validators=[InputRequired("Choose a level from 1 to 5.")],
    )
    evidence_type = SelectField(
        "Evidence", choices=[SelectChoice(k, v) for k, v in SKILL_EVIDENCE.items()], default="cv"
    )
    evidence = TextAreaField(
        "Evidence details",
        filters=[strip],
        validators=[Optional(), Length(max=5000)],
        description="Optional: where the level comes from, e.g. the certificate's name or what the CV says.",
    )


def _isced_choices() -> list[SelectChoice]:
    return [SelectChoice(level, f"{level}: {label}") for level, label in reference.ISCED_LEVELS.items()]


class EducationForm(FlaskForm):
    isced_level = SelectField(
        "Level (ISCED 2011)",
        coerce=int,
        choices=_isced_choices(),
        validators=[InputRequired("Choose the level.")],
        description="Bachelor's degrees are level 6, master's 7; secondary school leaving certificates are 3.",
    )
    field = StringField("Field of study", filters=[strip], validators=[Optional(), Length(max=200)])
    institution = StringField("Institution", filters=[strip], validators=[Optional(), Length(max=200)])
    year = IntegerField(
        "Year completed",
        validators=[Optional(), NumberRange(1900, 2100, "Enter a year such as 2019.")],
        description="Optional.",
    )


def _industry_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", "Not recorded"),
        *(SelectChoice(code, f"{code}: {label}") for code, label in reference.NACE_SECTIONS.items()),
    ]


class ExperienceForm(FlaskForm):
    role = StringField("Job title", filters=[strip], validators=[DataRequired("Enter the job title."), Length(max=200)])
    employer = StringField("Employer", filters=[strip], validators=[Optional(), Length(max=200)])
    occupation_query = StringField(
        "Search ESCO occupations",
        filters=[strip],
        validators=[Optional(), Length(max=200)],
        description="Optional: words from the job title, or an ISCO code such as 4311.",
    )
    occupation_uri = RadioField("ESCO occupation", choices=[], validate_choice=False, validators=[Optional()])
    industry = SelectField(
        "Employer's industry (NACE section)", choices=_industry_choices(), validators=[Optional()], default=""
    )
    start_date = DateField("Start date", validators=[InputRequired("Enter the start date.")])
    end_date = DateField("End date", validators=[Optional()], description="Leave empty for a current job.")
    fte = IntegerField(
        "Share of full time (%)",
        default=100,
        validators=[
            InputRequired("Enter the share of full time."),
            NumberRange(1, 100, "Enter a whole number from 1 to 100."),
        ],
        description="100 for full time, 50 for half time.",
    )
    responsibilities = TextAreaField(
        "Responsibilities", filters=[strip], validators=[Optional(), Length(max=5000)], description="One per line."
    )


def fluency_choices(current: str = "") -> list[SelectChoice]:
    """CEFR levels and "native", plus the row's own words if it holds something else (an import)."""
    choices = [SelectChoice("", "Not recorded")]
    if current and current not in reference.FLUENCY_LABELS:
        choices.append(SelectChoice(current, f"As given: {current}"))
    return choices + [SelectChoice(code, label) for code, label in reference.FLUENCY_LABELS.items()]


class LanguageForm(FlaskForm):
    language = StringField(
        "Language", filters=[strip], validators=[DataRequired("Enter the language."), Length(max=80)]
    )
    fluency = SelectField("Fluency", choices=fluency_choices(), validators=[Optional()], default="")


class ConfirmSkillForm(FlaskForm):
    skill_key = StringField("Skill", validators=[DataRequired("Choose a skill.")])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ResumeUploadForm(FlaskForm):
    file = FileField(
        "JSON Resume file",
        validators=[FileRequired("Choose a JSON Resume file.")],
        description="A .json file in the JSON Resume format, UTF-8, up to 1 MB.",
    )


class ResumeConfirmForm(FlaskForm):
    document = TextAreaField("Document", validators=[DataRequired("Upload the file again.")])


class CsvUploadForm(FlaskForm):
    file = FileField(
        "CSV file of candidates",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description="UTF-8, up to 2 MB and 5,000 rows; the first row names the columns.",
    )
