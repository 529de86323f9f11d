"""Assessment form shapes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from accounts.forms import strip
from scenarios.forms import RULE_CHOICES


class NewAssessmentForm(FlaskForm):
    position = SelectField("Position", choices=[], validators=[DataRequired("Choose the position.")])
    title = StringField(
        "Title", filters=[strip], validators=[DataRequired("Give the assessment a title."), Length(max=160)]
    )


PILOT_LABEL = "Pilot: label this assessment's scores as pilot scores"
PILOT_HINT = (
    "For trying the test out. Pilot scores are labelled Pilot on every results page and export, and are "
    "never released to clients. You can change this before and after publishing."
)


def _rules(prefix: str) -> list[SelectChoice]:
    return [RULE_CHOICES[0], *(c for c in RULE_CHOICES[1:] if c.value.startswith(prefix))]


class SettingsForm(FlaskForm):
    title = StringField(
        "Title", filters=[strip], validators=[DataRequired("Give the assessment a title."), Length(max=160)]
    )
    instructions = TextAreaField(
        "Instructions for candidates",
        filters=[strip],
        validators=[Optional(), Length(max=3000)],
        description="Shown before the first situation. Plain text.",
    )
    time_limit_minutes = IntegerField(
        "Time limit in minutes (leave empty for no limit)",
        validators=[Optional(), NumberRange(1, 240, "Between 1 and 240 minutes.")],
        description="Candidates with agreed extra time get it on top.",
    )
    randomize_order = BooleanField("Show the situations in a random order for each candidate")
    invitation_days = IntegerField(
        "Links stay open for (days)",
        default=7,
        validators=[DataRequired("Enter a number of days."), NumberRange(1, 60, "Between 1 and 60 days.")],
    )
    reminder_days = StringField(
        "Reminders (days after the invitation)",
        filters=[strip],
        validators=[Optional(), Length(max=40)],
        description="Up to three numbers, for example: 3, 6. Only candidates who have not finished get them.",
    )
    practice = SelectField("Practice item (not scored)", choices=[])
    rule_rate = SelectField("Scoring rule for rate items", choices=_rules("rate"))
    rule_most_least = SelectField("Scoring rule for most/least items", choices=_rules("most_least"))
    rule_rank = SelectField("Scoring rule for rank items", choices=_rules("rank"))
    rule_single_best = SelectField("Scoring rule for single-best items", choices=_rules("single_best"))
    reported = SelectMultipleField("Competencies to report", choices=[])
    pilot = BooleanField(PILOT_LABEL, description=PILOT_HINT)


class PilotForm(FlaskForm):
    """The pilot switch alone: a published assessment's other settings are fixed, but it can still change."""

    pilot = BooleanField(PILOT_LABEL, description=PILOT_HINT)


class ItemActionForm(FlaskForm):
    action = SelectField(
        "Action",
        choices=[SelectChoice(a, a) for a in ("add", "up", "down", "remove")],
        validators=[DataRequired()],
    )
    target = StringField("Scenario or item", validators=[DataRequired(), Length(max=40)])


class PublishAssessmentForm(FlaskForm):
    pass


class InviteForm(FlaskForm):
    name = StringField(
        "Candidate's name", filters=[strip], validators=[DataRequired("Enter the name."), Length(max=120)]
    )
    email = EmailField(
        "Candidate's email",
        filters=[strip],
        validators=[DataRequired("Enter the email address."), Email("Enter a valid email address."), Length(max=254)],
    )


class BatchUploadForm(FlaskForm):
    file = FileField(
        "CSV file of candidates",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description="A header row naming the columns name and email, then one candidate a row. "
        "UTF-8, up to 2 MB and 5,000 rows.",
    )


class InvitationActionForm(FlaskForm):
    pass


class InvitationEmailForm(FlaskForm):
    subject = StringField("Subject", filters=[strip], validators=[Optional(), Length(max=200)])
    body = TextAreaField(
        "Message",
        filters=[strip],
        validators=[Optional(), Length(max=5000)],
        description=(
            "Plain text. Placeholders: {name}, {agency}, {client}, {position}, {link}, {expires}, {length}. "
            "Leave both empty to use Rapport's standard email."
        ),
    )
