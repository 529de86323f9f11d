"""Position form shapes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from accounts.forms import strip


class PositionForm(FlaskForm):
    client = SelectField("Client", choices=[], validators=[DataRequired("Choose the client.")])
    title = StringField(
        "Job title", filters=[strip], validators=[DataRequired("Enter the job title."), Length(max=160)]
    )
    responsibilities = TextAreaField(
        "Responsibilities",
        filters=[strip],
        validators=[Optional(), Length(max=5000)],
        description="One per line. They help recruiters choose scenarios that fit the job.",
    )
