"""Form shapes for sign-in and the admin pages; the rules live in services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional

from accounts.models import Role
from accounts.passwords import MAX_LENGTH


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


EMAIL = [DataRequired("Enter your email address."), Email("Enter a valid email address."), Length(max=254)]


class LoginForm(FlaskForm):
    email = EmailField("Email address", filters=[strip], validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", filters=[strip], validators=EMAIL)


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Enter a new password."), Length(max=MAX_LENGTH)])
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])


class LogoutForm(FlaskForm):
    pass


ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class UserForm(FlaskForm):
    name = StringField(
        "Full name", filters=[strip], validators=[DataRequired("Enter the person's name."), Length(max=120)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[InputRequired()])
    client = SelectField("Client (for client users only)", choices=[], validate_choice=True)


class NewUserForm(UserForm):
    email = EmailField("Email address", filters=[strip], validators=EMAIL)


class EditUserForm(UserForm):
    is_active = BooleanField("May sign in")


class ClientForm(FlaskForm):
    name = StringField(
        "Company name", filters=[strip], validators=[DataRequired("Enter the company's name."), Length(max=120)]
    )
    contact_email = EmailField(
        "Contact email (optional)",
        filters=[strip],
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )
    notes = TextAreaField("Notes (optional)", validators=[Optional(), Length(max=2000)])


class AgencySettingsForm(FlaskForm):
    name = StringField(
        "Agency name", filters=[strip], validators=[DataRequired("Enter the agency's name."), Length(max=120)]
    )
    privacy_contact = EmailField(
        "Contact for privacy questions",
        filters=[strip],
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
        description="Candidates see this address when they ask what happens to their data.",
    )
    retention_months = IntegerField(
        "Keep candidate data for (months)",
        validators=[
            InputRequired("Enter a number of months."),
            NumberRange(1, 120, "Choose between 1 and 120 months."),
        ],
        description="Counted from the candidate's last activity. The default is 12 months.",
    )


class RetryEmailForm(FlaskForm):
    pass
